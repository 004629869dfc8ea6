"""Rebuild the search view without downtime: replay the catalog's topics into a second index, swap.

The replay runs the catalog's own builder into a scratch catalog in memory,
so the documents are exactly what the live agent would have indexed; the
popularity comes from one read of a week of the playback view. The live index
answers until the swap. What the live catalog changed while the replay ran is
indexed again after the swap, so nothing written meanwhile is lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from stream_apps.catalog.rebuild import rebuild_catalog
from stream_apps.playback.rows import live_buckets
from stream_apps.search.projection import POPULARITY_WINDOWS, Popularity, popularity_by_video, search_document
from topics.config import KafkaConfig
from views.catalog import CatalogStore, VideoRecord
from views.playback import PlaybackView
from views.search.model import SearchDocument, SearchStore
from views.sqlite_catalog import SqliteCatalogStore

__all__ = ["SearchRebuildReport", "documents_of", "rebuild_search"]

CHUNK = 500


@dataclass(frozen=True)
class SearchRebuildReport:
    messages: int
    rejected: int
    documents: int
    caught_up: int  # documents indexed again after the swap: the live catalog moved on meanwhile


def documents_of(rows: Sequence[VideoRecord], popularity: dict[str, Popularity]) -> list[SearchDocument]:
    docs = (search_document(row, popularity.get(row.video_id, Popularity())) for row in rows)
    return [doc for doc in docs if doc is not None]


async def rebuild_search(
    kafka: KafkaConfig,
    search: SearchStore,
    *,
    playback: PlaybackView | None = None,
    live_catalog: CatalogStore | None = None,
) -> SearchRebuildReport:
    scratch = SqliteCatalogStore(":memory:")
    try:  # the catalog's own replay, into a catalog nobody reads
        replay = await rebuild_catalog(kafka, scratch)
        replayed = await scratch.scan()
    finally:
        await scratch.close()
    now = datetime.now(UTC)
    popularity: dict[str, Popularity] = {}
    if playback is not None:
        rows = await playback.all_minutes(start=now - max(POPULARITY_WINDOWS), end=now)
        popularity = popularity_by_video(live_buckets(rows), now=now)
    docs = documents_of(replayed, popularity)
    rebuild = await search.begin_rebuild()
    try:
        for start in range(0, len(docs), CHUNK):
            await rebuild.put_many(docs[start : start + CHUNK])
    except BaseException:
        await rebuild.abort()
        raise
    await search.swap()
    caught_up = 0
    if live_catalog is not None:
        seen = {row.video_id: row for row in replayed}
        moved = [row for row in await live_catalog.scan() if seen.get(row.video_id) != row]
        later = documents_of(moved, popularity)
        if later:
            await search.put_many(later)
        caught_up = len(later)
    return SearchRebuildReport(
        messages=replay.messages, rejected=replay.rejected, documents=len(docs), caught_up=caught_up
    )
