"""Search routes: ``GET /v1/search`` (full text, filters, facets, pages) and ``/v1/search/suggest``.

Parameters are parsed strictly, as everywhere in the API: an unknown
parameter, an empty or oversized query, or a cursor made for another query is a
400 that says which. Hits are the catalog's own video resources, so a search
result reads like ``GET /v1/videos/{id}``, plus the score and highlights.
An unreachable search store is a 503 (with Retry-After) within the store's
request timeout, never a hang.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiMapping

from query_api.app_keys import CATALOG, MEDIA_BASE_URL, SEARCH
from query_api.errors import BadRequestError
from query_api.params import EARLIEST, bounded_int, iso_time
from query_api.resources import video_resource
from views.catalog import Visibility
from views.errors import StoreUnavailableError
from views.search.model import (
    MAX_PAGE_SIZE,
    MAX_SUGGESTIONS,
    DurationBucket,
    SearchPage,
    SearchQuery,
    SearchSort,
)

__all__ = ["MAX_QUERY_LENGTH", "search_routes"]

MAX_QUERY_LENGTH = 200
MAX_TAGS = 10
SEARCH_TIMEOUT_S = 10.0  # past the store's own request timeouts: a last guard against a hang
_SEARCH_PARAMS = frozenset({"q", "tags", "uploader", "duration", "uploaded_after", "sort", "limit", "cursor"})
_SUGGEST_PARAMS = frozenset({"q", "limit"})

search_routes = web.RouteTableDef()
E = TypeVar("E", DurationBucket, SearchSort)


@search_routes.get("/v1/search")
async def search(request: web.Request) -> web.Response:
    params = request.query
    _only(params, _SEARCH_PARAMS)
    q = _text(params.get("q", ""), "q", required=False)
    tags = tuple(t for raw in params.getall("tags", []) for t in (p.strip() for p in raw.split(",")) if t)
    if len(tags) > MAX_TAGS:
        raise BadRequestError(f"tags: at most {MAX_TAGS}, got {len(tags)}")
    for tag in tags:
        _text(tag, "tags", required=True)
    uploader = _text(params["uploader"], "uploader", required=True) if "uploader" in params else None
    if not q and not tags and uploader is None and "duration" not in params:
        raise BadRequestError("q is empty: give words to search for, or a filter (tags, uploader, duration)")
    fingerprint = _fingerprint(params)
    try:
        query = SearchQuery(
            q=q,
            tags=tags,
            uploader=uploader,
            duration=_choice(params.get("duration"), "duration", DurationBucket),
            uploaded_after=_after(params.get("uploaded_after")),
            sort=_choice(params.get("sort"), "sort", SearchSort) or SearchSort.RELEVANCE,
            limit=bounded_int(params.get("limit"), name="limit", default=20, low=1, high=MAX_PAGE_SIZE),
            cursor=_store_cursor(params.get("cursor"), fingerprint),
        )
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    page = await _ask(request, request.app[SEARCH].search(query))
    return web.json_response(await _page(request, page, fingerprint))


@search_routes.get("/v1/search/suggest")
async def suggest(request: web.Request) -> web.Response:
    params = request.query
    _only(params, _SUGGEST_PARAMS)
    prefix = _text(params.get("q", ""), "q", required=True)
    limit = bounded_int(
        params.get("limit"), name="limit", default=MAX_SUGGESTIONS, low=1, high=MAX_SUGGESTIONS
    )
    found = await _ask(request, request.app[SEARCH].suggest(prefix, limit=limit))
    return web.json_response(
        {
            "q": prefix,
            "suggestions": [
                {"text": s.text, "video_id": s.video_id, "popularity": s.popularity} for s in found
            ],
        }
    )


async def _ask(request: web.Request, call: Any) -> Any:
    try:
        async with asyncio.timeout(SEARCH_TIMEOUT_S):
            return await call
    except TimeoutError:
        raise StoreUnavailableError(
            f"the search store did not answer within {SEARCH_TIMEOUT_S:.0f}s"
        ) from None


async def _page(request: web.Request, page: SearchPage, fingerprint: str) -> dict[str, Any]:
    catalog = request.app[CATALOG]
    base = request.app[MEDIA_BASE_URL]
    records = await asyncio.gather(*(catalog.get(hit.video_id) for hit in page.hits))
    videos = [
        {
            **video_resource(record, media_base_url=base),
            "score": round(hit.score, 6),
            "highlights": hit.highlights,
        }
        for hit, record in zip(page.hits, records, strict=True)
        if record is not None  # indexed a moment before the catalog wrote it: shown on the next search
        and record.visibility is Visibility.PUBLIC  # never indexed; checked again at the last step
    ]
    return {
        "total": page.total,
        "videos": videos,
        "facets": {
            "tags": page.facets.tags,
            "duration": {bucket.value: count for bucket, count in page.facets.duration.items()},
        },
        "next_cursor": _api_cursor(page.next_cursor, fingerprint) if page.next_cursor else None,
    }


def _after(raw: str | None) -> datetime | None:
    return iso_time(raw, "uploaded_after", default=EARLIEST) if raw else None


def _only(params: MultiMapping[str], known: frozenset[str]) -> None:
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadRequestError(f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def _text(raw: str, name: str, *, required: bool) -> str:
    text = raw.strip()
    if required and not text:
        raise BadRequestError(f"{name} is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadRequestError(f"{name} is longer than {MAX_QUERY_LENGTH} characters")
    if not text.isprintable():
        raise BadRequestError(f"{name} holds control characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError(f"{name} is not valid Unicode") from None
    return text


def _choice(raw: str | None, name: str, kind: type[E]) -> E | None:
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise BadRequestError(
            f"{name} must be one of {', '.join(k.value for k in kind)}; got {raw[:40]!r}"
        ) from None


def _fingerprint(params: Mapping[str, str] | MultiMapping[str]) -> str:
    """What a cursor is bound to: the query and its filters, not the page size or the cursor."""
    items = sorted((k, v) for k, v in params.items() if k not in ("cursor", "limit"))
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


def _api_cursor(store_cursor: str, fingerprint: str) -> str:
    raw = json.dumps({"c": store_cursor, "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _store_cursor(raw: str | None, fingerprint: str) -> str | None:
    if not raw:
        return None
    try:
        if len(raw) > 512:
            raise ValueError("too long")
        doc = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        store_cursor, made_for = doc["c"], doc["f"]
        if not isinstance(store_cursor, str) or not isinstance(made_for, str):
            raise ValueError("not a cursor")
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise BadRequestError(
            "cursor is not one this API issued; pass next_cursor from the previous page unchanged"
        ) from exc
    if made_for != fingerprint:
        raise BadRequestError("cursor belongs to another query: keep q and the filters as they were")
    return store_cursor
