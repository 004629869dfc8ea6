"""The embedded playback view store: minutes keyed by (video, minute, partition), a board per window.

Writes, and reads of many minutes (trending, a long range), run in a worker
thread through ``SqliteFile``; a video's minutes over a few hours (the stats
route's default hour) and a board are read on the caller's thread through
``SqliteReader``, as the catalog's point reads are.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from views.playback import BoardRow, MinuteRow
from views.sqlite_file import SqliteFile
from views.sqlite_reads import SqliteReader

__all__ = ["SqlitePlaybackStore"]

T = TypeVar("T")
# a video's rows over this span are a few hundred at most (a row a minute a partition): read in place
READ_IN_PLACE_SPAN = timedelta(hours=6)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS playback_minutes (
    video_id  TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    doc       TEXT NOT NULL,
    PRIMARY KEY (video_id, minute_ms, partition)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS playback_minutes_by_time ON playback_minutes (minute_ms);
CREATE TABLE IF NOT EXISTS playback_boards (
    window_name TEXT PRIMARY KEY,
    doc    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS playback_offsets (
    partition   INTEGER PRIMARY KEY,
    next_offset INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS playback_snapshots (
    partition   INTEGER PRIMARY KEY,
    next_offset INTEGER NOT NULL,
    data        BLOB NOT NULL
);
"""


class SqlitePlaybackStore:
    def __init__(self, path: Path | str) -> None:
        self._file = SqliteFile(path, view="playback", schema=_SCHEMA)
        in_memory = self._file.path == ":memory:"
        self._reader = None if in_memory else SqliteReader(self._file.path, view="playback")
        self._recent = _RecentSpans()

    async def write(self, rows: list[MinuteRow], *, offsets: dict[int, int]) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for row in rows:
                    key = (row.video_id, _ms(row.minute), row.partition)
                    if row.document:
                        conn.execute(
                            "INSERT INTO playback_minutes (video_id, minute_ms, partition, doc) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (video_id, minute_ms, partition) "
                            "DO UPDATE SET doc = excluded.doc",
                            (*key, row.document),
                        )
                    else:
                        conn.execute(
                            "DELETE FROM playback_minutes "
                            "WHERE video_id = ? AND minute_ms = ? AND partition = ?",
                            key,
                        )
                conn.executemany(
                    "INSERT INTO playback_offsets (partition, next_offset) VALUES (?, ?) "
                    "ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset",
                    sorted(offsets.items()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(work)

    async def minutes(self, video_id: str, *, start: datetime, end: datetime) -> list[MinuteRow]:
        """The video's rows over the span. A short span read again with the same rows in the store
        gives the list it gave before (the same object: the caller must not change it)."""
        span = (video_id, _ms(start), _ms(end))

        def query(conn: sqlite3.Connection) -> list[tuple[str, int, int, str]]:
            return conn.execute(
                "SELECT video_id, minute_ms, partition, doc FROM playback_minutes "
                "WHERE video_id = ? AND minute_ms >= ? AND minute_ms < ? ORDER BY minute_ms, partition",
                span,
            ).fetchall()

        if end - start > READ_IN_PLACE_SPAN:
            return [_row(r) for r in await self._run(query)]
        raw = await self._read(query)
        return self._recent.rows(span, raw)

    async def all_minutes(self, *, start: datetime, end: datetime) -> list[MinuteRow]:
        def query(conn: sqlite3.Connection) -> list[MinuteRow]:
            rows = conn.execute(
                "SELECT video_id, minute_ms, partition, doc FROM playback_minutes "
                "WHERE minute_ms >= ? AND minute_ms < ? ORDER BY video_id, minute_ms, partition",
                (_ms(start), _ms(end)),
            ).fetchall()
            return [_row(r) for r in rows]

        return await self._run(query)

    async def board(self, window: str) -> BoardRow | None:
        def query(conn: sqlite3.Connection) -> BoardRow | None:
            sql = "SELECT doc FROM playback_boards WHERE window_name = ?"
            found = conn.execute(sql, (window,)).fetchone()
            return None if found is None else BoardRow(window=window, document=found[0])

        return await self._read(query)

    async def write_board(self, row: BoardRow) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO playback_boards (window_name, doc) VALUES (?, ?) "
                "ON CONFLICT (window_name) DO UPDATE SET doc = excluded.doc",
                (row.window, row.document),
            )
        )

    async def write_snapshot(self, partition: int, next_offset: int, data: bytes) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO playback_snapshots (partition, next_offset, data) VALUES (?, ?, ?) "
                "ON CONFLICT (partition) DO UPDATE "
                "SET next_offset = excluded.next_offset, data = excluded.data",
                (partition, next_offset, data),
            )
        )

    async def snapshot(self, partition: int) -> tuple[int, bytes] | None:
        def query(conn: sqlite3.Connection) -> tuple[int, bytes] | None:
            sql = "SELECT next_offset, data FROM playback_snapshots WHERE partition = ?"
            found = conn.execute(sql, (partition,)).fetchone()
            return None if found is None else (int(found[0]), bytes(found[1]))

        return await self._run(query)

    async def check(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1 FROM playback_offsets LIMIT 1").fetchall())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._file.close()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._file.run(work)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:  # ":memory:": the one connection is the database
            return await self._run(work)
        return await self._reader.read(work)


def _ms(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp() * 1000)


class _RecentSpans:
    """The rows last read for each recent span, as stored and as ``MinuteRow`` lists.

    The stats route reads a video's hour (about 60 rows) per request; making the
    rows cost more than reading them, and the API then compared them field by field
    with those its kept answer was made from. Comparing the stored tuples (strings and
    integers, compared in C) and handing back the same list lets the API find its
    answer by identity. Bounded: the oldest span goes when full.
    """

    def __init__(self, entries: int = 512) -> None:
        self._entries = entries
        self._known: dict[tuple[str, int, int], tuple[list[tuple[str, int, int, str]], list[MinuteRow]]] = {}

    def rows(self, span: tuple[str, int, int], raw: list[tuple[str, int, int, str]]) -> list[MinuteRow]:
        known = self._known.get(span)
        if known is not None and known[0] == raw:
            return known[1]
        rows = [_row(r) for r in raw]
        if len(self._known) >= self._entries and span not in self._known:
            with contextlib.suppress(StopIteration, KeyError):  # another thread may have taken it
                del self._known[next(iter(self._known))]
        self._known[span] = (raw, rows)
        return rows


def _row(r: tuple[str, int, int, str]) -> MinuteRow:
    return MinuteRow(
        video_id=r[0], minute=datetime.fromtimestamp(r[1] / 1000, tz=UTC), partition=r[2], document=r[3]
    )
