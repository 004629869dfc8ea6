"""From a catalog row to the search document of its video, and from minute rows to popularity. Pure.

The search view is a projection of the catalog view (what a video is) and of
the playback view (how much it is watched); replaying the catalog's topics
through the catalog projection and this one rebuilds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from views.catalog import VideoRecord, Visibility
from views.search.model import SearchDocument

__all__ = ["POPULARITY_WINDOWS", "Popularity", "popularity_by_video", "search_document"]

POPULARITY_WINDOWS = (timedelta(hours=24), timedelta(days=7))


@dataclass(frozen=True)
class Popularity:
    views_24h: int = 0
    views_7d: int = 0


def search_document(record: VideoRecord, popularity: Popularity = Popularity()) -> SearchDocument | None:
    """The document of a catalog row; ``None`` while the row is only later events (no upload yet), and
    for a video that is not public: unlisted and private videos are never in search nor suggestions."""
    if record.created_at is None or record.visibility is not Visibility.PUBLIC:
        return None
    return SearchDocument(
        video_id=record.video_id,
        status=record.status.value,
        title=record.title,
        description=record.description,
        tags=record.tags,
        uploader_id=record.uploader_id,
        duration_ms=record.duration_ms,
        published_at=record.created_at,
        renditions=tuple(r.name for r in record.renditions),
        views_24h=popularity.views_24h,
        views_7d=popularity.views_7d,
    )


def popularity_by_video(
    buckets: Mapping[BucketKey, PlaybackStats], *, now: datetime
) -> dict[str, Popularity]:
    """Views of each video in the last 24 hours and 7 days, from its minute buckets."""
    day, week = (now - window for window in POPULARITY_WINDOWS)
    counts: dict[str, list[int]] = {}
    for key, stats in buckets.items():
        if not stats.views or key.minute < week or key.minute > now:
            continue
        pair = counts.setdefault(key.video_id, [0, 0])
        pair[1] += stats.views
        if key.minute >= day:
            pair[0] += stats.views
    return {video_id: Popularity(views_24h=d, views_7d=w) for video_id, (d, w) in counts.items()}
