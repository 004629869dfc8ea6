// The tubestream web app: one shell page, drawn here from the JSON API by the path it is on.
//   /                 trending (1 h / 24 h), newest, recommendations for the viewer
//   /watch/{id}       the player (hls.js, or dash.js with ?player=dash), quality, storyboard, stats, related
//   /search?q=        results; the header's box suggests as you type on every page
//   /upload           a resumable upload, then the processing percentage until ready
// Every route the page calls may be missing or failing: its section says so and the rest still works.

import { createPlayer } from "/static/player.js";
import { PlayerAnalytics } from "/static/sdk/player-analytics.js";
import { cueAt, parseStoryboard } from "/static/storyboard.js";
import { uploadFile } from "/static/upload.js";

const main = document.getElementById("main");
const status = document.getElementById("status");
const SESSION = "tubestream.session";
const ENGINE = "tubestream.engine";

// -- small helpers ------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
}

async function getJson(url, init) {
  try {
    const response = await fetch(url, withViewer(url, init));
    const body = await response.json().catch(() => null);
    if (!response.ok) return { ok: false, status: response.status, error: body?.error?.message || response.statusText };
    return { ok: true, status: response.status, body };
  } catch (e) {
    return { ok: false, status: 0, error: e.message };
  }
}

/** The API's own routes carry the signed-in viewer's token: a private video is there for its uploader. */
function withViewer(url, init = {}) {
  const s = url.startsWith("/v1/") ? session() : null;
  if (!s || s.guest || !s.player_token) return init;
  return { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${s.player_token}` } };
}

function announce(text) {
  status.textContent = text;
}

export function formatDuration(ms) {
  if (ms == null) return "";
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

function bytes(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}

// -- configuration and the viewer's session ---------------------------------------------------------

let configPromise = null;
function config() {
  configPromise ||= getJson("/web/config.json").then((r) => (r.ok ? r.body : {}));
  return configPromise;
}

function session() {
  try {
    const s = JSON.parse(localStorage.getItem(SESSION) || "null");
    return s && s.expires_at > Date.now() + 60_000 ? s : null;
  } catch (e) {
    return null;
  }
}

async function signIn(name) {
  const r = await getJson("/web/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(name ? { name } : {}),
  });
  if (!r.ok) throw new Error(r.error);
  const s = { ...r.body, expires_at: Date.now() + r.body.player_token_expires_in_s * 1000 };
  localStorage.setItem(SESSION, JSON.stringify(s));
  return s;
}

/** The viewer's session, or a guest one where the server signs people in; null otherwise. */
async function viewer() {
  const s = session();
  if (s) return s;
  if (!(await config()).sign_in) return null;
  try {
    return await signIn(null);
  } catch (e) {
    return null;
  }
}

function renderAccount() {
  const slot = document.getElementById("account");
  slot.replaceChildren();
  const s = session();
  if (s && !s.guest) {
    slot.append(
      el("span", { class: "who", text: `Signed in as ${s.viewer}` }),
      el("button", {
        type: "button",
        class: "link",
        text: "Sign out",
        onclick: () => {
          localStorage.removeItem(SESSION);
          location.reload();
        },
      }),
    );
    return;
  }
  config().then((c) => {
    if (!c.sign_in) return;
    slot.append(signInForm(() => location.reload()));
  });
}

function signInForm(done) {
  const input = el("input", { id: "sign-in-name", name: "name", required: true, maxlength: "64", autocomplete: "username" });
  const message = el("span", { class: "error", role: "alert" });
  return el(
    "form",
    {
      class: "sign-in",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await signIn(input.value.trim());
          done();
        } catch (err) {
          message.textContent = err.message;
        }
      },
    },
    el("label", { for: "sign-in-name", text: "Name" }),
    input,
    el("button", { type: "submit", text: "Sign in" }),
    message,
  );
}

// -- search suggestions (every page) ------------------------------------------------------------------

function setUpSearch() {
  const form = document.getElementById("search-form");
  const input = document.getElementById("q");
  const list = document.getElementById("suggestions");
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/search") input.value = params.get("q") || "";
  let active = -1;
  let timer = null;
  let asked = 0;
  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const go = (text) => {
    location.href = `/search?q=${encodeURIComponent(text)}`;
  };
  const highlight = (i) => {
    const items = [...list.children];
    active = (i + items.length) % items.length;
    items.forEach((li, j) => li.setAttribute("aria-selected", String(j === active)));
    input.setAttribute("aria-activedescendant", items[active].id);
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (!q) return close();
    timer = setTimeout(async () => {
      const ticket = ++asked;
      const r = await getJson(`/v1/search/suggest?q=${encodeURIComponent(q)}&limit=8`);
      if (ticket !== asked) return; // a later keystroke's answer wins
      if (!r.ok || !r.body.suggestions.length) return close(); // no suggestions: the box still searches
      list.replaceChildren(
        ...r.body.suggestions.map((s, i) =>
          el("li", { id: `suggestion-${i}`, role: "option", "aria-selected": "false", text: s.text, onmousedown: (e) => {
            e.preventDefault();
            go(s.text);
          } }),
        ),
      );
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }, 120);
  });
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      highlight(active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      go(list.children[active].textContent);
    } else if (e.key === "Escape") close();
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim()) go(input.value.trim());
  });
}

// -- cards ----------------------------------------------------------------------------------------------

function poster(video, className = "thumb") {
  const box = el("div", { class: className });
  if (video.poster_url) box.append(el("img", { src: video.poster_url, alt: "", loading: "lazy" }));
  else box.append(el("div", { class: "placeholder", "aria-hidden": "true", text: "▶" }));
  if (video.duration_ms != null) box.append(el("span", { class: "duration", text: formatDuration(video.duration_ms) }));
  return box;
}

async function viewsOf(video) {
  // from the UTC day of the upload: a whole minute, since the stats route reads minute rows from the
  // exact time it is given (a 02:18:05 start leaves out the 02:18 row while the rollup floors to 02:18)
  const from = new Date(video.created_at ? Date.parse(video.created_at) : Date.now() - 3600_000);
  from.setUTCHours(0, 0, 0, 0);
  const days = Math.ceil((Date.now() - from) / 86_400_000) + 1;
  const step = days > 60 ? `${Math.ceil(days / 60)}d` : "1d";
  const r = await getJson(`/v1/videos/${encodeURIComponent(video.id)}/stats?from=${from.toISOString()}&step=${step}`);
  return r.ok ? r.body.totals : null;
}

function card(video, extra = null) {
  const meta = el("p", { class: "meta" });
  if (video.status !== "ready") {
    const pct = video.progress_pct != null ? ` ${Math.round(video.progress_pct)}%` : "";
    meta.append(el("span", { class: `badge ${video.status}`, text: video.status + pct }));
  }
  if (extra) meta.append(el("span", { text: extra }));
  const views = el("span", { class: "views" });
  meta.append(views);
  viewsOf(video).then((totals) => {
    if (totals) views.textContent = plural(totals.views, "view");
  });
  return el(
    "li",
    { class: "card" },
    el("a", { href: `/watch/${encodeURIComponent(video.id)}`, "data-video-id": video.id }, poster(video), el("h3", { text: video.title || video.id })),
    meta,
  );
}

function grid(videos, extra) {
  return el("ul", { class: "grid" }, videos.map((v) => card(v, extra?.(v))));
}

function section(id, title, ...content) {
  return el("section", { "aria-labelledby": id }, el("h2", { id, text: title }), ...content);
}

function unavailable(what, r) {
  return el("p", { class: "muted", text: `${what} unavailable right now${r?.error ? ` (${r.error})` : ""}.` });
}

// -- home -----------------------------------------------------------------------------------------------

async function videosById(ids) {
  const found = await Promise.all(ids.map((id) => getJson(`/v1/videos/${encodeURIComponent(id)}`)));
  return found.filter((r) => r.ok).map((r) => r.body);
}

async function renderHome() {
  document.title = "tubestream";
  const recs = section("recs-title", "Recommended for you", el("p", { class: "muted", text: "Loading…" }));
  const trendingBody = el("div", {}, el("p", { class: "muted", text: "Loading…" }));
  const tabs = el("div", { class: "tabs", role: "group", "aria-label": "Trending window" });
  const trending = section("trending-title", "Trending", tabs, trendingBody);
  const newestBody = el("div");
  const newest = section("newest-title", "Newest", newestBody);
  main.replaceChildren(el("h1", { class: "visually-hidden", text: "Home" }), recs, trending, newest);

  const showTrending = async (window) => {
    for (const b of tabs.children) b.setAttribute("aria-pressed", String(b.dataset.window === window));
    const r = await getJson(`/v1/trending?window=${window}&limit=12`);
    if (!r.ok) return trendingBody.replaceChildren(unavailable("Trending is", r));
    const videos = await videosById(r.body.videos.map((v) => v.video_id));
    const viewers = new Map(r.body.videos.map((v) => [v.video_id, v.unique_viewers]));
    trendingBody.replaceChildren(
      videos.length
        ? grid(videos, (v) => `${plural(viewers.get(v.id) || 0, "viewer")} · `)
        : el("p", { class: "muted", text: "Nothing watched in this window yet." }),
    );
  };
  for (const [window, label] of [["1h", "Past hour"], ["24h", "Past 24 hours"]]) {
    tabs.append(el("button", { type: "button", "data-window": window, text: label, onclick: () => showTrending(window) }));
  }
  showTrending("1h");

  let cursor = null;
  const list = el("ul", { class: "grid" });
  const more = el("button", { type: "button", class: "more", text: "More", hidden: true });
  newestBody.replaceChildren(list, more);
  const loadNewest = async () => {
    const r = await getJson(`/v1/videos?limit=24${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!r.ok) return newestBody.replaceChildren(unavailable("The video list is", r));
    list.append(...r.body.videos.map((v) => card(v)));
    if (!list.children.length) newestBody.replaceChildren(el("p", { class: "muted", text: "No videos yet: upload one." }));
    cursor = r.body.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", loadNewest);
  loadNewest();

  const me = await viewer();
  if (!me) return recs.remove();
  const r = await getJson(`/v1/users/${encodeURIComponent(me.pseudonym)}/recommendations?limit=12`);
  if (!r.ok) return recs.replaceChildren(recs.firstChild, unavailable("Recommendations are", r));
  if (!r.body.videos.length) return recs.remove();
  recs.replaceChildren(recs.firstChild, grid(r.body.videos));
}

// -- watch ----------------------------------------------------------------------------------------------

function engineChoice() {
  const asked = new URLSearchParams(location.search).get("player");
  if (asked === "hls" || asked === "dash") return asked;
  return localStorage.getItem(ENGINE) === "dash" ? "dash" : "hls";
}

async function renderWatch(id) {
  const r = await getJson(`/v1/videos/${encodeURIComponent(id)}`);
  if (!r.ok) {
    main.replaceChildren(el("h1", { text: r.status === 404 ? "No such video" : "This video cannot be loaded" }), el("p", { class: "muted", text: r.error }));
    return;
  }
  const video = r.body;
  document.title = `${video.title || video.id} · tubestream`;
  const media = el("video", { id: "video", controls: true, playsinline: true, preload: "metadata", poster: video.poster_url, "aria-label": video.title || "Video" });
  const scrub = el("input", { id: "seek", type: "range", min: "0", max: "1000", value: "0", step: "1", "aria-label": "Seek", disabled: true });
  const previewImage = el("div", { class: "preview-image" });
  const previewTime = el("span", { class: "preview-time" });
  const preview = el("div", { class: "preview", hidden: true, "aria-hidden": "true" }, previewImage, previewTime);
  const quality = el("select", { id: "quality", disabled: true }, el("option", { value: "-1", text: "Auto" }));
  const engine = el("select", { id: "engine" }, el("option", { value: "hls", text: "HLS (hls.js)" }), el("option", { value: "dash", text: "DASH (dash.js)" }));
  engine.value = engineChoice();
  const playing = el("span", { id: "playing", class: "muted", "aria-live": "polite" });
  const playerMessage = el("p", { class: "muted", role: "alert" });
  const stats = el("p", { id: "stats", class: "stats" });
  const related = el("ul", { class: "related" });
  const tags = el("ul", { class: "tags", "aria-label": "Tags" }, video.tags.map((t) => el("li", {}, el("a", { href: `/search?q=${encodeURIComponent(t)}`, text: `#${t}` }))));
  main.replaceChildren(
    el(
      "div",
      { class: "watch" },
      el(
        "div",
        { class: "watch-main" },
        el("div", { class: "player" }, video.hls_url || video.dash_url ? media : poster(video, "player-placeholder")),
        el("div", { class: "scrubber" }, scrub, preview),
        el(
          "div",
          { class: "player-settings" },
          el("label", {}, "Quality ", quality),
          el("label", {}, "Player ", engine),
          playing,
        ),
        playerMessage,
        el("h1", { text: video.title || video.id }),
        stats,
        el("p", { class: "description", text: video.description || "" }),
        tags,
      ),
      el("aside", { "aria-labelledby": "related-title" }, el("h2", { id: "related-title", text: "Related videos" }), related),
    ),
  );

  showStats(video, stats);
  getJson(`/v1/videos/${encodeURIComponent(id)}/related?limit=8`).then((rel) => {
    if (!rel.ok) return related.replaceWith(unavailable("Related videos are", rel));
    if (!rel.body.videos.length) return related.replaceWith(el("p", { class: "muted", text: "Nothing related yet." }));
    related.replaceChildren(...rel.body.videos.map((v) => card(v)));
  });

  if (video.status !== "ready" || !(video.hls_url || video.dash_url)) {
    const pct = video.progress_pct != null ? ` (${Math.round(video.progress_pct)}%)` : "";
    playerMessage.textContent = video.status === "failed" ? `Transcoding failed: ${video.failure_reason || "unknown"}` : `This video is ${video.status}${pct}; it plays once it is ready.`;
    return;
  }

  const renditionOf = (level) => (level ? video.renditions.find((x) => x.height === level.height) : null);
  const nameOf = (level) => renditionOf(level)?.name || (level ? `${level.height}p` : null);
  let player = null;
  let analytics = null;
  let detach = null;
  const me = await viewer();
  const { collector_url: collectorUrl } = await config();
  if (collectorUrl && me) {
    analytics = new PlayerAnalytics({
      collectorUrl,
      getToken: () => session()?.player_token || null,
      videoId: video.id,
      onError: (e) => console.warn(e.message),
    });
    detach = analytics.attach(media, { rendition: () => (player ? nameOf(player.current()) : null) });
    media.addEventListener("ended", () => setTimeout(() => showStats(video, stats), 3000));
    window.tubestreamAnalytics = analytics; // for the browser test and the curious
  }

  const load = async (choice) => {
    const at = media.currentTime;
    player?.destroy();
    quality.disabled = true;
    quality.replaceChildren(el("option", { value: "-1", text: "Auto" }));
    media.dataset.engine = choice;
    delete media.dataset.playingHeight;
    try {
      player = await createPlayer(media, { hlsUrl: video.hls_url, dashUrl: video.dash_url, engine: choice });
    } catch (e) {
      playerMessage.textContent = `The player could not start: ${e.message}`;
      return;
    }
    playerMessage.textContent = "";
    media.dataset.engine = player.engine;
    for (const level of player.levels) {
      const rendition = renditionOf(level);
      const kbps = rendition?.bitrate_kbps ?? level.bitrateKbps;
      quality.append(el("option", { value: String(level.index), text: `${nameOf(level)} · ${kbps} kbps` }));
    }
    quality.disabled = false;
    player.onLevelSwitched((level) => {
      if (!level) return;
      media.dataset.playingHeight = String(level.height);
      playing.textContent = `Playing ${nameOf(level)}`;
      if (analytics?.started) analytics.track("QUALITY_CHANGE", { positionMs: media.currentTime * 1000, rendition: nameOf(level) });
    });
    if (at) media.currentTime = at;
  };
  quality.addEventListener("change", () => player?.setLevel(Number(quality.value)));
  engine.addEventListener("change", () => {
    localStorage.setItem(ENGINE, engine.value);
    load(engine.value);
  });
  await load(engine.value);

  // the seek bar: follows playback, seeks, and previews the storyboard under the pointer or the keys
  let cues = [];
  if (video.storyboard_url) {
    fetch(video.storyboard_url)
      .then((res) => (res.ok ? res.text() : ""))
      .then((text) => {
        cues = parseStoryboard(text, new URL(video.storyboard_url, location.href).href);
      })
      .catch(() => {});
  }
  const duration = () => (Number.isFinite(media.duration) ? media.duration : (video.duration_ms || 0) / 1000);
  media.addEventListener("loadedmetadata", () => (scrub.disabled = false));
  media.addEventListener("timeupdate", () => {
    if (document.activeElement !== scrub && duration()) scrub.value = String(Math.round((media.currentTime / duration()) * 1000));
    scrub.setAttribute("aria-valuetext", `${formatDuration(media.currentTime * 1000)} of ${formatDuration(duration() * 1000)}`);
  });
  const showPreview = (fraction) => {
    const time = fraction * duration();
    previewTime.textContent = formatDuration(time * 1000);
    const cue = cueAt(cues, time);
    previewImage.hidden = !cue;
    if (cue) {
      previewImage.style.backgroundImage = `url("${cue.url}")`;
      previewImage.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      previewImage.style.width = `${cue.w}px`;
      previewImage.style.height = `${cue.h}px`;
    }
    preview.style.left = `${Math.min(Math.max(fraction, 0.08), 0.92) * 100}%`;
    preview.hidden = false;
  };
  scrub.addEventListener("pointermove", (e) => {
    const box = scrub.getBoundingClientRect();
    showPreview(Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1));
  });
  scrub.addEventListener("pointerleave", () => (preview.hidden = true));
  scrub.addEventListener("input", () => showPreview(Number(scrub.value) / 1000));
  scrub.addEventListener("change", () => {
    media.currentTime = (Number(scrub.value) / 1000) * duration();
    preview.hidden = true;
  });
  scrub.addEventListener("blur", () => (preview.hidden = true));
  window.addEventListener("pagehide", () => detach?.(), { once: true });
}

