"""The embedded interactions store: one row per (viewer, video, partition), the fold's offsets."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from views.recs import InteractionRow
from views.sqlite_file import SqliteFile

__all__ = ["SqliteRecsStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS recs_interactions (
    viewer             TEXT NOT NULL,
    video_id           TEXT NOT NULL,
    partition          INTEGER NOT NULL,
    watched_ms         INTEGER NOT NULL,
    duration_ms        INTEGER,
    sessions           INTEGER NOT NULL,
    completed_sessions INTEGER NOT NULL,
    seeks              INTEGER NOT NULL,
    updated_ms         INTEGER NOT NULL,
    PRIMARY KEY (viewer, video_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recs_offsets (
    partition   INTEGER PRIMARY KEY,
    next_offset INTEGER NOT NULL
);
"""
_COLUMNS = (
    "viewer, video_id, partition, watched_ms, duration_ms, sessions, completed_sessions, seeks, updated_ms"
)


class SqliteRecsStore:
    def __init__(self, path: Path | str) -> None:
        self._file = SqliteFile(path, view="recs", schema=_SCHEMA)

    async def write(self, rows: Sequence[InteractionRow], *, offsets: dict[int, int]) -> None:
        values = [_values(row) for row in rows]

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT INTO recs_interactions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (viewer, video_id, partition) DO UPDATE SET "
                    "watched_ms = excluded.watched_ms, duration_ms = excluded.duration_ms, "
                    "sessions = excluded.sessions, completed_sessions = excluded.completed_sessions, "
                    "seeks = excluded.seeks, updated_ms = excluded.updated_ms",
                    values,
                )
                conn.executemany(
                    "INSERT INTO recs_offsets (partition, next_offset) VALUES (?, ?) "
                    "ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset",
                    sorted(offsets.items()),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(work)

    async def interactions_of(self, viewer: str) -> list[InteractionRow]:
        def query(conn: sqlite3.Connection) -> list[InteractionRow]:
            sql = f"SELECT {_COLUMNS} FROM recs_interactions WHERE viewer = ? ORDER BY video_id, partition"
            return [_row(r) for r in conn.execute(sql, (viewer,)).fetchall()]

        return await self._run(query)

    async def scan(self) -> list[InteractionRow]:
        def query(conn: sqlite3.Connection) -> list[InteractionRow]:
            sql = f"SELECT {_COLUMNS} FROM recs_interactions ORDER BY viewer, video_id, partition"
            return [_row(r) for r in conn.execute(sql).fetchall()]

        return await self._run(query)

    async def offsets(self) -> dict[int, int]:
        def query(conn: sqlite3.Connection) -> dict[int, int]:
            rows = conn.execute("SELECT partition, next_offset FROM recs_offsets").fetchall()
            return {int(p): int(o) for p, o in rows}

        return await self._run(query)

    async def check(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1 FROM recs_offsets LIMIT 1").fetchall())

    async def close(self) -> None:
        self._file.close()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._file.run(work)


def _values(row: InteractionRow) -> tuple[Any, ...]:
    updated_ms = int(row.updated_at.astimezone(UTC).timestamp() * 1000)
    return (
        row.viewer,
        row.video_id,
        row.partition,
        row.watched_ms,
        row.duration_ms,
        row.sessions,
        row.completed_sessions,
        row.seeks,
        updated_ms,
    )


def _row(r: tuple[Any, ...]) -> InteractionRow:
    return InteractionRow(
        viewer=r[0],
        video_id=r[1],
        partition=int(r[2]),
        watched_ms=int(r[3]),
        duration_ms=None if r[4] is None else int(r[4]),
        sessions=int(r[5]),
        completed_sessions=int(r[6]),
        seeks=int(r[7]),
        updated_at=datetime.fromtimestamp(r[8] / 1000, tz=UTC),
    )
