// tubestream player analytics: playback events to the collector, batched, retried, flushed on page hide.
//
// The collector (POST {collector}/v1/playback/events, docs/analytics.md) takes a batch
// {"events": [...]} with a player token (Authorization: Bearer) and answers 202 once Kafka has
// every event. On 429 or 503 it says Retry-After: the same batch, with the same event ids, is sent
// again after that long, so a retry that overlaps what was written is deduplicated downstream.
// Any other refusal (400, 401, 403, 413) will not get better by retrying: the batch is dropped and
// reported to onError. Events are queued while a batch is in flight and go in the next one.
//
//   const analytics = new PlayerAnalytics({ collectorUrl, getToken: () => token, videoId });
//   analytics.attach(videoElement, { rendition: () => "720p" });
//   player.onLevelSwitched(name => analytics.track("QUALITY_CHANGE", { rendition: name }));

export const KINDS = ["START", "HEARTBEAT", "PAUSE", "SEEK", "REBUFFER", "QUALITY_CHANGE", "END"];
export const RETRYABLE = new Set([429, 503]);

const MAX_BATCH = 100; // the collector takes 500; a keepalive request carries at most 64 KiB
const MAX_QUEUE = 2000; // while the collector is away: the oldest beyond this are dropped
const MAX_BACKOFF_MS = 30_000;

