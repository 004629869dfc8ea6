// Storyboard thumbnails: the transcoder's WebVTT track, whose cues point into sprite sheets
// (sprite.jpg#xywh=x,y,w,h), read into cues the seek bar's preview can look up by time.

function seconds(stamp) {
  const parts = stamp.trim().split(":").map(Number);
  if (parts.some((p) => Number.isNaN(p))) return NaN;
  return parts.reduce((total, p) => total * 60 + p, 0);
}

/** Cues of a thumbnail track: {start, end, url, x, y, w, h}; sprite URLs resolved against ``base``. */
export function parseStoryboard(text, base) {
  const cues = [];
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const timing = lines[i].match(/^\s*([\d:.]+)\s+-->\s+([\d:.]+)/);
    if (!timing) continue;
    const ref = (lines[i + 1] || "").trim();
    const hash = ref.match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/);
    const start = seconds(timing[1]);
    const end = seconds(timing[2]);
    if (!ref || Number.isNaN(start) || Number.isNaN(end)) continue;
    const url = new URL(hash ? hash[1] : ref, base).href;
    const [x, y, w, h] = hash ? hash.slice(2).map(Number) : [0, 0, 0, 0];
    cues.push({ start, end, url, x, y, w, h });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** The cue showing at ``time`` seconds (the last one past the end), or null. */
export function cueAt(cues, time) {
  let lo = 0;
  let hi = cues.length - 1;
  let found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cues[mid].start <= time) {
      found = cues[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
