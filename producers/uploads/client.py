"""The client side of an upload (``tubestream upload``): parallel parts, resumable, with progress.

The upload id of a file in progress is kept in a small state file named
after the file's path, size and modification time; running the same command
again asks the service which parts storage already has and sends only the
others, with fresh URLs. Each part is retried with backoff before giving up.
A state file that cannot be used (unreadable, an upload the service does not
know, one that is finished or another uploader's) is dropped, the user is
told why (``on_notice``), and the upload starts over.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from producers.errors import UploadError

__all__ = ["UploadError", "UploadOutcome", "upload_file"]

log = logging.getLogger(__name__)

PART_ATTEMPTS = 4
URL_BATCH = 500


@dataclass(frozen=True)
class UploadOutcome:
    video_id: str
    resumed: bool
    parts_sent: int
    probe: dict[str, Any]


async def upload_file(
    path: Path,
    *,
    service_url: str,
    token: str,
    title: str,
    description: str = "",
    tags: Sequence[str] = (),
    visibility: str = "public",
    state_dir: Path,
    concurrency: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    stop_after_parts: int | None = None,
) -> UploadOutcome:
    """Upload ``path``; ``on_notice`` hears what the user should know (a dropped resume state, why).

    ``stop_after_parts`` interrupts on purpose (tests of resuming).
    """
    size = _size(path)
    state = _StateFile(state_dir / f"{_fingerprint(path)}.json")
    headers = {"Authorization": f"Bearer {token}"}
    base = service_url.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=None, sock_read=300)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as http:
        upload_id, stored, resumed = await _resume(http, base, state, on_notice or log.warning)
        if upload_id is None:
            created = await _call(http, "POST", f"{base}/v1/uploads", {
                "size_bytes": size,
                "content_type": mimetypes.guess_type(path.name)[0] or "video/mp4",
                "title": title,
                "description": description,
                "tags": list(tags),
                "visibility": visibility,
            })  # fmt: skip
            upload_id, stored = created["upload_id"], set()
            state.save(upload_id, path)
            part_size, part_count = created["part_size"], created["part_count"]
        else:
            status = await _call(http, "GET", f"{base}/v1/uploads/{upload_id}")
            part_size, part_count = status["part_size"], status["part_count"]
        missing = [n for n in range(1, part_count + 1) if n not in stored]
        done = sum(min(part_size, size - (n - 1) * part_size) for n in stored)
        if on_progress:
            on_progress(done, size)
        budget = len(missing) if stop_after_parts is None else min(stop_after_parts, len(missing))
        sent = 0
        gate = asyncio.Semaphore(concurrency)

        async def send(number: int, url: str) -> None:
            nonlocal done
            async with gate:
                length = await _put_part(path, number, part_size, size, url)
            done += length
            if on_progress:
                on_progress(done, size)

        for start in range(0, budget, URL_BATCH):
            numbers = missing[start : min(start + URL_BATCH, budget)]
            urls = await _call(http, "POST", f"{base}/v1/uploads/{upload_id}/parts", {"numbers": numbers})
            await asyncio.gather(*(send(p["number"], p["url"]) for p in urls["parts"]))
            sent += len(numbers)
        if sent < len(missing):
            raise UploadError(f"interrupted after {sent} part(s); run the same command again to resume")
        completed = await _call(http, "POST", f"{base}/v1/uploads/{upload_id}/complete", {})
        state.clear()
        return UploadOutcome(completed["video_id"], resumed, sent, completed.get("probe", {}))


_UNUSABLE = {  # the service's answer about a saved upload → what that means for the user
    400: "the service cannot use the saved upload",
    403: "the saved upload belongs to another uploader",
    404: "the service does not know the saved upload",
    410: "the saved upload is no longer open",
    414: "the service cannot use the saved upload",
}


async def _resume(
    http: aiohttp.ClientSession, base: str, state: _StateFile, notice: Callable[[str], None]
) -> tuple[str | None, set[int], bool]:
    """The saved upload and its stored parts; a state that cannot be used is dropped, saying why."""
    try:
        upload_id = state.load()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        notice(f"cannot read the saved upload state {state.path} ({exc}); starting over")
        state.clear()
        return None, set(), False
    if upload_id is None:
        return None, set(), False
    async with http.get(f"{base}/v1/uploads/{upload_id}") as response:
        if response.status in _UNUSABLE:
            said = (await _checked_quietly(response))[:200]
            notice(f"{_UNUSABLE[response.status]} ({response.status}: {said}); starting over")
            state.clear()
            return None, set(), False
        body = await _checked(response)  # any other failure keeps the state for the next try
    return upload_id, set(body["parts_stored"]), True


async def _put_part(path: Path, number: int, part_size: int, size: int, url: str) -> int:
    offset = (number - 1) * part_size
    length = min(part_size, size - offset)
    data = await asyncio.to_thread(_read, path, offset, length)
    delay = 0.5
    async with aiohttp.ClientSession() as storage:  # no Authorization header: storage checks the URL
        for attempt in range(1, PART_ATTEMPTS + 1):
            try:
                body = io.BytesIO(data)  # a stream, not one big bytes body on the event loop
                async with storage.put(url, data=body, headers={"Content-Length": str(length)}) as response:
                    if response.status == 200:
                        return length
                    text = await response.text()
                    if response.status in (400, 403, 404):
                        raise UploadError(f"storage refused part {number}: {response.status} {text[:300]}")
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == PART_ATTEMPTS:
                    raise UploadError(f"part {number} failed {PART_ATTEMPTS} times: {exc}") from exc
            await asyncio.sleep(delay)
            delay *= 2
    raise UploadError(f"part {number} failed {PART_ATTEMPTS} times")


async def _call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> dict[str, Any]:
    async with http.request(method, url, json=body) as response:
        return await _checked(response)


async def _checked(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await response.json(content_type=None)
    except (json.JSONDecodeError, aiohttp.ContentTypeError):
        body = None
    if response.status >= 400:
        message = body["error"]["message"] if isinstance(body, dict) and "error" in body else response.reason
        raise UploadError(f"{response.status}: {message}")
    return body if isinstance(body, dict) else {}


async def _checked_quietly(response: aiohttp.ClientResponse) -> str:
    """The service's error message, or the HTTP reason when it sent none."""
    try:
        await _checked(response)
    except UploadError as exc:
        return str(exc).split(": ", 1)[-1]
    return str(response.reason)


class _StateFile:
    """Where the upload id of a file in progress waits for the next run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> str | None:
        """The saved upload id; ``ValueError``/``KeyError``/``TypeError`` for a file that is not a state."""
        if not self.path.exists():
            return None
        upload_id = json.loads(self.path.read_text())["upload_id"]
        if not isinstance(upload_id, str) or not upload_id:
            raise ValueError("no upload id in it")
        return upload_id

    def save(self, upload_id: str, source: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"upload_id": upload_id, "path": str(source)}))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _size(path: Path) -> int:
    return path.stat().st_size


def _read(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as f:
        f.seek(offset)
        return f.read(length)


def _fingerprint(path: Path) -> str:
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]
