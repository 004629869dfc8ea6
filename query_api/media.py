"""``GET /media/{key}``: the platform's renditions, manifests and thumbnails, for players.

From the local blob store the file is served here (with HTTP ranges and the
right content type, so hls.js, dash.js and Safari play it); from S3 the
player is redirected to a short-lived pre-signed URL and the bytes never
pass through the API. Only what the transcoder publishes (``videos/...``)
is served: uploads' sources stay private.
"""

from __future__ import annotations

import asyncio
import mimetypes

from aiohttp import web

from blobs.errors import InvalidKeyError
from blobs.local import LocalBlobStore
from query_api.app_keys import MEDIA
from query_api.errors import NotFoundError

__all__ = ["cache_control", "media_routes"]

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
_MANIFESTS = (".m3u8", ".mpd")

media_routes = web.RouteTableDef()


def cache_control(key: str) -> str:
    return MANIFEST if key.endswith(_MANIFESTS) else IMMUTABLE


@media_routes.get("/media/{key:.+}")
async def media(request: web.Request) -> web.StreamResponse:
    store = request.app.get(MEDIA)
    key = request.match_info["key"]
    if store is None or not key.startswith(PUBLIC_PREFIX):
        raise NotFoundError(f"no media {key!r}")
    try:
        if isinstance(store, LocalBlobStore):
            path = store.path_of(key)
            if not path.is_file():
                raise NotFoundError(f"no media {key!r}")
            response = web.FileResponse(path, headers={"Cache-Control": cache_control(key)})
            content_type, _ = mimetypes.guess_type(path.name)
            if content_type:
                response.content_type = content_type
            return response
        if not await asyncio.to_thread(store.exists, key):
            raise NotFoundError(f"no media {key!r}")
        url = await asyncio.to_thread(store.get_url, key, expires_s=REDIRECT_TTL_S)
    except InvalidKeyError as exc:
        raise NotFoundError(f"no media {key!r}") from exc
    raise web.HTTPFound(url)
