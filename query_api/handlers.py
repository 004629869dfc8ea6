"""Route handlers: parse and check parameters, ask the catalog, shape the answer.

The video routes answer with each video's resource encoded once per version of
its row (``query_api.encoded``): a read costs the store's lookup and a
comparison, not a build and an encoding of the document.
"""

from __future__ import annotations

from aiohttp import web

from query_api.app_keys import CATALOG, ENCODED_VIDEOS, PLAYBACK, SEARCH
from query_api.cursor import decode_cursor, encode_cursor
from query_api.encoded import dumps, json_answer
from query_api.errors import NotFoundError, error_response
from query_api.openapi import openapi_document
from query_api.page import page_html
from query_api.params import bounded_int, path_id
from query_api.viewers import may_see
from views.catalog import MAX_PAGE_SIZE, CatalogReader, Visibility
from views.errors import ViewStoreError
from views.playback import PlaybackView
from views.search.model import SearchStore

__all__ = ["DEFAULT_PAGE_SIZE", "routes"]

DEFAULT_PAGE_SIZE = 20

routes = web.RouteTableDef()


@routes.get("/v1/videos/{video_id}")
async def get_video(request: web.Request) -> web.Response:
    video_id = path_id(request.match_info["video_id"], "video id")
    video = await request.app[CATALOG].get(video_id)
    if video is None or not may_see(request, video):  # a private video is not there for others: no leak
        raise NotFoundError(f"no video with id {video_id!r}")
    response = json_answer(request.app[ENCODED_VIDEOS](video))
    if video.visibility is not Visibility.PUBLIC:  # signed URLs: a shared cache must not hand them on
        response.headers["Cache-Control"] = "private, no-cache"
    return response


@routes.get("/v1/videos")
async def list_videos(request: web.Request) -> web.Response:
    limit = bounded_int(
        request.query.get("limit"), name="limit", default=DEFAULT_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE
    )
    raw_cursor = request.query.get("cursor")
    after = decode_cursor(raw_cursor) if raw_cursor else None
    page = await request.app[CATALOG].list_newest(limit=limit, after=after)
    encoded = request.app[ENCODED_VIDEOS]
    next_cursor = encode_cursor(page.next_cursor) if page.next_cursor else None
    # {"videos": [...], "next_cursor": ...}, spliced from each video's bytes
    videos = b",".join(encoded(v) for v in page.videos)
    return json_answer(b'{"videos":[' + videos + b'],"next_cursor":' + dumps(next_cursor) + b"}")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    stores: dict[str, CatalogReader | PlaybackView | SearchStore | None] = {
        "catalog": request.app[CATALOG],
        "playback": request.app.get(PLAYBACK),
        "search": request.app.get(SEARCH),
    }
    checks = {name: store for name, store in stores.items() if store is not None}
    for name, store in checks.items():
        try:
            await store.check()
        except ViewStoreError as exc:
            return error_response(503, f"{name} store unavailable: {exc}")
    return web.json_response({"status": "ok", "checks": dict.fromkeys(checks, "ok")})


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    return web.Response(text=page_html(), content_type="text/html")
