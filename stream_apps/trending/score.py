"""Trending: a score per video from its recent unique viewers, decayed by age, and the top N (pure).

Over a window (1 h or 24 h) ending at ``now``, each user who had a view of
the video counts once, weighted by the age of their latest view there::

    score(video) = Σ over unique viewers u of 2 ** (-(now - t_u) / half_life)

where ``t_u`` is the start of the latest minute in ``[now - span, now)`` in
which ``u``'s view of the video was counted. The half-life is a quarter of the
span, so a view at the far edge of the window still weighs 1/16 and fresh
interest wins over a big but fading audience. Viewers are grouped by the
minute of their latest view and each minute's weight is multiplied by its
count; those products are summed with ``math.fsum`` (exactly rounded, so
independent of order). Grouping is what lets the incremental tracker
(``tracker``), which keeps counts rather than viewers, give the very same
float as a scan of the rows. Videos are ranked by score, then unique
viewers, then video id: the same inputs always give the same list.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from stream_apps.playback.time import epoch_ms, whole_ms

__all__ = [
    "TRENDING_1H",
    "TRENDING_24H",
    "TRENDING_WINDOWS",
    "TrendingWindow",
    "VideoTrend",
    "decay_weight",
    "top_trending",
    "trending_score",
    "trending_window",
    "video_trends",
    "weighted_score",
]


@dataclass(frozen=True, kw_only=True)
class TrendingWindow:
    """How far back views count (``span``) and how fast they fade (``half_life``)."""

    name: str
    span: timedelta
    half_life: timedelta


TRENDING_1H = TrendingWindow(name="1h", span=timedelta(hours=1), half_life=timedelta(minutes=15))
TRENDING_24H = TrendingWindow(name="24h", span=timedelta(hours=24), half_life=timedelta(hours=6))
TRENDING_WINDOWS: tuple[TrendingWindow, ...] = (TRENDING_1H, TRENDING_24H)


@dataclass(frozen=True, kw_only=True)
class VideoTrend:
    video_id: str
    score: float
    unique_viewers: int  # users with a view of the video in the window


def trending_window(name: str) -> TrendingWindow:
    """The window called ``name`` (``1h`` or ``24h``); ``ValueError`` for any other."""
    for window in TRENDING_WINDOWS:
        if window.name == name:
            return window
    known = ", ".join(w.name for w in TRENDING_WINDOWS)
    raise ValueError(f"unknown trending window {name!r}; known: {known}")


def decay_weight(age: timedelta, half_life: timedelta) -> float:
    """``2 ** (-age / half_life)``: 1 for a view now, 1/2 one half-life ago."""
    if half_life <= timedelta(0):
        raise ValueError(f"half-life must be positive, not {half_life}")
    return float(2.0 ** (-(age / half_life)))


def trending_score(viewers_by_age: Mapping[timedelta, int], half_life: timedelta) -> float:
    """The score of one video from how many unique viewers' latest views are of each age."""
    return weighted_score((count, decay_weight(age, half_life)) for age, count in viewers_by_age.items())


def weighted_score(counted_weights: Iterable[tuple[int, float]]) -> float:
    """Σ count * weight over distinct ages, exactly rounded: the one formulation of a score.

    Each age must come once: ``fsum`` of rounded products differs in the last
    bit from ``fsum`` of the repeated weights, so a scan and a tracker agree
    only if both multiply per age.
    """
    return math.fsum(count * weight for count, weight in counted_weights)


def video_trends(
    buckets: Mapping[BucketKey, PlaybackStats], *, now: datetime, window: TrendingWindow
) -> dict[str, VideoTrend]:
    """Every video with a view in ``[now - span, now)``, scored (by minute starts)."""
    now_ms = epoch_ms(now)
    oldest_ms = now_ms - whole_ms(window.span)
    latest: defaultdict[str, dict[str, int]] = defaultdict(dict)  # video → viewer → latest minute
    for key, stats in buckets.items():
        minute_ms = epoch_ms(key.minute)
        if not oldest_ms <= minute_ms < now_ms:
            continue
        seen = latest[key.video_id]
        for viewer in stats.viewers:
            seen[viewer] = max(seen.get(viewer, minute_ms), minute_ms)
    return {
        video_id: VideoTrend(
            video_id=video_id,
            score=trending_score(
                {
                    timedelta(milliseconds=now_ms - at_ms): count
                    for at_ms, count in Counter(seen.values()).items()
                },
                window.half_life,
            ),
            unique_viewers=len(seen),
        )
        for video_id, seen in sorted(latest.items())
        if seen
    }


def top_trending(trends: Iterable[VideoTrend], *, limit: int) -> tuple[VideoTrend, ...]:
    """The ``limit`` best: highest score, then most unique viewers, then smallest video id."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, not {limit}")
    ranked = sorted(trends, key=lambda t: (-t.score, -t.unique_viewers, t.video_id))
    return tuple(ranked[:limit])
