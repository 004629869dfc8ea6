// The SDK's batching and retry logic against a scripted collector: node --test query_api/web/tests/
import assert from "node:assert/strict";
import { test } from "node:test";

import { PlayerAnalytics, retryAfterMs } from "../static/sdk/player-analytics.js";

/** A collector that answers from a script of statuses and records each request; timers run by hand. */
function rig(statuses, extra = {}) {
  const requests = [];
  const timers = [];
  let clock = Date.parse("2026-12-01T12:00:00Z");
  const fetch = async (url, init) => {
    requests.push({ url, init, body: JSON.parse(init.body) });
    const next = statuses.shift() ?? 202;
    if (next instanceof Error) throw next;
    const [status, retryAfter] = Array.isArray(next) ? next : [next, null];
    return {
      status,
      headers: { get: (name) => (name === "Retry-After" ? retryAfter : null) },
      json: async () => ({ error: { status, message: "refused" } }),
    };
  };
  const errors = [];
  const analytics = new PlayerAnalytics({
    collectorUrl: "http://collector.test/",
    getToken: () => "token-1",
    videoId: "vid-1",
    sessionId: "session-1",
    fetch,
    now: () => clock,
    setTimer: (fn, ms) => {
      const handle = { fn, ms };
      timers.push(handle);
      return handle;
    },
    clearTimer: (handle) => {
      const i = timers.indexOf(handle);
      if (i >= 0) timers.splice(i, 1);
    },
    onError: (e) => errors.push(e),
    ...extra,
  });
  const runTimers = async () => {
    while (timers.length) {
      const handle = timers.shift();
      clock += handle.ms;
      handle.fn();
      await analytics.sending;
    }
  };
  return { analytics, requests, timers, errors, runTimers, tick: (ms) => (clock += ms) };
}

test("events between flushes go in one batch, with the token, the session and the video", async () => {
  const { analytics, requests, runTimers } = rig([]);
  analytics.track("HEARTBEAT", { positionMs: 1000, rendition: "360p" });
  analytics.track("PAUSE", { positionMs: 1500.4 });
  analytics.track("QUALITY_CHANGE", { positionMs: 1500, rendition: "720p" });
  assert.equal(requests.length, 0, "nothing is sent before the flush interval");
  await runTimers();
  assert.equal(requests.length, 1);
  const { url, init, body } = requests[0];
  assert.equal(url, "http://collector.test/v1/playback/events");
  assert.equal(init.headers.Authorization, "Bearer token-1");
  assert.deepEqual(
    body.events.map((e) => [e.kind, e.position_ms, e.rendition ?? null]),
    [["HEARTBEAT", 1000, "360p"], ["PAUSE", 1500, null], ["QUALITY_CHANGE", 1500, "720p"]],
  );
  assert.ok(body.events.every((e) => e.session_id === "session-1" && e.video_id === "vid-1"));
  assert.equal(new Set(body.events.map((e) => e.event_id)).size, 3);
  assert.equal(analytics.sent, 3);
});

test("START is sent at once; events tracked meanwhile go in the next batch", async () => {
  const { analytics, requests, runTimers } = rig([]);
  analytics.track("START", { positionMs: 0, durationMs: 3000 });
  analytics.track("HEARTBEAT", { positionMs: 900 });
  await analytics.sending;
  assert.deepEqual(requests[0].body.events.map((e) => e.kind), ["START"]);
  assert.equal(requests[0].body.events[0].duration_ms, 3000);
  await runTimers();
  assert.deepEqual(requests[1].body.events.map((e) => e.kind), ["HEARTBEAT"]);
});

test("a 429 or 503 is retried after Retry-After with the same event ids", async () => {
  const { analytics, requests, timers, runTimers } = rig([[429, "2"], [503, "5"], 202]);
  analytics.track("START", { positionMs: 0 });
  await analytics.sending;
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, 2000, "the 429's Retry-After");
  analytics.track("HEARTBEAT", { positionMs: 500 }); // queued behind the batch in flight
  await runTimers();
  assert.equal(requests.length, 4);
  const ids = requests.map((r) => r.body.events.map((e) => e.event_id).join());
  assert.equal(ids[0], ids[1]);
  assert.equal(ids[1], ids[2], "the same batch until it is taken");
  assert.deepEqual(requests[3].body.events.map((e) => e.kind), ["HEARTBEAT"]);
  assert.equal(analytics.sent, 2);
});

test("a network failure backs off exponentially and keeps the batch", async () => {
  const { analytics, requests, timers, errors } = rig([new TypeError("offline"), new TypeError("offline")]);
  analytics.track("START");
  await analytics.sending;
  assert.equal(timers[0].ms, 1000);
  timers.shift().fn();
  await analytics.sending;
  assert.equal(timers[0].ms, 2000);
  timers.shift().fn();
  await analytics.sending;
  assert.equal(requests.length, 3);
  assert.equal(new Set(requests.map((r) => r.body.events[0].event_id)).size, 1);
  assert.equal(errors.length, 2);
  assert.equal(analytics.sent, 1);
});

test("a refusal that retrying cannot fix drops the batch and says why", async () => {
  const { analytics, requests, timers, errors } = rig([400]);
  analytics.track("START");
  await analytics.sending;
  assert.equal(timers.length, 0);
  assert.equal(analytics.inFlight, null);
  assert.match(errors[0].message, /refused 1 event\(s\): 400 refused/);
  analytics.track("END");
  await analytics.sending;
  assert.equal(requests.length, 2);
  assert.deepEqual(requests[1].body.events.map((e) => e.kind), ["END"]);
});

test("a page-hide flush is a keepalive request", async () => {
  const { analytics, requests } = rig([]);
  analytics.track("HEARTBEAT", { positionMs: 100 });
  await analytics.flush({ keepalive: true });
  assert.equal(requests[0].init.keepalive, true);
});

test("without a token nothing is sent", async () => {
  const { analytics, requests } = rig([], { getToken: () => null });
  analytics.track("START");
  await analytics.sending;
  assert.equal(requests.length, 0);
});

test("Retry-After reads seconds and HTTP dates", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  assert.equal(retryAfterMs("3", now), 3000);
  assert.equal(retryAfterMs("Tue, 01 Dec 2026 12:00:10 GMT", now), 10_000);
  assert.equal(retryAfterMs("soon", now), null);
  assert.equal(retryAfterMs(null, now), null);
});
