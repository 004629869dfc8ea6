"""Recommendation routes: ``GET /v1/users/{viewer}/recommendations`` and ``/v1/videos/{id}/related``.

``viewer`` is the viewer's *pseudonym*, the one the collector writes into
playback events (a keyed HMAC of the player token's ``sub``): the raw id
never reaches the API, which holds no pseudonym key. Whoever issues a
page its player token knows the key (``TUBESTREAM_PSEUDONYM_KEY``) and hands
the page its pseudonym with the token.

A list for a viewer folds in their latest interactions from the view at
request time (a watch a second old counts, no retrain needed), leaves out
what they watched and every video not ``ready`` or not public in the catalog
(an unlisted or private video is never recommended, nor related), and keeps at
most ``PER_UPLOADER`` videos of one uploader. A viewer with no interactions,
or only with videos the model has not seen, gets ``source: "popular"``: the
model's most popular videos and the newest ready ones, in turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web

from query_api.app_keys import CATALOG, MEDIA_BASE_URL, RECS
from query_api.errors import ApiError, NotFoundError
from query_api.params import bounded_int, path_id
from query_api.recs_models import RecsService
from query_api.resources import video_resource
from query_api.viewers import may_see
from stream_apps.recs.model import RecsModel
from stream_apps.recs.serving import (
    blend,
    content_similarity,
    content_tokens,
    diversify,
    history_of,
    popular_and_fresh,
)
from views.catalog import MAX_PAGE_SIZE, CatalogReader, VideoRecord, VideoStatus, Visibility

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "recs_routes"]

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
NEWEST_PAGES = 5  # related videos by content are looked for among the newest 500 videos

recs_routes = web.RouteTableDef()


class _Unavailable(ApiError):
    status = 503


@recs_routes.get("/v1/users/{viewer}/recommendations")
async def recommendations(request: web.Request) -> web.Response:
    viewer = path_id(request.match_info["viewer"], "viewer")
    limit = bounded_int(
        request.query.get("limit"), name="limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT
    )
    service = _service(request)
    catalog = request.app[CATALOG]
    model = service.models.current  # read once: a swap mid-request cannot mix two models
    history = history_of(await service.interactions.interactions_of(viewer))
    pool = 4 * limit + 20
    scores: dict[str, float] = {}
    if model is not None and history and model.fold_in(history).any():
        scores = {s.item_id: s.score for s in model.recommend(history=history, n=pool)}
    newest = await _newest_ready(catalog, pages=1)
    ranked = [*scores, *popular_and_fresh(_popular(model, pool), [v.video_id for v in newest])]
    records = await _ready(catalog, (v for v in ranked if v not in history), known=newest)
    chosen = diversify(
        [v for v in dict.fromkeys(ranked) if v in records and v not in history],
        {v: r.uploader_id for v, r in records.items()},
        n=limit,
    )
    base = request.app[MEDIA_BASE_URL]
    return web.json_response(
        {
            "viewer": viewer,
            "source": "personal" if scores else "popular",
            "model_version": service.models.version,
            "videos": [
                {**video_resource(records[v], media_base_url=base), "score": scores.get(v)} for v in chosen
            ],
        }
    )


@recs_routes.get("/v1/videos/{video_id}/related")
async def related(request: web.Request) -> web.Response:
    video_id = path_id(request.match_info["video_id"], "video id")
    limit = bounded_int(
        request.query.get("limit"), name="limit", default=DEFAULT_LIMIT, low=1, high=MAX_LIMIT
    )
    service = _service(request)
    catalog = request.app[CATALOG]
    video = await catalog.get(video_id)
    if video is None or not may_see(request, video):
        raise NotFoundError(f"no video with id {video_id!r}")
    model = service.models.current
    pool = 4 * limit + 20
    item_item: dict[str, float] = {}
    if model is not None and video_id in model.item_index:
        item_item = {s.item_id: s.score for s in model.similar_items(video_id, n=pool)}
    newest = await _newest_ready(catalog, pages=NEWEST_PAGES)
    records = await _ready(catalog, item_item, known=newest)
    records.pop(video_id, None)
    item_item = {v: s for v, s in item_item.items() if v in records}
    mine = content_tokens(video.title, video.tags)
    content = {v: content_similarity(mine, content_tokens(r.title, r.tags)) for v, r in records.items()}
    scored = blend(item_item, content)
    fallback = popular_and_fresh(_popular(model, pool), [v.video_id for v in newest])
    ranked = dict.fromkeys([*(v for v, _ in scored), *(v for v in fallback if v in records)])
    chosen = diversify(ranked, {v: r.uploader_id for v, r in records.items()}, n=limit)
    scores = dict(scored)
    base = request.app[MEDIA_BASE_URL]
    return web.json_response(
        {
            "video_id": video_id,
            "model_version": service.models.version,
            "videos": [
                {**video_resource(records[v], media_base_url=base), "score": scores.get(v, 0.0)}
                for v in chosen
            ],
        }
    )


def _service(request: web.Request) -> RecsService:
    service = request.app.get(RECS)
    if service is None:
        raise _Unavailable("recommendations are not configured on this server")
    return service


def _popular(model: RecsModel | None, n: int) -> list[str]:
    return [] if model is None else [s.item_id for s in model.recommend(history={}, n=n)]


async def _newest_ready(catalog: CatalogReader, *, pages: int) -> list[VideoRecord]:
    found: list[VideoRecord] = []
    after = None
    for _ in range(pages):
        page = await catalog.list_newest(limit=MAX_PAGE_SIZE, after=after)
        found += [v for v in page.videos if v.status is VideoStatus.READY]
        after = page.next_cursor
        if after is None:
            break
    return found


async def _ready(
    catalog: CatalogReader, videos: Iterable[str], *, known: Iterable[VideoRecord]
) -> dict[str, VideoRecord]:
    """The records of ``videos`` and ``known`` that are ready; one read per video not already known."""
    records = {v.video_id: v for v in known}
    missing = [v for v in dict.fromkeys(videos) if v not in records]
    fetched = await asyncio.gather(*(catalog.get(v) for v in missing))
    records.update({r.video_id: r for r in fetched if r is not None})
    return {
        v: r
        for v, r in records.items()
        if r.status is VideoStatus.READY and r.visibility is Visibility.PUBLIC
    }
