// One player interface over hls.js and dash.js: load, list the renditions, pick one or auto.
//
//   const player = await createPlayer(video, { hlsUrl, dashUrl, engine: "hls" | "dash" });
//   player.levels            [{index, height, bitrateKbps}], lowest first
//   player.setLevel(i)       -1: automatic (ABR)
//   player.onLevelSwitched(cb)   cb(level) once a rendition plays
// Both libraries are ES modules served from /static/vendor/ and loaded on first use.

async function hlsPlayer(video, url) {
  const { default: Hls } = await import("/static/vendor/hls.mjs");
  if (!Hls.isSupported()) throw new Error("this browser has no Media Source Extensions for hls.js");
  const hls = new Hls({ enableWorker: true, capLevelToPlayerSize: false });
  const listeners = [];
  let api = null;
  const ready = new Promise((resolve, reject) => {
    hls.on(Hls.Events.MANIFEST_PARSED, () => resolve());
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (data.fatal) reject(new Error(`hls.js: ${data.details}`));
    });
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
    if (!api) return;
    for (const cb of listeners) cb(api.levels.find((l) => l.index === data.level) || null);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  await ready;
  api = {
    engine: "hls",
    levels: hls.levels
      .map((l, index) => ({ index, height: l.height, bitrateKbps: Math.round(l.bitrate / 1000) }))
      .sort((a, b) => a.height - b.height || a.bitrateKbps - b.bitrateKbps),
    auto: () => hls.autoLevelEnabled,
    current: () => api.levels.find((l) => l.index === hls.currentLevel) || null,
    setLevel: (index) => {
      hls.currentLevel = index; // switches now (flushing the buffer ahead), or -1: ABR again
    },
    onLevelSwitched: (cb) => listeners.push(cb),
    destroy: () => hls.destroy(),
  };
  return api;
}

async function dashPlayer(video, url) {
  const dashjs = await import("/static/vendor/dash.mjs");
  const player = dashjs.MediaPlayer().create();
  const events = dashjs.MediaPlayer.events;
  const listeners = [];
  let api = null;
  const ready = new Promise((resolve, reject) => {
    player.on(events.STREAM_INITIALIZED, () => resolve());
    player.on(events.ERROR, (e) => reject(new Error(`dash.js: ${e.error?.message || e.error}`)));
  });
  player.on(events.QUALITY_CHANGE_RENDERED, (e) => {
    if (e.mediaType !== "video" || !api) return;
    for (const cb of listeners) cb(api.levels.find((l) => l.id === e.newRepresentation?.id) || null);
  });
  // dash.js ends playback itself at the MPD's duration (PLAYBACK_ENDED). Where the media runs a little
  // longer (the transcoder's MPD says PT6.0S, its audio lasts 6.01 s) it pauses short of the end, at
  // times seeks back half a second, and the element never fires `ended`: say it for the element, so
  // the page and the analytics see the end dash.js decided on.
  player.on(events.PLAYBACK_ENDED, () => {
    setTimeout(() => {
      if (!video.ended) video.dispatchEvent(new Event("ended"));
    }, 250);
  });
  player.initialize(video, url, false);
  await ready;
  const representations = player.getRepresentationsByType("video");
  api = {
    engine: "dash",
    levels: representations
      .map((r, index) => ({ index, id: r.id, height: r.height, bitrateKbps: Math.round(r.bandwidth / 1000) }))
      .sort((a, b) => a.height - b.height || a.bitrateKbps - b.bitrateKbps),
    auto: () => player.getSettings().streaming.abr.autoSwitchBitrate.video,
    current: () => {
      const r = player.getCurrentRepresentationForType("video");
      return r ? api.levels.find((l) => l.id === r.id) || null : null;
    },
    setLevel: (index) => {
      const auto = index < 0;
      player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
      const level = api.levels.find((l) => l.index === index);
      if (!auto && level) player.setRepresentationForTypeById("video", level.id, true);
    },
    onLevelSwitched: (cb) => listeners.push(cb),
    destroy: () => player.destroy(),
  };
  return api;
}

/** ``engine``: "hls" (the default) or "dash"; falls back to the other when one URL is missing. */
export async function createPlayer(video, { hlsUrl, dashUrl, engine = "hls" }) {
  const useDash = (engine === "dash" && dashUrl) || !hlsUrl;
  if (useDash && dashUrl) return dashPlayer(video, new URL(dashUrl, location.href).href);
  if (hlsUrl) return hlsPlayer(video, new URL(hlsUrl, location.href).href);
  throw new Error("this video has no HLS or DASH manifest yet");
}