function randomId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Seconds of a Retry-After header (a number or an HTTP date), as milliseconds; null if unreadable. */
export function retryAfterMs(header, now = Date.now()) {
  if (header == null || header === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export class PlayerAnalytics {
  /**
   * @param {object} options
   * @param {string} options.collectorUrl  the collector's base URL (http://host:8081)
   * @param {() => (string|null|Promise<string|null>)} options.getToken  the player token; null: send nothing
   * @param {string} options.videoId
   * @param {string} [options.sessionId]  one per playback of one video (made here by default)
   * @param {string} [options.client]  what plays (reported as-is, for the analytics' breakdowns)
   * @param {number} [options.flushIntervalMs]  how often queued events are sent (default 4 s: under
   *   the collector's 5 s allowed skew, so watch time is never held back)
   * @param {number} [options.heartbeatMs]  a HEARTBEAT this often while playing (default 10 s)
   * @param {typeof fetch} [options.fetch]
   * @param {() => number} [options.now]
   * @param {(fn: () => void, ms: number) => any} [options.setTimer]
   * @param {(handle: any) => void} [options.clearTimer]
   * @param {(error: Error) => void} [options.onError]
   */
  constructor(options) {
    this.collectorUrl = options.collectorUrl.replace(/\/+$/, "");
    this.getToken = options.getToken;
    this.videoId = options.videoId;
    this.sessionId = options.sessionId || randomId();
    this.client = options.client || "tubestream-web";
    this.flushIntervalMs = options.flushIntervalMs ?? 4000;
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.fetch = options.fetch || globalThis.fetch.bind(globalThis);
    this.now = options.now || (() => Date.now());
    this.setTimer = options.setTimer || ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer || ((h) => clearTimeout(h));
    this.onError = options.onError || ((e) => console.warn("playback analytics:", e.message));
    this.queue = [];
    this.inFlight = null; // the batch being sent: kept, with its ids, until the collector takes it
    this.sending = null;
    this.timer = null;
    this.failures = 0;
    this.sent = 0; // events the collector accepted (for tests and the page's debug line)
    this.started = false;
    this.videoDurationMs = null;
  }

  /** Queue one event; START and END are sent at once, the rest with the next flush. */
  track(kind, { positionMs = 0, rendition = null, durationMs = null } = {}) {
    if (!KINDS.includes(kind)) throw new Error(`unknown playback event kind ${kind}`);
    const event = {
      event_id: randomId(),
      session_id: this.sessionId,
      video_id: this.videoId,
      kind,
      position_ms: Math.max(0, Math.round(positionMs)),
      occurred_at: new Date(this.now()).toISOString(),
      client: this.client,
    };
    if (rendition) event.rendition = rendition;
    if (durationMs != null) event.duration_ms = Math.max(0, Math.round(durationMs));
    if (this.videoDurationMs != null) event.video_duration_ms = this.videoDurationMs;
    this.queue.push(event);
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (kind === "START" || kind === "END" || this.queue.length >= MAX_BATCH) this.flush();
    else this.schedule(this.flushIntervalMs);
    return event;
  }

  schedule(ms) {
    if (this.timer != null) return;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  /** Send what is queued (or retry the batch in flight); resolves when this attempt is over. */
  flush({ keepalive = false } = {}) {
    if (this.sending) return this.sending;
    if (!this.inFlight) {
      if (!this.queue.length) return Promise.resolve();
      this.inFlight = this.queue.splice(0, MAX_BATCH);
    }
    if (this.timer != null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.sending = this.send(this.inFlight, keepalive).finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  async send(batch, keepalive) {
    let token;
    try {
      token = await this.getToken();
    } catch (e) {
      token = null;
    }
    if (!token) {
      this.inFlight = null; // no token, no analytics: nothing would ever accept these
      return;
    }
    let response;
    try {
      response = await this.fetch(`${this.collectorUrl}/v1/playback/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ events: batch }),
        keepalive,
      });
    } catch (e) {
      return this.retryLater(null, e); // offline, refused, CORS: the same batch again later
    }
    if (response.status === 202) {
      this.inFlight = null;
      this.failures = 0;
      this.sent += batch.length;
      if (this.queue.length) this.schedule(this.queue.length >= MAX_BATCH ? 0 : this.flushIntervalMs);
      return;
    }
    if (RETRYABLE.has(response.status)) {
      return this.retryLater(retryAfterMs(response.headers.get("Retry-After"), this.now()));
    }
    this.inFlight = null;
    let message = `the collector refused ${batch.length} event(s): ${response.status}`;
    try {
      const body = await response.json();
      if (body?.error?.message) message += ` ${body.error.message}`;
    } catch (e) {
      /* no JSON body: the status says enough */
    }
    this.onError(new Error(message));
    if (this.queue.length) this.schedule(this.flushIntervalMs);
  }

  retryLater(waitMs, error) {
    this.failures += 1;
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
    this.schedule(waitMs ?? backoff);
    if (error) this.onError(error);
  }

  /**
   * Report a <video> element's playback: START on the first frame, HEARTBEAT while playing, PAUSE,
   * SEEK (a forward jump with its length; a backward one after a HEARTBEAT at the point left),
   * REBUFFER (a stall while playing, with its length) and END. ``rendition()`` names what plays.
   */
  attach(video, { rendition = () => null } = {}) {
    let lastPosition = 0;
    let stallSince = null;
    let beat = null;
    const pos = () => video.currentTime * 1000;
    const at = (extra = {}) => ({ positionMs: pos(), rendition: rendition(), ...extra });
    const stopBeat = () => {
      if (beat != null) this.clearTimer(beat);
      beat = null;
    };
    const startBeat = () => {
      stopBeat();
      beat = this.setTimer(() => {
        beat = null;
        if (!video.paused && !video.ended) {
          this.track("HEARTBEAT", at());
          startBeat();
        }
      }, this.heartbeatMs);
    };
    const handlers = {
      loadedmetadata: () => {
        if (Number.isFinite(video.duration)) this.videoDurationMs = Math.round(video.duration * 1000);
      },
      playing: () => {
        if (!this.started) {
          this.started = true;
          this.track("START", at({ durationMs: this.videoDurationMs }));
        } else if (stallSince != null) {
          this.track("REBUFFER", at({ durationMs: this.now() - stallSince }));
        }
        stallSince = null;
        startBeat();
      },
      waiting: () => {
        if (this.started && !video.seeking && stallSince == null) stallSince = this.now();
      },
      timeupdate: () => {
        if (!video.seeking) lastPosition = pos();
      },
      pause: () => {
        stopBeat();
        if (this.started && !video.ended) this.track("PAUSE", at());
      },
      seeked: () => {
        if (!this.started) return;
        const to = pos();
        stallSince = null;
        if (to >= lastPosition) this.track("SEEK", at({ durationMs: to - lastPosition }));
        else {
          this.track("HEARTBEAT", { positionMs: lastPosition, rendition: rendition() });
          this.track("SEEK", at());
        }
        lastPosition = to;
      },
      ended: () => {
        stopBeat();
        if (this.started) this.track("END", at());
        this.started = false; // a replay is a new START in the same session
      },
    };
    for (const [name, fn] of Object.entries(handlers)) video.addEventListener(name, fn);
    const hide = () => {
      if (this.started && !video.paused) this.track("HEARTBEAT", at());
      this.flush({ keepalive: true });
    };
    const onVisibility = () => {
      if (document.visibilityState === "hidden") hide();
    };
    globalThis.addEventListener?.("pagehide", hide);
    globalThis.document?.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopBeat();
      for (const [name, fn] of Object.entries(handlers)) video.removeEventListener(name, fn);
      globalThis.removeEventListener?.("pagehide", hide);
      globalThis.document?.removeEventListener("visibilitychange", onVisibility);
      hide();
    };
  }
}
