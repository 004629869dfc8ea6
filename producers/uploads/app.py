"""The upload service: pre-signed multipart uploads straight to object storage, resumable, then probed.

    POST   /v1/uploads                  create: metadata + size → upload id, part size, part URLs
    GET    /v1/uploads/{id}             which parts storage has, bytes stored (resume, progress)
    POST   /v1/uploads/{id}/parts       fresh URLs for some parts (``{"numbers": [3, 4]}``)
    POST   /v1/uploads/{id}/complete    check the parts, complete, probe, publish ``upload-complete``
    DELETE /v1/uploads/{id}             abort

Media never passes through this service, except with the local blob store,
whose pre-signed URLs point at ``/v1/blobs/...`` here (HMAC-signed, same
protocol as S3: PUT a part, get its ``ETag``; GET the object with ranges).
Errors are JSON ``{"error": {"status", "message"}}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from blobs.errors import BlobError, BlobNotFoundError
from blobs.local import OBJECTS_PATH, PARTS_PATH, LocalBlobStore
from blobs.multipart import MultipartBlobStore
from blobs.signed_urls import ExpiredUrlError, TamperedUrlError
from producers.uploads.auth import InvalidUploaderTokenError, UploaderAuth
from producers.uploads.tickets import MAX_PARTS, InvalidTicketError, TicketSigner, UploadTicket, part_size_for
from schemas import codec
from schemas.upload_complete import MediaProbe, UploadComplete
from topics.async_producer import AsyncEventProducer
from topics.catalogue import UPLOAD_COMPLETE_TOPIC
from transcoder.errors import SourceError
from transcoder.probe import ProbedSource, probe_source

__all__ = ["DEFAULT_MAX_BYTES", "UploadSettings", "create_upload_app"]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024**4  # S3's largest object: 5 TiB
URL_TTL_S = 6 * 3600
MAX_TITLE = 200
ACCEPTED_TYPES = ("video/",)


class UploadSettings:
    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, url_ttl_s: int = URL_TTL_S) -> None:
        self.max_bytes = max_bytes
        self.url_ttl_s = url_ttl_s


BLOBS = web.AppKey("blobs", MultipartBlobStore)
AUTH = web.AppKey("auth", UploaderAuth)
TICKETS = web.AppKey("tickets", TicketSigner)
PRODUCER = web.AppKey("producer", AsyncEventProducer)
SETTINGS = web.AppKey("settings", UploadSettings)


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def create_upload_app(
    *,
    blobs: MultipartBlobStore,
    auth: UploaderAuth,
    tickets: TicketSigner,
    producer: AsyncEventProducer,
    settings: UploadSettings | None = None,
) -> web.Application:
    app = web.Application(middlewares=[_json_errors], client_max_size=1024 * 1024)
    app[BLOBS], app[AUTH], app[TICKETS], app[PRODUCER] = blobs, auth, tickets, producer
    app[SETTINGS] = settings or UploadSettings()
    app.router.add_post("/v1/uploads", create_upload)
    app.router.add_get("/v1/uploads/{upload_id}", upload_status)
    app.router.add_post("/v1/uploads/{upload_id}/parts", part_urls)
    app.router.add_post("/v1/uploads/{upload_id}/complete", complete_upload)
    app.router.add_delete("/v1/uploads/{upload_id}", abort_upload)
    if isinstance(blobs, LocalBlobStore):
        app.router.add_put(PARTS_PATH, put_part)
        app.router.add_get(OBJECTS_PATH, get_object)
    app.router.add_get("/healthz", healthz)
    return app


# -- the client's API -------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


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
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise _Refused(400, f"title must be a non-empty string of at most {MAX_TITLE} characters")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise _Refused(400, "tags must be a list of strings")
    part_size = part_size_for(size)
    video_id = f"vid-{uuid.uuid4().hex[:16]}"
    key = f"uploads/{video_id}/source"
    blobs = request.app[BLOBS]
    storage_id = await asyncio.to_thread(blobs.create_multipart, key, content_type=content_type)
    ticket = UploadTicket(
        video_id=video_id,
        uploader_id=uploader,
        key=key,
        storage_upload_id=storage_id,
        size_bytes=size,
        part_size=part_size,
        content_type=content_type,
        title=title.strip(),
        description=str(body.get("description", "")),
        tags=tuple(tags),
    )
    upload_id = request.app[TICKETS].encode(ticket)
    numbers = range(1, ticket.part_count + 1)
    return _json(
        {
            "upload_id": upload_id,
            "video_id": video_id,
            "part_size": part_size,
            "part_count": ticket.part_count,
            "parts": await _urls(request, ticket, numbers),
            "url_expires_in_s": settings.url_ttl_s,
        },
        status=201,
    )


async def upload_status(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    parts = await _stored_parts(request, ticket)
    stored = sum(p.size for p in parts)
    return _json(
        {
            "video_id": ticket.video_id,
            "size_bytes": ticket.size_bytes,
            "part_size": ticket.part_size,
            "part_count": ticket.part_count,
            "parts_stored": sorted(p.number for p in parts),
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
    return _json({"parts": await _urls(request, ticket, numbers)})


async def complete_upload(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    blobs = request.app[BLOBS]
    parts = {p.number: p for p in await _stored_parts(request, ticket)}
    missing = [n for n in range(1, ticket.part_count + 1) if n not in parts]
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise _Refused(409, f"{len(missing)} part(s) not stored yet: {shown}")
    for number, part in sorted(parts.items()):
        if number > ticket.part_count:
            raise _Refused(400, f"part {number} is beyond the {ticket.part_count} parts of this upload")
        if part.size != ticket.expected_size(number):
            raise _Refused(
                400, f"part {number} is {part.size} bytes; it must be {ticket.expected_size(number)} bytes"
            )
    await asyncio.to_thread(
        blobs.complete_multipart, ticket.key, ticket.storage_upload_id, list(parts.values())
    )
    url = await asyncio.to_thread(blobs.get_url, ticket.key, expires_s=600)
    try:
        probed = await asyncio.to_thread(probe_source, url)  # ffprobe reads through the URL, with ranges
    except SourceError as exc:
        await asyncio.to_thread(blobs.delete, ticket.key)
        raise _Refused(422, f"not a playable video: {exc}") from exc
    event = UploadComplete(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        video_id=ticket.video_id,
        uploader_id=ticket.uploader_id,
        object_key=ticket.key,
        size_bytes=ticket.size_bytes,
        content_type=ticket.content_type,
        title=ticket.title,
        description=ticket.description,
        tags=ticket.tags,
        probe=_media_probe(probed),
    )
    delivered = request.app[PRODUCER].send(
        UPLOAD_COMPLETE_TOPIC, codec.encode(event), key=ticket.video_id.encode()
    )
    await delivered
    return _json({"video_id": ticket.video_id, "status": "uploaded", "probe": _probe_json(probed)})


async def abort_upload(request: web.Request) -> web.Response:
    ticket = _ticket(request)
    await asyncio.to_thread(request.app[BLOBS].abort_multipart, ticket.key, ticket.storage_upload_id)
    return web.Response(status=204)


# -- the local store's S3-like endpoints ------------------------------------------------------------


async def put_part(request: web.Request) -> web.Response:
    store = _local(request)
    query = dict(request.query)
    _verify(store, "PUT", PARTS_PATH, query)
    part = query.get("part", "")
    if not part.isdigit():
        raise _Refused(400, "part must be a number")
    writer = await asyncio.to_thread(store.open_part, query["key"], query["upload_id"], int(part))
    try:
        async for chunk in request.content.iter_chunked(1024 * 1024):  # streamed: parts can be large
            await asyncio.to_thread(writer.write, chunk)
    except BaseException:
        writer.discard()
        raise
    stored = await asyncio.to_thread(writer.close)
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


def _ticket(request: web.Request) -> UploadTicket:
    uploader = _uploader(request)
    try:
        ticket = request.app[TICKETS].decode(request.match_info["upload_id"])
    except InvalidTicketError as exc:
        raise _Refused(404, str(exc)) from exc
    if ticket.uploader_id != uploader:
        raise _Refused(403, "this upload belongs to another uploader")
    return ticket


async def _stored_parts(request: web.Request, ticket: UploadTicket) -> list[Any]:
    try:
        return await asyncio.to_thread(request.app[BLOBS].list_parts, ticket.key, ticket.storage_upload_id)
    except BlobNotFoundError as exc:
        raise _Refused(410, f"this upload is no longer open (completed or aborted): {exc}") from exc


async def _urls(request: web.Request, ticket: UploadTicket, numbers: Any) -> list[dict[str, Any]]:
    blobs, ttl = request.app[BLOBS], request.app[SETTINGS].url_ttl_s

    def sign() -> list[dict[str, Any]]:
        return [
            {"number": n, "url": blobs.part_url(ticket.key, ticket.storage_upload_id, n, expires_s=ttl)}
            for n in numbers
        ]

    return await asyncio.to_thread(sign)


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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Refused(400, f"the body is not JSON: {exc}") from exc
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
        return web.json_response(body, status=refused.status, headers=refused.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        body = {"error": {"status": exc.status, "message": f"{exc.reason}: {request.method} {request.path}"}}
        return web.json_response(body, status=exc.status)
    except BlobError as exc:
        log.warning("storage error on %s %s: %s", request.method, request.path, exc)
        return web.json_response({"error": {"status": 503, "message": f"storage: {exc}"}}, status=503)
