"""The upload service: pre-signed multipart uploads straight to object storage, resumable, then probed.

    POST   /v1/uploads                  create: metadata + size → upload id, part size, part URLs
    GET    /v1/uploads/{id}             which parts storage has, bytes stored (resume, progress)
    POST   /v1/uploads/{id}/parts       fresh URLs for some parts (``{"numbers": [3, 4]}``)
    POST   /v1/uploads/{id}/complete    check the parts, complete, probe, publish ``upload-complete``
    DELETE /v1/uploads/{id}             abort

Media never passes through this service, except with the local blob store,
whose pre-signed URLs point at ``/v1/blobs/...`` here (HMAC-signed, same
protocol as S3: PUT a part of exactly its signed length, get its ``ETag``;
GET the object with ranges). Errors are JSON ``{"error": {"status", "message"}}``.

``complete`` may be retried at any point: once the parts are joined, a
retry probes and announces the same file; once announced, it answers what
it answered the first time (``complete.json`` beside the source) and
publishes nothing again. Any other call on a finished upload is 410.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Collection, Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from blobs.errors import BlobError, BlobNotFoundError, PartTooLargeError, PartTooShortError
from blobs.local import OBJECTS_PATH, PARTS_PATH, LocalBlobStore
from blobs.multipart import MultipartBlobStore, StoredPart
from blobs.signed_urls import ExpiredUrlError, TamperedUrlError
from producers.cors import CorsPolicy, allow_cors
from producers.http_headers import plain_headers
from producers.uploads.auth import InvalidUploaderTokenError, UploaderAuth
from producers.uploads.metadata import InvalidMetadataError, VideoMetadata, check_metadata
from producers.uploads.openapi import openapi_document
from producers.uploads.probes import ProbeSlots, probe_target
from producers.uploads.tickets import (
    MAX_PARTS,
    InvalidTicketError,
    TicketSigner,
    UploadTicket,
    metadata_key,
    part_size_for,
    receipt_key,
    sha256_of,
    source_key,
)
from schemas import codec
from schemas.upload_complete import MediaProbe, UploadComplete
from topics.async_producer import AsyncEventProducer
from topics.catalogue import UPLOAD_COMPLETE_TOPIC
from topics.errors import LogError
from transcoder.errors import DeadlineError, FfmpegError, SourceError
from transcoder.probe import ProbedSource, probe_source_async

__all__ = ["DEFAULT_MAX_BYTES", "PROBES", "UploadSettings", "create_upload_app"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024**4  # S3's largest object: 5 TiB
URL_TTL_S = 6 * 3600
ACCEPTED_TYPES = ("video/",)
CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
_EVENT_IDS = uuid.UUID("6f0c3a52-51c5-4e8e-9a4a-3b1f0f7f2f10")  # upload-complete ids: one per video


class UploadSettings:
    def __init__(
        self,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        url_ttl_s: int = URL_TTL_S,
        probe_slots: int = 8,
        probe_deadline_s: float = 60.0,
        probe_read_timeout_s: float = 10.0,
        saturated_after_s: float = 10.0,
    ) -> None:
        """``probe_slots`` probes at once; ``/healthz`` says 503 once all are busy ``saturated_after_s``."""
        self.max_bytes = max_bytes
        self.url_ttl_s = url_ttl_s
        self.probe_slots = probe_slots
        self.probe_deadline_s = probe_deadline_s
        self.probe_read_timeout_s = probe_read_timeout_s
        self.saturated_after_s = saturated_after_s


BLOBS = web.AppKey("blobs", MultipartBlobStore)
AUTH = web.AppKey("auth", UploaderAuth)
TICKETS = web.AppKey("tickets", TicketSigner)
PRODUCER = web.AppKey("producer", AsyncEventProducer)
SETTINGS = web.AppKey("settings", UploadSettings)
PROBES = web.AppKey("probes", ProbeSlots)
COMPLETING = web.AppKey("completing", weakref.WeakValueDictionary[str, asyncio.Lock])


class _Refused(Exception):
    """An answer other than success; ``hang_up`` closes the connection instead of reading the rest."""

    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, *, hang_up: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.hang_up = status, message, headers or {}, hang_up


def create_upload_app(
    *,
    blobs: MultipartBlobStore,
    auth: UploaderAuth,
    tickets: TicketSigner,
    producer: AsyncEventProducer,
    settings: UploadSettings | None = None,
    cors_origins: Collection[str] = ("*",),
) -> web.Application:
    """``cors_origins``: the browser origins (the web app's) that may call the service and PUT parts."""
    app = web.Application(middlewares=[_json_errors], client_max_size=1024 * 1024)
    app[BLOBS], app[AUTH], app[TICKETS], app[PRODUCER] = blobs, auth, tickets, producer
    app[SETTINGS] = settings = settings or UploadSettings()
    app[PROBES] = ProbeSlots(settings.probe_slots, saturated_after_s=settings.saturated_after_s)
    app[COMPLETING] = weakref.WeakValueDictionary()
    app.router.add_post("/v1/uploads", create_upload)
    app.router.add_get("/v1/uploads/{upload_id}", upload_status)
    app.router.add_post("/v1/uploads/{upload_id}/parts", part_urls)
    app.router.add_post("/v1/uploads/{upload_id}/complete", complete_upload)
    app.router.add_delete("/v1/uploads/{upload_id}", abort_upload)
    if isinstance(blobs, LocalBlobStore):
        app.router.add_put(PARTS_PATH, put_part)
        app.router.add_get(OBJECTS_PATH, get_object)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    app.on_response_prepare.append(plain_headers)
    allow_cors(app, CorsPolicy(origins=cors_origins, methods=CORS_METHODS, exposed="ETag, Retry-After"))
    return app


async def openapi(request: web.Request) -> web.Response:
    return _json(openapi_document(local_store=isinstance(request.app[BLOBS], LocalBlobStore)))


# -- the client's API -------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    probes = request.app[PROBES]
    saturated = probes.saturation()
    if saturated is not None:
        raise _Refused(503, f"saturated: {saturated}", {"Retry-After": "10"})
    return _json({"status": "ok", "probes": probes.counts()})


async def create_upload(request: web.Request) -> web.Response:
    uploader = _uploader(request)
    body = await _body(request)
    settings = request.app[SETTINGS]
    size = body.get("size_bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _Refused(400, "size_bytes must be a positive integer")
    if size > settings.max_bytes:
        raise _Refused(413, f"the file is {size} bytes; the limit is {settings.max_bytes} bytes")
    content_type = str(body.get("content_type", ""))
    if not content_type.startswith(ACCEPTED_TYPES):
        raise _Refused(415, f"content_type must be a video type (video/*), got {content_type!r}")
    try:
        metadata = check_metadata(body)
    except InvalidMetadataError as exc:
        raise _Refused(400, str(exc)) from exc
    stored_metadata = metadata.to_json()
    video_id = f"vid-{uuid.uuid4().hex[:16]}"
    key = source_key(video_id)
    blobs = request.app[BLOBS]
    await asyncio.to_thread(blobs.put_bytes, metadata_key(video_id), stored_metadata)
    try:
        storage_id = await asyncio.to_thread(blobs.create_multipart, key, content_type=content_type)
    except BlobError:
        await asyncio.to_thread(blobs.delete, metadata_key(video_id))
        raise
    ticket = UploadTicket(
        video_id=video_id,
        uploader_id=uploader,
        key=key,
        storage_upload_id=storage_id,
        size_bytes=size,
        part_size=part_size_for(size),
        content_type=content_type,
        metadata_sha256=sha256_of(stored_metadata),
    )
    numbers = range(1, ticket.part_count + 1)
    return _json(
        {
            "upload_id": request.app[TICKETS].encode(ticket),
            "video_id": video_id,
            "part_size": ticket.part_size,
            "part_count": ticket.part_count,
            "parts": await _urls(request, ticket, numbers),
            "url_expires_in_s": settings.url_ttl_s,
        },
        status=201,
    )


async def upload_status(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    parts = await _open_parts(request, ticket, committed_ok=True)
    numbers = range(1, ticket.part_count + 1) if parts is None else sorted(p.number for p in parts)
    stored = ticket.size_bytes if parts is None else sum(p.size for p in parts)
    return _json(
        {
            "video_id": ticket.video_id,
            "state": "open" if parts is not None else "committed",  # committed: complete again to finish
            "size_bytes": ticket.size_bytes,
            "part_size": ticket.part_size,
            "part_count": ticket.part_count,
            "parts_stored": list(numbers),
            "bytes_stored": stored,
            "progress": round(stored / ticket.size_bytes, 4),
        }
    )


async def part_urls(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    numbers = (await _body(request)).get("numbers")
    if not isinstance(numbers, list) or not numbers or len(numbers) > MAX_PARTS:
        raise _Refused(400, "numbers must be a non-empty list of part numbers")
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= ticket.part_count:
            raise _Refused(400, f"part numbers go from 1 to {ticket.part_count}, got {n!r}")
    await _open_parts(request, ticket)  # URLs for an upload that cannot take parts would only fail later
    return _json({"parts": await _urls(request, ticket, numbers)})


async def complete_upload(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    completing = request.app[COMPLETING]
    lock = completing.setdefault(ticket.video_id, asyncio.Lock())
    async with lock:  # a retry arriving while the first call still runs waits for its answer
        return await _complete(request, ticket)


async def _complete(request: web.Request, ticket: UploadTicket) -> web.Response:
    blobs = request.app[BLOBS]
    receipt = await _receipt(request, ticket)
    if receipt is not None:
        return _json(receipt)  # completed before: the same answer, nothing published again
    metadata = await _metadata(request, ticket)
    parts = await _open_parts(request, ticket, committed_ok=True)
    if parts is not None:
        _check_parts(ticket, parts)
        await asyncio.to_thread(blobs.complete_multipart, ticket.key, ticket.storage_upload_id, parts)
    probed = await _probe(request, ticket)
    event = UploadComplete(
        event_id=str(uuid.uuid5(_EVENT_IDS, ticket.video_id)),  # a retry's event is the same event
        occurred_at=datetime.now(UTC),
        video_id=ticket.video_id,
        uploader_id=ticket.uploader_id,
        object_key=ticket.key,
        size_bytes=ticket.size_bytes,
        content_type=ticket.content_type,
        title=metadata.title,
        description=metadata.description,
        tags=metadata.tags,
        visibility=metadata.visibility,
        probe=_media_probe(probed),
    )
    try:
        await request.app[PRODUCER].send(
            UPLOAD_COMPLETE_TOPIC, codec.encode(event), key=ticket.video_id.encode()
        )
    except LogError as exc:
        log.warning("upload %s: upload-complete not published: %s", ticket.video_id, exc)
        raise _Refused(
            503, "the upload is stored but could not be announced yet: try the complete again", _retry()
        ) from exc
    answer = {"video_id": ticket.video_id, "status": "uploaded", "probe": _probe_json(probed)}
    await asyncio.to_thread(blobs.put_bytes, receipt_key(ticket.video_id), json.dumps(answer).encode())
    await asyncio.to_thread(blobs.delete, metadata_key(ticket.video_id))
    return _json(answer)


async def abort_upload(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    blobs = request.app[BLOBS]
    parts = await _open_parts(request, ticket, committed_ok=True)
    if parts is not None:
        try:
            await asyncio.to_thread(blobs.abort_multipart, ticket.key, ticket.storage_upload_id)
        except BlobNotFoundError as exc:  # finished between the two calls
            raise _Refused(410, _GONE) from exc
    else:  # joined but never announced: the uploader gives up on it, so nothing is kept
        await asyncio.to_thread(blobs.delete, ticket.key)
    await asyncio.to_thread(blobs.delete, metadata_key(ticket.video_id))
    return web.Response(status=204)


# -- the local store's S3-like endpoints ------------------------------------------------------------


async def put_part(request: web.Request) -> web.Response:
    """A part of exactly its signed length, streamed to disk; a longer body is cut off as it arrives."""
    store = _local(request)
    query = dict(request.query)
    _verify(store, "PUT", PARTS_PATH, query)
    part, length = query.get("part", ""), query.get("length", "")
    if not part.isdigit() or not length.isdigit():
        raise _Refused(400, "part and length must be numbers")
    expected, declared = int(length), request.content_length
    if declared is not None and declared > expected:  # refused on the header: not a byte of it is read
        raise _Refused(413, _part_size(part, expected, f"{declared} are declared"), hang_up=True)
    try:
        writer = await asyncio.to_thread(
            store.open_part, query["key"], query["upload_id"], int(part), size=expected
        )
    except BlobNotFoundError as exc:
        raise _Refused(410, _GONE, hang_up=True) from exc
    try:
        async for chunk in request.content.iter_chunked(1024 * 1024):  # streamed: parts can be large
            await asyncio.to_thread(writer.write, chunk)
        stored = await asyncio.to_thread(writer.close)
    except PartTooLargeError as exc:
        raise _Refused(413, _part_size(part, expected, "more were sent"), hang_up=True) from exc
    except PartTooShortError as exc:
        raise _Refused(400, _part_size(part, expected, "fewer were sent")) from exc
    except BaseException:
        writer.discard()
        raise
    return web.Response(status=200, headers={"ETag": stored.etag})


async def get_object(request: web.Request) -> web.StreamResponse:
    store = _local(request)
    query = dict(request.query)
    _verify(store, "GET", OBJECTS_PATH, query)
    path = store.path_of(query.get("key", ""))
    if not path.is_file():
        raise _Refused(404, "no such object")
    return web.FileResponse(path)  # answers Range requests, as S3 does


# -- plumbing -----------------------------------------------------------------------------------------

_GONE = "this upload is no longer open (aborted, or refused at complete): start a new one"


def _uploader(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise _Refused(401, "a bearer token is required: Authorization: Bearer <token>", _challenge())
    try:
        return request.app[AUTH].verify(header.removeprefix("Bearer ").strip())
    except InvalidUploaderTokenError as exc:
        raise _Refused(401, str(exc), _challenge()) from exc


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="tubestream-upload"'}


def _retry() -> dict[str, str]:
    return {"Retry-After": "5"}


def _ticket(request: web.Request) -> UploadTicket:
    uploader = _uploader(request)
    try:
        ticket = request.app[TICKETS].decode(request.match_info["upload_id"])
    except InvalidTicketError as exc:
        raise _Refused(404, str(exc)) from exc
    if ticket.uploader_id != uploader:
        raise _Refused(403, "this upload belongs to another uploader")
    return ticket


async def _open_parts(
    request: web.Request, ticket: UploadTicket, *, committed_ok: bool = False
) -> list[StoredPart] | None:
    """The stored parts of an open upload; None for one joined but not yet announced (``committed_ok``).

    410 for anything else: completed (announced), aborted, or refused at complete.
    """
    blobs = request.app[BLOBS]
    try:
        return await asyncio.to_thread(blobs.list_parts, ticket.key, ticket.storage_upload_id)
    except BlobNotFoundError:
        pass
    receipt = await _receipt(request, ticket)
    if receipt is not None:
        raise _Refused(410, f"this upload was completed (video {ticket.video_id}): it takes no more calls")
    if committed_ok and await asyncio.to_thread(blobs.exists, ticket.key):
        return None
    raise _Refused(410, _GONE)


def _check_parts(ticket: UploadTicket, parts: Iterable[StoredPart]) -> None:
    by_number = {p.number: p for p in parts}
    missing = [n for n in range(1, ticket.part_count + 1) if n not in by_number]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise _Refused(409, f"{len(missing)} part(s) not stored yet: {shown}")
    for number, part in sorted(by_number.items()):
        if number > ticket.part_count:
            raise _Refused(400, f"part {number} is beyond the {ticket.part_count} parts of this upload")
        if part.size != ticket.expected_size(number):
            raise _Refused(
                400, f"part {number} is {part.size} bytes; it must be {ticket.expected_size(number)} bytes"
            )


async def _receipt(request: web.Request, ticket: UploadTicket) -> dict[str, Any] | None:
    """The answer of this upload's successful complete, if there was one."""
    try:
        data = await asyncio.to_thread(request.app[BLOBS].read_bytes, receipt_key(ticket.video_id))
    except BlobNotFoundError:
        return None
    answer: dict[str, Any] = json.loads(data)
    return answer


async def _metadata(request: web.Request, ticket: UploadTicket) -> VideoMetadata:
    try:
        data = await asyncio.to_thread(request.app[BLOBS].read_bytes, metadata_key(ticket.video_id))
    except BlobNotFoundError as exc:  # aborted or refused: both delete it
        raise _Refused(410, _GONE) from exc
    if sha256_of(data) != ticket.metadata_sha256:
        raise _Refused(409, "this upload's stored metadata is not what it was created with")
    try:
        return VideoMetadata.from_json(data)
    except InvalidMetadataError as exc:  # before the commit: nothing is joined, the upload can be aborted
        raise _Refused(400, str(exc)) from exc


async def _probe(request: web.Request, ticket: UploadTicket) -> ProbedSource:
    """The joined file, probed in a slot; refused (and deleted with its metadata) if it is no video."""
    blobs, settings = request.app[BLOBS], request.app[SETTINGS]
    target = await asyncio.to_thread(probe_target, blobs, ticket.key, url_ttl_s=600)
    try:
        async with request.app[PROBES].slot():
            return await probe_source_async(
                target, rw_timeout_s=settings.probe_read_timeout_s, deadline_s=settings.probe_deadline_s
            )
    except SourceError as exc:
        await asyncio.to_thread(blobs.delete, ticket.key)
        await asyncio.to_thread(blobs.delete, metadata_key(ticket.video_id))
        raise _Refused(422, f"not a playable video: {exc.reason}") from exc
    except (DeadlineError, FfmpegError) as exc:  # the file is kept: a retried complete probes it again
        log.warning("upload %s: probe failed: %s", ticket.video_id, exc)
        message = f"the probe of the upload did not finish ({exc}): try the complete again"
        raise _Refused(503, message, _retry()) from exc


async def _urls(request: web.Request, ticket: UploadTicket, numbers: Iterable[int]) -> list[dict[str, Any]]:
    blobs, ttl = request.app[BLOBS], request.app[SETTINGS].url_ttl_s

    def sign() -> list[dict[str, Any]]:
        return [
            {
                "number": n,
                "url": blobs.part_url(
                    ticket.key, ticket.storage_upload_id, n, size=ticket.expected_size(n), expires_s=ttl
                ),
            }
            for n in numbers
        ]

    return await asyncio.to_thread(sign)


def _part_size(part: str, expected: int, what: str) -> str:
    return f"part {part} must be exactly {expected} bytes (its URL says so); {what}"


def _local(request: web.Request) -> LocalBlobStore:
    store = request.app[BLOBS]
    assert isinstance(store, LocalBlobStore)
    return store


def _verify(store: LocalBlobStore, method: str, path: str, query: dict[str, str]) -> None:
    assert store.signer is not None
    try:
        store.signer.verify(method, path, query)
    except (TamperedUrlError, ExpiredUrlError) as exc:
        raise _Refused(403, str(exc)) from exc


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json(loads=json.loads)
    except (ValueError, UnicodeDecodeError) as exc:  # ValueError: JSON's own, and a 5000-digit number's
        raise _Refused(400, f"the body is not JSON: {str(exc)[:200]}") from exc
    except RecursionError as exc:
        raise _Refused(400, "the body is not JSON this service reads: nested too deeply") from exc
    if not isinstance(body, dict):
        raise _Refused(400, "the body must be a JSON object")
    return body


def _media_probe(p: ProbedSource) -> MediaProbe:
    return MediaProbe(
        duration_ms=round(p.duration_s * 1000),
        width=p.width,
        height=p.height,
        frame_rate=p.frame_rate,
        video_codec=p.video_codec,
        audio_codec=p.audio_codec,
        bit_rate=p.bit_rate,
        container=p.container,
    )


def _probe_json(p: ProbedSource) -> dict[str, Any]:
    return {
        "duration_ms": round(p.duration_s * 1000),
        "width": p.width,
        "height": p.height,
        "frame_rate": p.frame_rate,
        "video_codec": p.video_codec,
        "audio_codec": p.audio_codec,
    }


def _json(body: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Refused as refused:
        body = {"error": {"status": refused.status, "message": refused.message}}
        response = web.json_response(body, status=refused.status, headers=refused.headers)
        return await _hang_up(request, response) if refused.hang_up else response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": {"status": exc.status, "message": f"{exc.reason}: {request.method} {request.path}"}}
        return web.json_response(body, status=exc.status)
    except BlobError as exc:
        log.warning("storage error on %s %s: %s", request.method, request.path, exc)
        return web.json_response({"error": {"status": 503, "message": f"storage: {exc}"}}, status=503)
    except Exception:  # a bug: the client gets the JSON shape and no detail, the log gets the traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        body = {"error": {"status": 500, "message": "internal error; the server log has the details"}}
        return web.json_response(body, status=500)


async def _hang_up(request: web.Request, response: web.Response) -> web.Response:
    """Answer, then close the connection: the rest of a refused body is never read, not even to discard."""
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # no lingering read of what the client still sends
    return response
