"""Rolling per-minute buckets up to ``from, to, step`` points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stream_apps.playback.aggregates import EMPTY_STATS, BucketKey, PlaybackStats
from stream_apps.playback.rollup import MAX_POINTS, StatsPoint, rollup, video_minutes

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def stats(views: int, viewers: set[str], watch_ms: int, **more: int) -> PlaybackStats:
    return PlaybackStats(
        views=views,
        viewers=frozenset(viewers),
        watch_ms=watch_ms,
        rendition_ms=(("720p", watch_ms),) if watch_ms else (),
        events=views + 1,
        **more,
    )


MINUTES = {
    minute(0): stats(2, {"a", "b"}, 20_000),
    minute(1): stats(1, {"a"}, 30_000, rebuffer_ms=1_000, rebuffers=1),
    minute(4): stats(1, {"c"}, 10_000, late_events=2),
    minute(10): stats(5, {"d"}, 1_000),  # outside the range asked for below
}


def test_steps_merge_minutes_and_union_viewers() -> None:
    points = rollup(MINUTES, start=minute(0), end=minute(6), step=timedelta(minutes=2))
    assert [(p.start, p.end) for p in points] == [
        (minute(0), minute(2)),
        (minute(2), minute(4)),
        (minute(4), minute(6)),
    ]
    first, empty, last = (p.stats for p in points)
    assert (first.views, first.unique_viewers, first.watch_ms) == (3, 2, 50_000)  # "a" twice is one viewer
    assert first.avg_view_duration_ms == 50_000 / 3  # a ratio of sums
    assert first.rebuffer_ratio == 1_000 / 51_000
    assert first.rendition_mix == {"720p": 50_000}
    assert empty == EMPTY_STATS
    assert (last.views, last.late_events) == (1, 2)


def test_the_last_point_stops_at_the_end() -> None:
    points = rollup(MINUTES, start=minute(0), end=minute(5), step=timedelta(minutes=2))
    assert points[-1] == StatsPoint(minute(4), minute(5), MINUTES[minute(4)])


def test_range_is_widened_to_whole_minutes() -> None:
    points = rollup(
        MINUTES,
        start=minute(0) + timedelta(seconds=30),
        end=minute(1) + timedelta(seconds=1),
        step=timedelta(minutes=1),
    )
    assert [(p.start, p.stats) for p in points] == [
        (minute(0), MINUTES[minute(0)]),
        (minute(1), MINUTES[minute(1)]),
    ]


def test_one_step_over_everything_is_the_merge_of_everything() -> None:
    [point] = rollup(MINUTES, start=minute(0), end=minute(11), step=timedelta(minutes=11))
    assert point.stats == PlaybackStats.merge_all(MINUTES.values())
    assert point.stats.unique_viewers == 4


def test_video_minutes_picks_one_video() -> None:
    buckets = {BucketKey("v1", minute(0)): MINUTES[minute(0)], BucketKey("v2", minute(0)): MINUTES[minute(1)]}
    assert video_minutes(buckets, "v1") == {minute(0): MINUTES[minute(0)]}


@pytest.mark.parametrize(
    ("start", "end", "step", "message"),
    [
        (minute(0), minute(10), timedelta(seconds=90), "whole number of minutes"),
        (minute(0), minute(10), timedelta(0), "whole number of minutes"),
        (minute(0), minute(10), timedelta(minutes=1, microseconds=1), "whole number of minutes"),
        (minute(10), minute(10), timedelta(minutes=1), "empty range"),
        (minute(10), minute(0), timedelta(minutes=1), "empty range"),
        (minute(0), minute(MAX_POINTS + 1), timedelta(minutes=1), "at most"),
    ],
)
def test_bad_ranges_are_refused(start: datetime, end: datetime, step: timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rollup(MINUTES, start=start, end=end, step=step)


def test_as_many_points_as_allowed() -> None:
    assert len(rollup({}, start=minute(0), end=minute(MAX_POINTS), step=timedelta(minutes=1))) == MAX_POINTS
