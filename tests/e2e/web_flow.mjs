// The web app in a real browser (Debian's chromium, driven by playwright-core): sign in, upload a
// file through the page, follow it to ready, play it with hls.js and dash.js forcing the lowest and
// the highest rendition, find it by search, see the view in its stats. Prints one JSON object of what
// it saw; tests/e2e/test_web.py asserts on it.
//
//   node tests/e2e/web_flow.mjs '{"base": "http://127.0.0.1:8080", "file": "clip.mp4", "shots": "dir"}'

import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

const args = JSON.parse(process.argv[2]);
const base = args.base.replace(/\/+$/, "");
const seen = { csp_violations: [], page_errors: [], steps: [] };
const step = (name) => {
  seen.steps.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${name}`);
  process.stderr.write(`web_flow: ${name}\n`);
};
const t0 = Date.now();
const deadline = (ms) => ({ timeout: ms });

const browser = await chromium.launch({
  executablePath: args.chromium || "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
}); // a fresh --user-data-dir: playwright makes a temporary profile for every launch and removes it

async function newPage(viewport = { width: 1100, height: 720 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) seen.csp_violations.push(m.text());
  });
  page.on("pageerror", (e) => seen.page_errors.push(String(e)));
  return page;
}

async function shot(page, name) {
  if (!args.shots) return;
  mkdirSync(args.shots, { recursive: true });
  await page.screenshot({ path: join(args.shots, `${name}.png`) });
}

/** Play the video with ``engine``, force the lowest then the highest rendition, play to the end. */
async function play(page, videoId, engine) {
  const result = { engine };
  await page.goto(`${base}/watch/${videoId}?player=${engine}`);
  await page.waitForSelector("#quality:not([disabled])", deadline(30_000));
  result.engine_used = await page.$eval("#video", (v) => v.dataset.engine);
  result.menu = await page.$$eval("#quality option", (os) => os.map((o) => o.textContent));
  const levels = await page.$$eval("#quality option", (os) => os.map((o) => Number(o.value)).filter((v) => v >= 0));
  const heights = await page.evaluate(() => [...document.querySelectorAll("#quality option")].slice(1).map((o) => parseInt(o.textContent, 10)));
  result.heights = heights;
  const lowest = levels[0];
  const highest = levels[levels.length - 1];
  await page.selectOption("#quality", String(lowest));
  await page.$eval("#video", (v) => {
    v.muted = true;
    window.__ended = false;
    v.addEventListener("ended", () => (window.__ended = true));
    return v.play();
  });
  await page.waitForFunction((h) => document.querySelector("#video").dataset.playingHeight === String(h), heights[0], deadline(20_000));
  result.forced_lowest = Number(await page.$eval("#video", (v) => v.dataset.playingHeight));
  const t1 = await page.$eval("#video", (v) => v.currentTime);
  await page.waitForFunction((t) => document.querySelector("#video").currentTime > t + 0.3, t1, deadline(15_000));
  result.advanced = true;
  await page.selectOption("#quality", String(highest));
  await page.$eval("#video", (v) => {
    v.currentTime = 0; // from the start again, so the highest rendition has time to show
  });
  await page.waitForFunction((h) => document.querySelector("#video").dataset.playingHeight === String(h), heights[heights.length - 1], deadline(20_000));
  result.forced_highest = Number(await page.$eval("#video", (v) => v.dataset.playingHeight));
  await page.waitForFunction(() => window.__ended, null, deadline(30_000)).catch(async (e) => {
    const state = await page.$eval("#video", (v) => ({
      currentTime: v.currentTime,
      duration: v.duration,
      paused: v.paused,
      readyState: v.readyState,
      networkState: v.networkState,
      error: v.error && v.error.message,
      buffered: [...Array(v.buffered.length).keys()].map((i) => [v.buffered.start(i), v.buffered.end(i)]),
      mediaSource: v.dataset.engine,
    }));
    throw new Error(`${engine}: no ended event: ${JSON.stringify(state)} (${e.message.split("\n")[0]})`);
  });
  result.ended = true;
  result.native_ended = await page.$eval("#video", (v) => v.ended);
  result.current_time_at_end = await page.$eval("#video", (v) => v.currentTime);
  // END is sent at once; wait until the collector took every event
  await page.waitForFunction(() => {
    const a = window.tubestreamAnalytics;
    return a && !a.inFlight && !a.queue.length && a.sent > 0;
  }, null, deadline(20_000));
  result.events_sent = await page.evaluate(() => window.tubestreamAnalytics.sent);
  return result;
}

try {
  const page = await newPage();

  step("sign in on the upload page");
  await page.goto(`${base}/upload`);
  await page.fill("main #sign-in-name", "ada");
  await page.click("main .sign-in button[type=submit]");
  await page.waitForSelector("#file", deadline(10_000));
  seen.signed_in_as = await page.textContent("#account .who");

  step("upload");
  await page.setInputFiles("#file", args.file);
  await page.fill("#title", args.title);
  await page.fill("#description", "A test pattern, uploaded through the web page.");
  await page.fill("#tags", "e2e, testsrc");
  await shot(page, "upload");
  // the connection drops during the second part: the page says so, and the same file resumes
  const cut = (route) =>
    new URL(route.request().url()).searchParams.get("part") === "2" ? route.abort("connectionreset") : route.continue();
  await page.route("**/v1/blobs/parts?*", cut);
  await page.click("#upload-button");
  await page.waitForFunction(() => /Upload failed/.test(document.querySelector("#upload-status").textContent), null, deadline(30_000));
  seen.interrupted = await page.textContent("#upload-status");
  await page.unroute("**/v1/blobs/parts?*", cut);
  await page.click("#upload-button");
  const statuses = new Set();
  const watch = async () => {
    for (;;) {
      const ready = await page.$("#watch-link"); // before the text: "Ready." is written just before it
      const text = await page.textContent("#upload-status").catch(() => null);
      if (text) statuses.add(text.replace(/ \([\d.]+ [KM]B of [\d.]+ [KM]B\)/, "").trim());
      if (ready) return;
      await page.waitForTimeout(100);
    }
  };
  await Promise.race([
    watch(),
    page.waitForTimeout(args.ready_timeout_ms || 150_000).then(() => {
      throw new Error(`not ready in time; statuses: ${[...statuses].join(" | ")}`);
    }),
  ]);
  seen.upload_statuses = [...statuses];
  seen.upload_bar = await page.$eval("#upload-progress", (p) => p.value);
  seen.video_id = await page.$eval("#upload-done", (d) => d.dataset.videoId);
  await shot(page, "upload-done");
  step(`ready: ${seen.video_id}`);

  seen.plays = [];
  for (const engine of ["hls", "dash"]) {
    step(`play with ${engine}`);
    seen.plays.push(await play(page, seen.video_id, engine));
  }

  step("search");
  // type a prefix, take the suggestion with the keyboard (arrow down, Enter), find the video's card
  const word = args.title.split(" ").pop();
  seen.search = { word };
  for (let i = 0; ; i++) {
    await page.goto(`${base}/`);
    await page.focus("#q");
    await page.keyboard.type(word.slice(0, 6));
    const suggested = await page.waitForSelector("#suggestions li", deadline(3000)).catch(() => null);
    if (suggested) {
      await page.keyboard.press("ArrowDown");
      seen.search.suggestion = await page.textContent("#suggestions li[aria-selected=true]");
      seen.search.expanded = await page.getAttribute("#q", "aria-expanded");
      await page.keyboard.press("Enter");
      await page.waitForURL(/\/search\?q=/);
      seen.search.url = page.url();
      const found = await page.waitForSelector(`a[data-video-id="${seen.video_id}"]`, deadline(3000)).catch(() => null);
      if (found) {
        seen.search.found = true;
        break;
      }
    }
    if (i > 20) throw new Error(`the video is not suggested and found by search: ${JSON.stringify(seen.search)}`);
    await page.waitForTimeout(1000);
  }

  step("stats");
  for (let i = 0; ; i++) {
    await page.goto(`${base}/watch/${seen.video_id}`);
    await page.waitForSelector("#stats[data-views]", deadline(10_000));
    seen.views = Number(await page.$eval("#stats", (s) => s.dataset.views));
    seen.stats_text = await page.textContent("#stats");
    if (seen.views >= 1 || i > 30) break;
    await page.waitForTimeout(1000);
  }
  await page.waitForSelector("#quality:not([disabled])", deadline(20_000));
  await page.waitForSelector("#seek:not([disabled])", deadline(20_000));
  // the storyboard under the pointer, where the video resource names a thumbnail track
  const box = await (await page.$("#seek")).boundingBox();
  await page.waitForTimeout(300); // the track is fetched beside the player
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  seen.storyboard = await page.evaluate(() => {
    const image = document.querySelector(".preview-image");
    return {
      preview_shown: !document.querySelector(".preview").hidden,
      time: document.querySelector(".preview-time").textContent,
      sprite: image.hidden ? null : image.style.backgroundImage,
    };
  });
  await shot(page, "watch");

  step("home");
  await page.goto(`${base}/`);
  await page.waitForSelector(`#newest-title ~ div a[data-video-id="${seen.video_id}"]`, deadline(10_000));
  await page.waitForTimeout(500); // the cards' view counts
  seen.home_sections = await page.$$eval("main section h2", (hs) => hs.map((h) => h.textContent));
  await page.waitForSelector(`#recs-title ~ ul a[data-video-id="${seen.video_id}"]`, deadline(10_000)).catch(() => null);
  seen.home_sections = await page.$$eval("main section h2", (hs) => hs.map((h) => h.textContent));
  await shot(page, "home");

  step("routes failing");
  // trending, related videos and suggestions failing: their sections say so, the rest still works
  await page.route("**/v1/trending?*", (r) => r.fulfill({ status: 503, contentType: "application/json", body: '{"error":{"status":503,"message":"down for a test"}}' }));
  await page.route("**/v1/videos/*/related?*", (r) => r.abort("connectionrefused"));
  await page.route("**/v1/search/suggest?*", (r) => r.fulfill({ status: 500, body: "oops" }));
  await page.goto(`${base}/`);
  await page.waitForSelector(`#newest-title ~ div a[data-video-id="${seen.video_id}"]`, deadline(10_000));
  await page.waitForSelector("text=Trending is unavailable right now", deadline(10_000));
  await page.fill("#q", "test");
  await page.waitForTimeout(600);
  seen.degraded = { home: true, suggestions_hidden: await page.$eval("#suggestions", (l) => l.hidden) };
  await page.goto(`${base}/watch/${seen.video_id}`);
  await page.waitForSelector("#quality:not([disabled])", deadline(20_000));
  await page.waitForSelector("text=Related videos are unavailable right now", deadline(10_000));
  seen.degraded.watch = true;
  await page.unrouteAll();

  if (args.private_file) {
    step("private upload");
    // a private video: uploaded through the page, then watched by its uploader (the page sends her
    // token, the media URLs are signed), and not there for someone who is not signed in
    await page.goto(`${base}/upload`);
    await page.setInputFiles("#file", args.private_file);
    await page.fill("#title", `${args.title} private`);
    await page.selectOption("#visibility", "private");
    await page.click("#upload-button");
    await page.waitForSelector("#watch-link", deadline(args.ready_timeout_ms || 150_000));
    const privateId = await page.$eval("#upload-done", (d) => d.dataset.videoId);
    await page.goto(`${base}/watch/${privateId}`);
    await page.waitForSelector("#quality:not([disabled])", deadline(20_000));
    await page.$eval("#video", (v) => {
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction(() => document.querySelector("#video").currentTime > 0.3, null, deadline(20_000));
    // its own files (the related videos' posters beside it are public ones)
    const media = await page.evaluate(
      (id) => performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname).filter((p) => p.startsWith("/media/") && p.includes(`/${id}/`)),
      privateId,
    );
    const stranger = await newPage();
    await stranger.goto(`${base}/watch/${privateId}`);
    await stranger.waitForSelector("main h1", deadline(10_000));
    seen.private = {
      video_id: privateId,
      played_by_uploader: true,
      media_requests: media.length,
      unsigned: media.filter((p) => !p.startsWith("/media/s/")),
      media_all_signed: media.length > 0 && media.every((p) => p.startsWith("/media/s/")),
      stranger_sees: await stranger.textContent("main h1"),
    };
  }

  step("phone");
  const phone = await newPage({ width: 390, height: 780 });
  await phone.goto(`${base}/watch/${seen.video_id}`);
  await phone.waitForSelector("#quality:not([disabled])", deadline(20_000));
  seen.phone_overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot(phone, "watch-phone");
  step("done");
} catch (e) {
  seen.error = String(e.stack || e);
} finally {
  await browser.close();
  process.stdout.write(JSON.stringify(seen) + "\n");
}
