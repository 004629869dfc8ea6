"""Keep the search view in step with the catalog: each catalog row written is indexed again if what
search sees of it changed, with the video's popularity read from the playback view."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from stream_apps.playback.rows import live_buckets
from stream_apps.search.projection import POPULARITY_WINDOWS, Popularity, popularity_by_video, search_document
from views.catalog import VideoRecord
from views.playback import PlaybackStore, PlaybackView
from views.search.model import SearchStore

__all__ = ["SearchIndexer", "popularity_of"]

log = logging.getLogger(__name__)


async def popularity_of(playback: PlaybackView | None, video_id: str, *, now: datetime) -> Popularity:
    """A video's views over the popularity windows, from its minute rows."""
    if playback is None:
        return Popularity()
    rows = await playback.minutes(video_id, start=now - max(POPULARITY_WINDOWS), end=now)
    return popularity_by_video(live_buckets(rows), now=now).get(video_id, Popularity())


class SearchIndexer:
    """A ``RowFollower`` of the catalog builder; it owns the stores it is given (closed with it)."""

    def __init__(self, store: SearchStore, *, playback: PlaybackStore | None = None) -> None:
        self._store = store
        self._playback = playback

    async def on_row(self, before: VideoRecord | None, after: VideoRecord) -> None:
        """After the catalog wrote ``after`` over ``before``: re-index when search would see a change."""
        old = None if before is None else search_document(before)
        new = search_document(after)
        if new is None and old is not None:  # it was searchable and is no longer (made unlisted, say)
            await self._store.delete(after.video_id)
            return
        if new is None or new == old:
            return  # progress percentages and the like change nothing search shows
        popularity = await popularity_of(self._playback, after.video_id, now=datetime.now(UTC))
        await self._store.put(search_document(after, popularity) or new)

    async def close(self) -> None:
        await self._store.close()
        if self._playback is not None:
            await self._playback.close()
