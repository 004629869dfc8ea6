// Resumable uploads from the browser, with the protocol of `tubestream upload` (docs/uploads.md):
// create → pre-signed part URLs → PUT each part straight to storage → complete. The upload id is
// kept in localStorage under the file's name, size and date, so picking the same file again after a
// closed tab or a lost connection sends only the parts storage does not have.

const PARALLEL = 3; // parts in flight at once
const URL_BATCH = 50; // part URLs asked for at once
const STATE = "tubestream.upload.";

export class UploadError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function fingerprint(file) {
  return `${STATE}${file.name}|${file.size}|${file.lastModified}`;
}

async function call(base, token, method, path, body) {
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (e) {
    throw new UploadError(0, `the upload service cannot be reached (${e.message})`);
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    throw new UploadError(response.status, answer?.error?.message || `${response.status} ${response.statusText}`);
  }
  return answer;
}

/** PUT one part with XMLHttpRequest: fetch cannot report upload progress. Resolves to its length. */
function putPart(url, blob, onBytes) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    let reported = 0;
    xhr.upload.onprogress = (e) => {
      onBytes(e.loaded - reported);
      reported = e.loaded;
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onBytes(blob.size - reported);
        resolve(blob.size);
      } else {
        onBytes(-reported);
        reject(new UploadError(xhr.status, `part refused: ${xhr.status} ${xhr.responseText.slice(0, 200)}`));
      }
    };
    xhr.onerror = () => {
      onBytes(-reported);
      reject(new UploadError(0, "a part could not be sent (network)"));
    };
    xhr.send(blob);
  });
}

/**
 * Upload ``file``; ``onProgress(sentBytes, totalBytes)``. Resolves to the complete's answer
 * ({video_id, status, probe}) and {resumed: bool}.
 */
export async function uploadFile({ serviceUrl, token, file, title, description, tags, visibility = "public", onProgress }) {
  const base = serviceUrl.replace(/\/+$/, "");
  const key = fingerprint(file);
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(key) || "null");
  } catch (e) {
    saved = null;
  }
  let upload = null;
  let stored = new Set();
  if (saved?.upload_id) {
    try {
      const status = await call(base, token, "GET", `/v1/uploads/${saved.upload_id}`);
      upload = { upload_id: saved.upload_id, part_size: status.part_size, part_count: status.part_count };
      stored = new Set(status.parts_stored);
    } catch (e) {
      if (e.status === 0 || e.status >= 500) throw e; // keep the state: the same file resumes later
      localStorage.removeItem(key); // gone, another uploader's, unknown: start over
    }
  }
  const resumed = upload !== null;
  if (!upload) {
    upload = await call(base, token, "POST", "/v1/uploads", {
      size_bytes: file.size,
      content_type: file.type || "video/mp4",
      title,
      description,
      tags,
      visibility,
    });
    localStorage.setItem(key, JSON.stringify({ upload_id: upload.upload_id }));
  }
  const { upload_id: id, part_size: partSize, part_count: partCount } = upload;
  const lengthOf = (n) => Math.min(partSize, file.size - (n - 1) * partSize);
  let sent = [...stored].reduce((total, n) => total + lengthOf(n), 0);
  onProgress?.(sent, file.size);
  const missing = [];
  for (let n = 1; n <= partCount; n++) if (!stored.has(n)) missing.push(n);
  for (let i = 0; i < missing.length; i += URL_BATCH) {
    const numbers = missing.slice(i, i + URL_BATCH);
    const { parts } = await call(base, token, "POST", `/v1/uploads/${id}/parts`, { numbers });
    const queue = [...parts];
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        const start = (part.number - 1) * partSize;
        await putPart(part.url, file.slice(start, start + lengthOf(part.number)), (bytes) => {
          sent += bytes;
          onProgress?.(sent, file.size);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
  }
  const completed = await call(base, token, "POST", `/v1/uploads/${id}/complete`, {});
  localStorage.removeItem(key);
  return { ...completed, resumed };
}
