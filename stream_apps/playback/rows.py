"""``PlaybackStats`` as JSON documents: what the playback view store keeps, written and read here."""

from __future__ import annotations

import json
from collections.abc import Iterable

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from views.playback import MinuteRow

__all__ = ["live_buckets", "stats_from_document", "stats_to_document"]


def live_buckets(rows: Iterable[MinuteRow]) -> dict[BucketKey, PlaybackStats]:
    """Each minute of each video, its partitions' rows merged: the live view's aggregates."""
    parts: dict[BucketKey, list[PlaybackStats]] = {}
    for row in rows:
        parts.setdefault(BucketKey(row.video_id, row.minute), []).append(stats_from_document(row.document))
    return {key: PlaybackStats.merge_all(p) for key, p in parts.items()}


def stats_to_document(stats: PlaybackStats) -> str:
    return json.dumps(
        {
            "views": stats.views,
            "viewers": sorted(stats.viewers),
            "watch_ms": stats.watch_ms,
            "rebuffer_ms": stats.rebuffer_ms,
            "rebuffers": stats.rebuffers,
            "quality_switches": stats.quality_switches,
            "rendition_ms": [list(pair) for pair in stats.rendition_ms],
            "events": stats.events,
            "late_events": stats.late_events,
            "invalid_events": stats.invalid_events,
            "foreign_events": stats.foreign_events,
            "expired_events": stats.expired_events,
        },
        separators=(",", ":"),
    )


def stats_from_document(text: str) -> PlaybackStats:
    doc = json.loads(text)
    return PlaybackStats(
        views=doc["views"],
        viewers=frozenset(doc["viewers"]),
        watch_ms=doc["watch_ms"],
        rebuffer_ms=doc["rebuffer_ms"],
        rebuffers=doc["rebuffers"],
        quality_switches=doc["quality_switches"],
        rendition_ms=tuple((str(r), int(ms)) for r, ms in doc["rendition_ms"]),
        events=doc["events"],
        late_events=doc["late_events"],
        invalid_events=doc.get("invalid_events", 0),  # rows written before these counters have none
        foreign_events=doc.get("foreign_events", 0),
        expired_events=doc.get("expired_events", 0),
    )
