"""The trend tracker: fed only changed rows, it gives the boards and view counts of a full scan."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stream_apps.playback.aggregates import PlaybackStats
from stream_apps.playback.rows import live_buckets, stats_to_document
from stream_apps.playback.time import epoch_ms
from stream_apps.search.projection import POPULARITY_WINDOWS, Popularity, popularity_by_video
from stream_apps.trending.board import TrendingBoard, board_of
from stream_apps.trending.score import TRENDING_1H, TRENDING_24H, TRENDING_WINDOWS, decay_weight
from stream_apps.trending.tracker import TrendTracker
from views.playback import MinuteRow

NOW = datetime(2026, 12, 2, 15, 0, 30, 250000, tzinfo=UTC)
MINUTE = NOW.replace(second=0, microsecond=0)
DAY, WEEK = POPULARITY_WINDOWS
RowKey = tuple[str, datetime, int]


def row(video: str, minutes_ago: int, partition: int, *viewers: str, views: int | None = None) -> MinuteRow:
    stats = PlaybackStats(views=len(viewers) if views is None else views, viewers=frozenset(viewers))
    return MinuteRow(video, MINUTE - timedelta(minutes=minutes_ago), partition, stats_to_document(stats))


def deleted(video: str, minutes_ago: int, partition: int) -> MinuteRow:
    return MinuteRow(video, MINUTE - timedelta(minutes=minutes_ago), partition, "")


def tracker(now: datetime = NOW) -> TrendTracker:
    return TrendTracker(now=now, view_windows=POPULARITY_WINDOWS)


def scanned(rows: dict[RowKey, str], now: datetime) -> tuple[list[TrendingBoard], dict[str, Popularity]]:
    """What the full scan gives: the worker's read of a day for boards, the pusher's read of a week."""

    def read(span: timedelta) -> list[MinuteRow]:
        start, end = epoch_ms(now - span), epoch_ms(now)
        return [
            MinuteRow(video, minute, partition, doc)
            for (video, minute, partition), doc in rows.items()
            if start <= epoch_ms(minute) < end
        ]

    day = live_buckets(read(TRENDING_24H.span))
    boards = [board_of(day, now=now, window=window) for window in TRENDING_WINDOWS]
    return boards, popularity_by_video(live_buckets(read(WEEK)), now=now)


def tracked(t: TrendTracker) -> tuple[list[TrendingBoard], dict[str, Popularity]]:
    boards = [t.board(window) for window in TRENDING_WINDOWS]
    return boards, {video: Popularity(*counts) for video, counts in t.views().items()}


def as_store(rows: list[MinuteRow]) -> dict[RowKey, str]:
    return {(r.video_id, r.minute, r.partition): r.document for r in rows}


def test_a_viewer_counts_once_at_their_latest_minute_across_partitions() -> None:
    rows = [row("hot", 1, 0, "u1", "u2"), row("hot", 1, 3, "u3"), row("hot", 2, 1, "u1")]
    t = tracker()
    t.apply(rows)
    board = t.board(TRENDING_1H)
    assert [(v.video_id, v.unique_viewers) for v in board.videos] == [("hot", 3)]
    assert board.generated_at == NOW
    assert tracked(t) == scanned(as_store(rows), NOW)


def test_a_replaced_row_takes_back_its_viewers_down_to_their_earlier_minute() -> None:
    t = tracker()
    t.apply([row("v", 1, 0, "u1", "u2"), row("v", 30, 0, "u1")])
    t.apply([row("v", 1, 0, "u2")])  # u1's view moved out of minute 1: they count at minute 30 again
    assert tracked(t) == scanned(as_store([row("v", 1, 0, "u2"), row("v", 30, 0, "u1")]), NOW)
    t.apply([deleted("v", 1, 0), deleted("v", 30, 0)])
    assert t.board(TRENDING_24H).videos == ()
    assert t.views() == {}
    assert t.state_size() == {"pairs": 0, "view_cells": 0, "open_rows": 0, "pending_rows": 0}


def test_what_leaves_the_windows_is_forgotten() -> None:
    t = tracker()
    t.apply([row("v", 10, 0, "u1"), row("w", 2 * 24 * 60, 0, views=5)])
    assert t.views() == {"v": (1, 1), "w": (0, 5)}
    t.advance(NOW + timedelta(hours=1))  # minute 10 left the hour
    assert [v.video_id for v in t.board(TRENDING_1H).videos] == []
    assert [v.video_id for v in t.board(TRENDING_24H).videos] == ["v"]
    t.advance(NOW + timedelta(days=6))  # out of the day and of the week
    assert t.board(TRENDING_24H).videos == ()
    assert t.views() == {"v": (0, 1)}
    assert t.state_size()["pairs"] == 0
    t.advance(NOW + timedelta(days=8))
    assert t.views() == {}
    assert t.state_size() == {"pairs": 0, "view_cells": 0, "open_rows": 0, "pending_rows": 0}


def test_rows_of_minutes_not_yet_over_wait_for_the_clock() -> None:
    t = tracker()
    t.apply([row("v", -1, 0, "u1")])  # the next minute: a read ending now would not see it
    assert t.board(TRENDING_1H).videos == ()
    t.advance(NOW + timedelta(minutes=2))
    assert [(v.video_id, v.unique_viewers) for v in t.board(TRENDING_1H).videos] == [("v", 1)]


def test_sealed_minutes_keep_only_the_latest_minute_per_viewer() -> None:
    t = tracker()
    t.apply([row("v", m, 0, "u1", "u2") for m in range(30, 0, -1)])
    t.seal(NOW - timedelta(minutes=6))
    assert t.state_size() == {"pairs": 2, "view_cells": 30, "open_rows": 5, "pending_rows": 0}
    t.apply([row("v", 1, 0, "u2")])  # u1's latest falls back to minute 2, still open
    t.apply([deleted("v", m, 0) for m in range(1, 6)])  # then to the latest sealed one, minute 6
    assert tracked(t) == scanned(as_store([row("v", m, 0, "u1", "u2") for m in range(6, 31)]), NOW)
    with pytest.raises(ValueError, match="sealed"):
        t.apply([row("v", 7, 0, "u3")])


def test_scores_match_the_scan_to_the_bit_where_summing_each_viewer_would_not() -> None:
    rows = [row("v", 1, 0, "a", "b"), row("v", 2, 0, *"cdefg")]
    t = tracker()
    t.apply(rows)
    (trend,) = t.board(TRENDING_1H).videos
    assert trend.score == scanned(as_store(rows), NOW)[0][0].videos[0].score
    one, two = (decay_weight(NOW - r.minute, TRENDING_1H.half_life) for r in rows)
    assert trend.score != math.fsum([one] * 2 + [two] * 5)  # why both sum count * weight per minute


def test_time_only_moves_forward() -> None:
    t = tracker()
    with pytest.raises(ValueError, match="forward"):
        t.advance(NOW - timedelta(seconds=1))
    with pytest.raises(ValueError, match="not keep"):
        TrendTracker(now=NOW, windows=[TRENDING_1H]).board(TRENDING_24H)


# The property: any sequence of upserts, deletions, seals and clock moves gives the full scan's answers.

VIDEOS = ("a", "b")
VIEWERS = tuple(f"u{i}" for i in range(7))
# minutes before the current minute, bunched at the edges of the windows (1 h, 24 h, 7 d) and of now
AGES = st.one_of(
    st.integers(-1, 5),
    st.integers(56, 64),
    st.integers(24 * 60 - 4, 24 * 60 + 4),
    st.integers(7 * 24 * 60 - 4, 7 * 24 * 60 + 4),
)
UPSERT = st.tuples(
    st.just("put"),
    st.sampled_from(VIDEOS),
    AGES,
    st.integers(0, 1),
    st.frozensets(st.sampled_from(VIEWERS)),
    st.integers(0, 4),
)
DELETE = st.tuples(st.just("delete"), st.integers(0, 1000))
SEAL = st.tuples(st.just("seal"), st.integers(0, 5))  # minutes before now
# a few seconds, a minute, across an hour or a day's edge, or far
ADVANCE = st.tuples(
    st.just("advance"), st.sampled_from([7_001, 60_000, 59 * 60_000, 23 * 3_600_000, 6 * 86_400_000])
)
OPS = st.lists(st.one_of(UPSERT, UPSERT, UPSERT, DELETE, SEAL, ADVANCE), max_size=60)


@settings(max_examples=1000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(ops=OPS, start_ms=st.integers(0, 59_999))
def test_the_tracker_gives_the_full_scans_boards_and_view_counts(
    ops: list[tuple[Any, ...]], start_ms: int
) -> None:
    now = MINUTE + timedelta(milliseconds=start_ms)
    t = tracker(now)
    rows: dict[RowKey, str] = {}  # the store
    sealed: datetime | None = None
    for op in ops:
        if op[0] == "put":
            _, video, age, partition, viewers, views = op
            minute = now.replace(second=0, microsecond=0) - timedelta(minutes=age)
            if sealed is not None and minute < sealed:
                continue  # sealed minutes change only before a new full read
            stats = PlaybackStats(views=views, viewers=frozenset(viewers))
            new = MinuteRow(str(video), minute, partition, stats_to_document(stats))
            rows[(new.video_id, new.minute, new.partition)] = new.document
            t.apply([new])
        elif op[0] == "delete":
            open_keys = sorted(k for k in rows if sealed is None or k[1] >= sealed)
            if open_keys:
                key = open_keys[int(op[1]) % len(open_keys)]
                del rows[key]
                t.apply([MinuteRow(*key, document="")])
        elif op[0] == "seal":
            seal_at = now - timedelta(minutes=int(op[1]))
            sealed = seal_at if sealed is None else max(sealed, seal_at)
            t.seal(seal_at)
        else:
            now += timedelta(milliseconds=int(op[1]))
            t.advance(now)
        assert tracked(t) == scanned(rows, now)
