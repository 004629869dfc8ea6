"""The embedded catalog store: one SQLite file, shared by the worker (writer) and the API (reader).

Query-first, like the Cassandra tables it stands in for: one table per
query, each holding the whole row as a document, no joins.

- ``videos_by_id``      (video_id)                     → ``get``
- ``videos_by_newest``  (created_at desc, video_id desc) → ``list_newest``

WAL mode lets the API read while the worker writes from another process;
``busy_timeout`` waits out the writer's lock instead of failing. sqlite3 is
blocking, so every call runs in a worker thread on one connection.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from views.catalog import MAX_PAGE_SIZE, ListCursor, VideoPage, VideoRecord
from views.catalog_rows import from_document, to_document
from views.errors import StoreUnavailableError, ViewStoreError

__all__ = ["SqliteCatalogStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos_by_id (
    video_id TEXT PRIMARY KEY,
    doc      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS videos_by_newest (
    created_at_us INTEGER NOT NULL,
    video_id      TEXT NOT NULL,
    doc           TEXT NOT NULL,
    PRIMARY KEY (created_at_us DESC, video_id DESC)
) WITHOUT ROWID;
"""


class SqliteCatalogStore:
    def __init__(self, path: Path | str) -> None:
        """``path`` is a file (created with its folder) or ``:memory:``."""
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoint, fast commits
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open the catalog database {self._path}: {exc}") from exc
        self._conn = conn

    # -- the reader's side -----------------------------------------------------------------

    async def get(self, video_id: str) -> VideoRecord | None:
        def query(conn: sqlite3.Connection) -> VideoRecord | None:
            row = conn.execute("SELECT doc FROM videos_by_id WHERE video_id = ?", (video_id,)).fetchone()
            return None if row is None else from_document(row[0])

        return await self._run(query)

    async def list_newest(self, *, limit: int, after: ListCursor | None = None) -> VideoPage:
        limit = max(1, min(limit, MAX_PAGE_SIZE))

        def query(conn: sqlite3.Connection) -> VideoPage:
            if after is None:
                rows = conn.execute(
                    "SELECT doc FROM videos_by_newest ORDER BY created_at_us DESC, video_id DESC LIMIT ?",
                    (limit + 1,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT doc FROM videos_by_newest WHERE (created_at_us, video_id) < (?, ?) "
                    "ORDER BY created_at_us DESC, video_id DESC LIMIT ?",
                    (_micros(after.created_at), after.video_id, limit + 1),
                ).fetchall()
            videos = tuple(from_document(r[0]) for r in rows[:limit])
            next_cursor = None
            if len(rows) > limit:
                last = videos[-1]
                assert last.created_at is not None
                next_cursor = ListCursor(created_at=last.created_at, video_id=last.video_id)
            return VideoPage(videos=videos, next_cursor=next_cursor)

        return await self._run(query)

    async def check(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT count(*) FROM videos_by_id LIMIT 1").fetchone())

    # -- the builder's side ----------------------------------------------------------------

    async def put(self, record: VideoRecord) -> None:
        doc = to_document(record)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM videos_by_newest WHERE video_id = ?", (record.video_id,))
                conn.execute(
                    "INSERT INTO videos_by_id (video_id, doc) VALUES (?, ?) "
                    "ON CONFLICT (video_id) DO UPDATE SET doc = excluded.doc",
                    (record.video_id, doc),
                )
                if record.created_at is not None:  # not listed until its upload is known
                    conn.execute(
                        "INSERT INTO videos_by_newest (created_at_us, video_id, doc) VALUES (?, ?, ?)",
                        (_micros(record.created_at), record.video_id, doc),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        await self._run(write)

    async def scan(self) -> list[VideoRecord]:
        def query(conn: sqlite3.Connection) -> list[VideoRecord]:
            rows = conn.execute("SELECT doc FROM videos_by_id ORDER BY video_id").fetchall()
            return [from_document(r[0]) for r in rows]

        return await self._run(query)

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise StoreUnavailableError(f"the catalog store {self._path} is closed")
            try:
                return work(self._conn)
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
                raise ViewStoreError(f"catalog database {self._path}: {exc}") from exc  # a bug: no retry
            except sqlite3.Error as exc:  # locked, unreadable, corrupt, disk full: may pass, retry
                raise StoreUnavailableError(f"catalog database {self._path}: {exc}") from exc


def _micros(value: datetime) -> int:
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