async function showStats(video, node) {
  const totals = await viewsOf(video);
  if (!totals) {
    node.textContent = "View counts are unavailable right now.";
    return;
  }
  node.dataset.views = String(totals.views);
  const minutes = Math.round(totals.watch_ms / 60000);
  const watch = totals.watch_ms < 60000 ? `${Math.round(totals.watch_ms / 1000)} s` : `${minutes} min`;
  node.textContent = `${plural(totals.views, "view")} · ${watch} watched`;
}

// -- search -----------------------------------------------------------------------------------------

async function renderSearch() {
  const q = (new URLSearchParams(location.search).get("q") || "").trim();
  document.title = `${q} · search · tubestream`;
  const heading = el("h1", { text: q ? `Results for “${q}”` : "Search" });
  main.replaceChildren(heading);
  if (!q) return;
  const r = await getJson(`/v1/search?q=${encodeURIComponent(q)}&limit=24`);
  if (!r.ok) return main.append(unavailable("Search is", r));
  main.append(
    el("p", { class: "muted", text: plural(r.body.total, "video") }),
    r.body.videos.length ? grid(r.body.videos) : el("p", { text: "No videos match. Try other words." }),
  );
  announce(`${plural(r.body.total, "result")} for ${q}`);
}

// -- upload -----------------------------------------------------------------------------------------

