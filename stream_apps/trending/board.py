"""Trending boards: a window's top videos at one moment, as the playback view store keeps them (pure).

``/v1/trending`` reads a board instead of scoring a day of minute rows on
every request; the analytics worker rebuilds the boards every few seconds
from the same rows with the same functions (``trending_score``), so a board
is what a live computation gave at its ``generated_at``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from stream_apps.trending.score import TrendingWindow, VideoTrend, top_trending, video_trends
from views.playback import BoardRow

__all__ = ["BOARD_SIZE", "TrendingBoard", "board_from_row", "board_of", "board_row"]

BOARD_SIZE = 100  # the most /v1/trending serves


@dataclass(frozen=True, kw_only=True)
class TrendingBoard:
    window: str
    generated_at: datetime  # aware UTC: the ``now`` the scores were computed at
    videos: tuple[VideoTrend, ...]  # best first


def board_of(
    buckets: Mapping[BucketKey, PlaybackStats],
    *,
    now: datetime,
    window: TrendingWindow,
    size: int = BOARD_SIZE,
) -> TrendingBoard:
    """The board of ``window`` at ``now`` from the merged minutes (``playback_rows.live_buckets``)."""
    trends = video_trends(buckets, now=now, window=window)
    return TrendingBoard(
        window=window.name, generated_at=now, videos=top_trending(trends.values(), limit=size)
    )


def board_row(board: TrendingBoard) -> BoardRow:
    document = {
        "generated_at_ms": round(board.generated_at.timestamp() * 1000),
        "videos": [[t.video_id, t.score, t.unique_viewers] for t in board.videos],
    }
    return BoardRow(window=board.window, document=json.dumps(document, separators=(",", ":")))


def board_from_row(row: BoardRow) -> TrendingBoard:
    """The board a row holds; ``ValueError`` for a document this version cannot read."""
    try:
        document = json.loads(row.document)
        return TrendingBoard(
            window=row.window,
            generated_at=datetime.fromtimestamp(document["generated_at_ms"] / 1000, tz=UTC),
            videos=tuple(
                VideoTrend(video_id=str(video_id), score=float(score), unique_viewers=int(viewers))
                for video_id, score, viewers in document["videos"]
            ),
        )
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise ValueError(f"unreadable {row.window} trending board: {exc!r}") from exc
