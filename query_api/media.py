"""``GET /media/{key}``: the platform's renditions, manifests and thumbnails, for players.

From the local blob store the file is served here (with HTTP ranges and the
right content type, so hls.js, dash.js and Safari play it); from S3 the
player is redirected to a short-lived pre-signed URL and the bytes never
pass through the API, except for the files that name others by relative URL
(playlists, the MPD, the storyboard's WebVTT): a player resolves those against
the URL it finally read, and against a pre-signed URL of a private bucket
the names would lose the signature and be refused. Those few kilobytes are
read and answered here, so what they name resolves under ``/media/`` (and
its signed prefix) and gets a redirect of its own. Only what the transcoder
publishes (``videos/...``) is served: uploads' sources stay private.

An unlisted or private video's files are served only under a signed prefix
(``/media/s/{expires}/{signature}/videos/{video}/...``, ``query_api.signing``):
the signature is checked without reading any store (it is the capability the
video resource handed out), and its answers are ``Cache-Control: private`` so a
shared cache keeps them from anyone else. An unsigned request reads the video's
visibility from the catalog and is answered 404 unless the video is public.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time

from aiohttp import web

from blobs.errors import BlobNotFoundError, InvalidKeyError
from blobs.local import LocalBlobStore
from query_api.app_keys import CATALOG, MEDIA, MEDIA_SIGNER
from query_api.errors import ForbiddenError, NotFoundError
from query_api.signing import SignatureError, video_of_key
from views.catalog import Visibility

__all__ = ["SIGNED_IMMUTABLE", "SIGNED_MANIFEST", "cache_control", "media_routes"]

PUBLIC_PREFIX = "videos/"
REDIRECT_TTL_S = 3600

mimetypes.add_type("application/vnd.apple.mpegurl", ".m3u8")
mimetypes.add_type("application/dash+xml", ".mpd")
mimetypes.add_type("video/iso.segment", ".m4s")
mimetypes.add_type("text/vtt", ".vtt")

# A job's files live under videos/{video}/{job}/ and are never rewritten with other bytes (a redelivered
# job writes the same ones), so segments and images are cached for good; manifests briefly, because the
# ladder a master lists can grow while a job publishes its renditions.
IMMUTABLE = "public, max-age=31536000, immutable"
MANIFEST = "public, max-age=5"
# Signed answers: the player's own cache may keep them as long, a shared cache (a CDN, a proxy) may not
SIGNED_IMMUTABLE = "private, max-age=31536000, immutable"
SIGNED_MANIFEST = "private, max-age=5"
_MANIFESTS = (".m3u8", ".mpd")
_NAMING_OTHERS = (".m3u8", ".mpd", ".vtt")  # files whose relative URLs must resolve under /media/

media_routes = web.RouteTableDef()


def cache_control(key: str, *, signed: bool = False) -> str:
    if signed:
        return SIGNED_MANIFEST if key.endswith(_MANIFESTS) else SIGNED_IMMUTABLE
    return MANIFEST if key.endswith(_MANIFESTS) else IMMUTABLE


# registered before the plain route, which would match these paths too
@media_routes.get("/media/s/{expires}/{signature}/{key:.+}")
async def signed_media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    try:
        request.app[MEDIA_SIGNER].verify(
            expires=request.match_info["expires"],
            signature=request.match_info["signature"],
            key=key,
            now=time.time(),
        )
    except SignatureError as exc:
        raise ForbiddenError(str(exc)) from exc
    except ValueError as exc:
        raise NotFoundError(f"no media {key!r}") from exc
    return await _serve(request, key, signed=True)


@media_routes.get("/media/{key:.+}")
async def media(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    try:
        video_id = video_of_key(key)
    except ValueError as exc:
        raise NotFoundError(f"no media {key!r}") from exc
    if await request.app[CATALOG].visibility_of(video_id) is not Visibility.PUBLIC:  # unknown ones too
        raise NotFoundError(f"no media {key!r}; an unlisted video's files are under its signed URLs")
    return await _serve(request, key, signed=False)


async def _serve(request: web.Request, key: str, *, signed: bool) -> web.StreamResponse:
    store = request.app.get(MEDIA)
    if store is None or not key.startswith(PUBLIC_PREFIX):
        raise NotFoundError(f"no media {key!r}")
    try:
        if isinstance(store, LocalBlobStore):
            path = store.path_of(key)
            if not path.is_file():
                raise NotFoundError(f"no media {key!r}")
            response = web.FileResponse(path, headers={"Cache-Control": cache_control(key, signed=signed)})
            content_type, _ = mimetypes.guess_type(path.name)
            if content_type:
                response.content_type = content_type
            return response
        if key.endswith(_NAMING_OTHERS):
            body = await asyncio.to_thread(store.read_bytes, key)
            content_type, _ = mimetypes.guess_type(key)
            return web.Response(
                body=body,
                content_type=content_type or "application/octet-stream",
                headers={"Cache-Control": cache_control(key, signed=signed)},
            )
        if not await asyncio.to_thread(store.exists, key):
            raise NotFoundError(f"no media {key!r}")
        url = await asyncio.to_thread(store.get_url, key, expires_s=REDIRECT_TTL_S)
    except (InvalidKeyError, BlobNotFoundError) as exc:
        raise NotFoundError(f"no media {key!r}") from exc
    raise web.HTTPFound(url)