async function renderUpload() {
  document.title = "Upload · tubestream";
  const c = await config();
  const heading = el("h1", { text: "Upload a video" });
  const s = session();
  if (!c.upload_url) {
    main.replaceChildren(heading, el("p", { text: "Uploads are not configured on this server." }));
    return;
  }
  if (!s?.upload_token) {
    main.replaceChildren(
      heading,
      c.sign_in
        ? el("div", {}, el("p", { text: "Sign in to upload." }), signInForm(() => location.reload()))
        : el("p", { text: "Sign in with your account to upload." }),
    );
    return;
  }
  const file = el("input", { id: "file", name: "file", type: "file", accept: "video/*", required: true });
  const drop = el("label", { class: "drop", for: "file" }, el("span", { text: "Choose a video file or drop it here" }), file);
  const title = el("input", { id: "title", name: "title", required: true, maxlength: "200" });
  const description = el("textarea", { id: "description", name: "description", rows: "4", maxlength: "5000" });
  const tags = el("input", { id: "tags", name: "tags", placeholder: "holiday, beach" });
  const visibility = el(
    "select",
    { id: "visibility", name: "visibility" },
    el("option", { value: "public", text: "Public: listed, searchable, recommended" }),
    el("option", { value: "unlisted", text: "Unlisted: anyone with the link" }),
    el("option", { value: "private", text: "Private: only you" }),
  );
  const submit = el("button", { type: "submit", id: "upload-button", text: "Upload" });
  const bar = el("progress", { id: "upload-progress", max: "100", value: "0", "aria-label": "Upload progress", hidden: true });
  const barText = el("p", { id: "upload-status", role: "status", "aria-live": "polite" });
  const processing = el("progress", { id: "processing-progress", max: "100", "aria-label": "Processing progress", hidden: true });
  const done = el("p", { id: "upload-done" });
  let chosen = null;
  const choose = (f) => {
    chosen = f;
    drop.firstChild.textContent = f ? `${f.name} (${bytes(f.size)})` : "Choose a video file or drop it here";
    if (f && !title.value) title.value = f.name.replace(/\.[^.]+$/, "");
  };
  file.addEventListener("change", () => choose(file.files[0] || null));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
  });
  const form = el(
    "form",
    { class: "upload", novalidate: true },
    drop,
    el("label", { for: "title", text: "Title" }),
    title,
    el("label", { for: "description", text: "Description" }),
    description,
    el("label", { for: "tags", text: "Tags (comma-separated)" }),
    tags,
    el("label", { for: "visibility", text: "Visibility" }),
    visibility,
    submit,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!chosen) return (barText.textContent = "Choose a file first.");
    if (!title.value.trim()) return (barText.textContent = "Give it a title."), title.focus();
    submit.disabled = true;
    bar.hidden = false;
    try {
      const answer = await uploadFile({
        serviceUrl: c.upload_url,
        token: s.upload_token,
        file: chosen,
        title: title.value.trim(),
        description: description.value,
        tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
        visibility: visibility.value,
        onProgress: (sent, total) => {
          const pct = total ? Math.floor((sent / total) * 100) : 100;
          bar.value = pct;
          barText.textContent = `Uploading: ${pct}% (${bytes(sent)} of ${bytes(total)})`;
        },
      });
      bar.value = 100;
      barText.textContent = `Uploaded${answer.resumed ? " (resumed)" : ""}. Processing…`;
      await followProcessing(answer.video_id, processing, barText, done);
    } catch (err) {
      barText.textContent = `Upload failed: ${err.message}. Pick the same file again to resume.`;
      submit.disabled = false;
    }
  });
  const barLabel = el("label", { class: "progress-label", for: "upload-progress", text: "Upload", hidden: true });
  const processingLabel = el("label", { class: "progress-label", for: "processing-progress", text: "Processing", hidden: true });
  for (const [node, label] of [[bar, barLabel], [processing, processingLabel]]) {
    new MutationObserver(() => (label.hidden = node.hidden)).observe(node, { attributes: true, attributeFilter: ["hidden"] });
  }
  main.replaceChildren(heading, form, barLabel, bar, barText, processingLabel, processing, done);
}

