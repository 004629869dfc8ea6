import assert from "node:assert/strict";
import { test } from "node:test";

import { cueAt, parseStoryboard } from "../static/storyboard.js";

const VTT = `WEBVTT

00:00:00.000 --> 00:00:02.000
storyboard-1.jpg#xywh=0,0,160,90

00:00:02.000 --> 00:00:04.000
storyboard-1.jpg#xywh=160,0,160,90

01:00.000 --> 01:02.500
sub/storyboard-2.jpg#xywh=0,90,160,90
`;

test("cues name their sprite, resolved against the track's URL, and their rectangle", () => {
  const cues = parseStoryboard(VTT, "http://h/media/videos/v/j/thumbs.vtt");
  assert.equal(cues.length, 3);
  assert.deepEqual(cues[1], {
    start: 2, end: 4, url: "http://h/media/videos/v/j/storyboard-1.jpg", x: 160, y: 0, w: 160, h: 90,
  });
  assert.equal(cues[2].start, 60);
  assert.equal(cues[2].end, 62.5);
  assert.equal(cues[2].url, "http://h/media/videos/v/j/sub/storyboard-2.jpg");
});

test("the cue at a time is the last that started", () => {
  const cues = parseStoryboard(VTT, "http://h/t.vtt");
  assert.equal(cueAt(cues, 0).x, 0);
  assert.equal(cueAt(cues, 3.9).x, 160);
  assert.equal(cueAt(cues, 500).y, 90);
  assert.equal(cueAt([], 1), null);
});

test("lines that are no cue are skipped", () => {
  assert.deepEqual(parseStoryboard("WEBVTT\n\nNOTE hi\n\nxx --> yy\nfoo.jpg\n", "http://h/"), []);
});
