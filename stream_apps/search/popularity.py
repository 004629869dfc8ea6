"""Keep the search view's view counts moving: the analytics worker that rebuilds the trending boards
pushes each video's views of the last day and week to the search store, only where they changed.

The worker's rounds hand over the counts its trend tracker keeps (``push_views``, over ``WINDOWS``);
``refresh`` reads a week of minute rows itself, for a caller without a tracker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from stream_apps.playback.rows import live_buckets
from stream_apps.search.projection import POPULARITY_WINDOWS, Popularity, popularity_by_video
from views.playback import PlaybackView
from views.search.model import SearchStore

__all__ = ["PopularityPusher"]


class PopularityPusher:
    WINDOWS: tuple[timedelta, ...] = POPULARITY_WINDOWS  # the order of the counts ``push_views`` takes

    def __init__(self, search: SearchStore) -> None:
        self._search = search
        self._pushed: dict[str, Popularity] = {}  # what the store holds, as far as this process knows

    async def refresh(self, playback: PlaybackView, *, now: datetime) -> int:
        """Push the counts that moved since the last refresh (a video whose views aged out goes to 0);
        returns how many videos were updated."""
        rows = await playback.all_minutes(start=now - max(POPULARITY_WINDOWS), end=now)
        return await self.push(popularity_by_video(live_buckets(rows), now=now))

    async def push_views(self, views: Mapping[str, Sequence[int]]) -> int:
        """``push`` the views of each video over ``WINDOWS`` (``TrendTracker.views``)."""
        return await self.push({video: Popularity(*counts) for video, counts in views.items()})

    async def push(self, current: Mapping[str, Popularity]) -> int:
        """Push what differs from the last push (a video no longer in ``current`` goes to 0); returns
        how many videos were updated."""
        gone = {video_id: Popularity() for video_id in self._pushed.keys() - current.keys()}
        changed = {v: p for v, p in {**current, **gone}.items() if self._pushed.get(v) != p}
        for video_id, popularity in changed.items():
            await self._search.update_popularity(
                video_id, views_24h=popularity.views_24h, views_7d=popularity.views_7d
            )
        self._pushed = dict(current)
        return len(changed)