async function followProcessing(videoId, bar, text, done) {
  bar.hidden = false;
  bar.removeAttribute("value"); // indeterminate until the transcoder reports
  for (;;) {
    const r = await getJson(`/v1/videos/${encodeURIComponent(videoId)}`);
    if (r.ok) {
      const v = r.body;
      if (v.status === "ready") {
        bar.value = 100;
        text.textContent = "Ready.";
        done.replaceChildren(el("a", { href: `/watch/${encodeURIComponent(videoId)}`, id: "watch-link", text: `Watch “${v.title}”` }));
        done.dataset.videoId = videoId;
        return;
      }
      if (v.status === "failed") {
        text.textContent = `Processing failed: ${v.failure_reason || "unknown reason"}`;
        return;
      }
      if (v.progress_pct != null) {
        bar.value = v.progress_pct;
        text.textContent = `Processing: ${Math.round(v.progress_pct)}%`;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// -- routing ------------------------------------------------------------------------------------------

async function route() {
  renderAccount();
  setUpSearch();
  const path = location.pathname;
  const watch = path.match(/^\/watch\/([^/]+)$/);
  if (watch) return renderWatch(decodeURIComponent(watch[1]));
  if (path === "/search") return renderSearch();
  if (path === "/upload") return renderUpload();
  return renderHome();
}

route().catch((e) => {
  main.append(el("p", { class: "error", role: "alert", text: `Something went wrong: ${e.message}` }));
});
