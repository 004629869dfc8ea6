// The browser upload's resume logic against a scripted upload service: node --test query_api/web/tests/
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { uploadFile } from "../static/upload.js";

const PART = 4;
let calls;
let puts;
let answers;

class FakeXhr {
  open(method, url) {
    this.url = url;
    this.upload = {};
  }
  send(blob) {
    puts.push({ url: this.url, size: blob.size });
    this.status = 200;
    this.responseText = "";
    this.upload.onprogress?.({ loaded: blob.size });
    queueMicrotask(() => this.onload());
  }
}

beforeEach(() => {
  calls = [];
  puts = [];
  answers = {};
  const store = new Map();
  globalThis.localStorage = {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
    removeItem: (k) => store.delete(k),
    keys: () => [...store.keys()],
  };
  globalThis.XMLHttpRequest = FakeXhr;
  globalThis.fetch = async (url, init = {}) => {
    const path = new URL(url).pathname;
    const key = `${init.method || "GET"} ${path}`;
    calls.push({ key, body: init.body ? JSON.parse(init.body) : null, auth: init.headers?.Authorization });
    const [status, body] = answers[key] ? answers[key](calls.at(-1).body) : [404, { error: { message: `no ${key}` } }];
    return { ok: status < 300, status, statusText: "", json: async () => body };
  };
});

function serve({ stored = null }) {
  answers["POST /v1/uploads"] = () => [201, { upload_id: "up-new", video_id: "vid-1", part_size: PART, part_count: 3 }];
  if (stored) answers["GET /v1/uploads/up-old"] = () => [200, { part_size: PART, part_count: 3, parts_stored: stored }];
  for (const id of ["up-new", "up-old"]) {
    answers[`POST /v1/uploads/${id}/parts`] = (body) => [200, { parts: body.numbers.map((n) => ({ number: n, url: `http://s/p?part=${n}` })) }];
    answers[`POST /v1/uploads/${id}/complete`] = () => [200, { video_id: "vid-1", status: "uploaded" }];
  }
}

const file = () => {
  const blob = new Blob(["0123456789"], { type: "video/mp4" }); // 3 parts of 4, 4 and 2 bytes
  Object.assign(blob, { name: "clip.mp4", lastModified: 1 });
  return blob;
};
const run = (onProgress) =>
  uploadFile({ serviceUrl: "http://s/", token: "t", file: file(), title: "T", description: "", tags: ["a"], onProgress });

test("a new upload sends every part, completes, and forgets its state", async () => {
  serve({});
  const progress = [];
  const answer = await run((sent, total) => progress.push([sent, total]));
  assert.deepEqual(answer, { video_id: "vid-1", status: "uploaded", resumed: false });
  assert.deepEqual(puts.map((p) => [p.url, p.size]).sort(), [["http://s/p?part=1", 4], ["http://s/p?part=2", 4], ["http://s/p?part=3", 2]]);
  assert.equal(calls[0].body.size_bytes, 10);
  assert.equal(calls[0].auth, "Bearer t");
  assert.deepEqual(progress.at(-1), [10, 10]);
  assert.deepEqual(localStorage.keys(), []);
});

test("the same file again resumes: only the parts storage lacks are sent", async () => {
  serve({ stored: [1, 3] });
  localStorage.setItem("tubestream.upload.clip.mp4|10|1", JSON.stringify({ upload_id: "up-old" }));
  const progress = [];
  const answer = await run((sent) => progress.push(sent));
  assert.equal(answer.resumed, true);
  assert.deepEqual(puts.map((p) => p.url), ["http://s/p?part=2"]);
  assert.equal(progress[0], 6, "the stored parts count from the start");
  assert.ok(!calls.some((c) => c.key === "POST /v1/uploads"));
});

test("a saved upload the service no longer has is dropped and a new one made", async () => {
  serve({});
  answers["GET /v1/uploads/up-old"] = () => [410, { error: { message: "gone" } }];
  localStorage.setItem("tubestream.upload.clip.mp4|10|1", JSON.stringify({ upload_id: "up-old" }));
  const answer = await run();
  assert.equal(answer.resumed, false);
  assert.equal(puts.length, 3);
});

test("a service that is down keeps the saved upload for the next try", async () => {
  serve({});
  answers["GET /v1/uploads/up-old"] = () => [503, { error: { message: "storage down" } }];
  localStorage.setItem("tubestream.upload.clip.mp4|10|1", JSON.stringify({ upload_id: "up-old" }));
  await assert.rejects(run(), /storage down/);
  assert.deepEqual(localStorage.keys(), ["tubestream.upload.clip.mp4|10|1"]);
});
