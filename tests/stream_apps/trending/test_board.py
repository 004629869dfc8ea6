"""Trending boards: built from the stored minute rows of every partition, and stored without loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from stream_apps.playback.rows import live_buckets, stats_to_document
from stream_apps.trending.board import board_from_row, board_of, board_row
from stream_apps.trending.score import TRENDING_1H, TRENDING_24H, top_trending, video_trends
from views.playback import BoardRow, MinuteRow

NOW = datetime(2026, 12, 2, 15, 0, 30, 250000, tzinfo=UTC)
MINUTE = NOW.replace(second=0, microsecond=0)


def row(video: str, minutes_ago: int, partition: int, *viewers: str) -> MinuteRow:
    stats = PlaybackStats(views=len(viewers), viewers=frozenset(viewers), events=len(viewers))
    return MinuteRow(video, MINUTE - timedelta(minutes=minutes_ago), partition, stats_to_document(stats))


ROWS = [
    row("hot", 1, 0, "u1", "u2"),
    row("hot", 1, 3, "u3"),  # the same minute, another partition: its viewers add up
    row("hot", 2, 1, "u1"),  # an earlier view by u1 counts once, at u1's latest minute
    row("steady", 50, 0, "u1", "u2", "u3", "u4"),
    row("old", 120, 2, *(f"u{i}" for i in range(20))),  # out of 1 h, in 24 h
]


def test_a_board_ranks_what_trending_scores_from_the_merged_partitions() -> None:
    board = board_of(live_buckets(ROWS), now=NOW, window=TRENDING_1H)

    buckets = {
        BucketKey("hot", MINUTE - timedelta(minutes=1)): PlaybackStats(
            views=3, viewers=frozenset({"u1", "u2", "u3"}), events=3
        ),
        BucketKey("hot", MINUTE - timedelta(minutes=2)): PlaybackStats(
            views=1, viewers=frozenset({"u1"}), events=1
        ),
        BucketKey("steady", MINUTE - timedelta(minutes=50)): PlaybackStats(
            views=4, viewers=frozenset({"u1", "u2", "u3", "u4"}), events=4
        ),
    }
    expected = top_trending(video_trends(buckets, now=NOW, window=TRENDING_1H).values(), limit=100)
    assert board.videos == expected
    assert [t.video_id for t in board.videos] == ["hot", "steady"]
    assert board.videos[0].unique_viewers == 3
    assert (board.window, board.generated_at) == ("1h", NOW)


def test_the_day_board_reaches_further_back() -> None:
    board = board_of(live_buckets(ROWS), now=NOW, window=TRENDING_24H)
    assert [t.video_id for t in board.videos] == ["old", "steady", "hot"]


def test_a_board_keeps_at_most_its_size() -> None:
    assert [
        t.video_id for t in board_of(live_buckets(ROWS), now=NOW, window=TRENDING_24H, size=1).videos
    ] == ["old"]


def test_a_stored_board_reads_back_equal() -> None:
    board = board_of(live_buckets(ROWS), now=NOW, window=TRENDING_24H)

    stored = board_row(board)
    back = board_from_row(stored)

    assert stored.window == "24h"
    assert back.videos == board.videos  # scores survive JSON exactly (repr round-trips floats)
    assert back.generated_at == NOW
    assert back.window == board.window


def test_no_rows_make_an_empty_board() -> None:
    board = board_of({}, now=NOW, window=TRENDING_1H)
    assert board.videos == ()
    assert board_from_row(board_row(board)).videos == ()


@pytest.mark.parametrize("document", ["", "[]", '{"videos": []}', '{"generated_at_ms": "x", "videos": []}'])
def test_a_board_document_that_cannot_be_read_says_so(document: str) -> None:
    with pytest.raises(ValueError, match="unreadable 1h trending board"):
        board_from_row(BoardRow("1h", document))
