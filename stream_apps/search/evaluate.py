"""Known-item relevance of a search store: index a catalog, ask its known-item queries, score them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from stream_apps.search.known_items import CatalogItem, KindScore, KnownItemQuery, score_queries
from views.search.model import SearchDocument, SearchQuery, SearchStore

__all__ = ["evaluate_store", "index_catalog"]

CHUNK = 500
PUBLISHED = datetime(2026, 1, 1, tzinfo=UTC)


async def index_catalog(store: SearchStore, items: Sequence[CatalogItem]) -> float:
    """Index every item as a watchable video; the documents per second it took."""
    docs = [
        SearchDocument(
            video_id=item.video_id,
            status="ready",
            title=item.title,
            description=item.description,
            tags=item.tags,
            uploader_id=item.uploader,
            published_at=PUBLISHED + timedelta(seconds=n),
            views_24h=item.popularity,
            views_7d=item.popularity,
        )
        for n, item in enumerate(items)
    ]
    loop = asyncio.get_running_loop()
    started = loop.time()
    rebuild = await store.begin_rebuild()
    for start in range(0, len(docs), CHUNK):
        await rebuild.put_many(docs[start : start + CHUNK])
    await store.swap()
    return len(docs) / max(loop.time() - started, 1e-9)


async def evaluate_store(store: SearchStore, queries: Sequence[KnownItemQuery]) -> list[KindScore]:
    found: dict[str, list[str]] = {}
    for query in queries:
        if query.text not in found:
            page = await store.search(SearchQuery(q=query.text, limit=10))
            found[query.text] = [hit.video_id for hit in page.hits]
    return score_queries(queries, lambda text: found[text])
