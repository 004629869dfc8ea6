"""The playback view: per-minute aggregates of each video, one row per (video, minute, partition).

Each partition of ``playback-event`` is aggregated on its own (sessions are
keyed to one partition), and its rows are written whole, so a worker that
reprocesses a partition after a crash overwrites rows with the same values:
the writes are idempotent, keyed by window. Readers merge the partitions of a
minute. Rows are JSON documents made by the view builder; the store does not
interpret them.

Beside the minutes the store keeps one trending board per window (the top
videos at the last refresh), so that reading trending costs one row rather
than a scan of a day of minutes, and one snapshot of the worker's state per
partition (opaque bytes and the offset it covers), so that a restarted worker
replays only what came after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["BoardRow", "MinuteRow", "PlaybackStore", "PlaybackView"]


@dataclass(frozen=True)
class MinuteRow:
    video_id: str
    minute: datetime  # aware UTC, start of the minute
    partition: int
    document: str  # empty: delete the row


@dataclass(frozen=True)
class BoardRow:
    window: str  # a trending window's name: 1h, 24h
    document: str  # the board as its builder wrote it


class PlaybackView(Protocol):
    """What the query API reads."""

    async def minutes(self, video_id: str, *, start: datetime, end: datetime) -> list[MinuteRow]:
        """The rows of one video with ``start <= minute < end``, every partition."""

    async def all_minutes(self, *, start: datetime, end: datetime) -> list[MinuteRow]:
        """The rows of every video in a range (trending)."""

    async def board(self, window: str) -> BoardRow | None:
        """The trending board of ``window`` last written, if any."""

    async def check(self) -> None: ...


class PlaybackStore(PlaybackView, Protocol):
    async def write(self, rows: list[MinuteRow], *, offsets: dict[int, int]) -> None:
        """Upsert (or delete) rows; ``offsets`` (partition → next offset) are kept for reporting."""

    async def write_board(self, row: BoardRow) -> None:
        """Replace the trending board of ``row.window``."""

    async def write_snapshot(self, partition: int, next_offset: int, data: bytes) -> None:
        """Replace the worker's state snapshot of ``partition``, taken after ``next_offset - 1``."""

    async def snapshot(self, partition: int) -> tuple[int, bytes] | None:
        """The last snapshot of ``partition`` and the offset it goes on from, if any."""

    async def close(self) -> None: ...
