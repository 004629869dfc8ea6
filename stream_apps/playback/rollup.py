"""Per-minute buckets → the points of ``GET /v1/videos/{id}/stats?from&to&step`` (pure).

A point merges the minutes it covers with ``PlaybackStats.merge``, so its
ratios are ratios of sums (never averages of per-minute averages) and its
unique viewers are the size of the union of the minutes' viewers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from stream_apps.playback.time import MINUTE_MS, epoch_ms, minute_ms_of, utc_from_ms, whole_ms

__all__ = ["MAX_POINTS", "StatsPoint", "rollup", "rollup_span", "video_minutes"]

MAX_POINTS = 10_080  # a week of minutes: more points than any chart shows, fewer than would hurt


@dataclass(frozen=True)
class StatsPoint:
    """The aggregates of minutes ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime
    end: datetime
    stats: PlaybackStats


def video_minutes(buckets: Mapping[BucketKey, PlaybackStats], video_id: str) -> dict[datetime, PlaybackStats]:
    """The minutes of one video, keyed by minute start."""
    return {key.minute: stats for key, stats in buckets.items() if key.video_id == video_id}


def rollup_span(*, start: datetime, end: datetime, step: timedelta) -> tuple[int, int, int, int]:
    """(start ms, end ms, step ms, points) of a rollup, or ``ValueError``: checked before any read."""
    step_ms = whole_ms(step)
    if step_ms <= 0 or step_ms % MINUTE_MS or step % timedelta(milliseconds=1):
        raise ValueError(f"step must be a positive whole number of minutes, not {step}")
    start_ms = minute_ms_of(epoch_ms(start))
    end_ms = -minute_ms_of(-epoch_ms(end))
    if end_ms <= start_ms:
        raise ValueError(f"empty range: from {start.isoformat()} to {end.isoformat()}")
    count = -((start_ms - end_ms) // step_ms)  # ceil((end - start) / step)
    if count > MAX_POINTS:
        raise ValueError(f"{count} points asked for; at most {MAX_POINTS}: use a larger step")
    return start_ms, end_ms, step_ms, count


def rollup(
    minutes: Mapping[datetime, PlaybackStats], *, start: datetime, end: datetime, step: timedelta
) -> tuple[StatsPoint, ...]:
    """One point per ``step`` from ``start`` to ``end``, empty steps included.

    ``start`` is floored and ``end`` ceiled to whole minutes; ``step`` must be
    a positive whole number of minutes; the last point stops at ``end``.
    Raises ``ValueError`` for a bad range or more than ``MAX_POINTS`` points.
    """
    start_ms, end_ms, step_ms, count = rollup_span(start=start, end=end, step=step)
    grouped: list[list[PlaybackStats]] = [[] for _ in range(count)]
    for minute, stats in minutes.items():
        minute_ms = epoch_ms(minute)
        if start_ms <= minute_ms < end_ms:
            grouped[(minute_ms - start_ms) // step_ms].append(stats)
    return tuple(
        StatsPoint(
            start=utc_from_ms(start_ms + index * step_ms),
            end=utc_from_ms(min(start_ms + (index + 1) * step_ms, end_ms)),
            stats=PlaybackStats.merge_all(parts),
        )
        for index, parts in enumerate(grouped)
    )
