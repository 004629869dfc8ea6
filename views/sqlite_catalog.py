"""The embedded catalog store: one SQLite file, shared by the worker (writer) and the API (reader).

Query-first, like the Cassandra tables it stands in for: one table per
query, each holding the whole row as a document, no joins, and every
statement addressed by a primary key.

- ``videos_by_id``      (video_id)                     → ``get``, ``scan``
- ``videos_by_newest``  (created_at desc, video_id desc) → ``list_newest``

A video has at most one ``videos_by_newest`` entry, at the ``created_at`` of
its ``videos_by_id`` document, and none unless it is public; ``put`` keeps the two in step in one
transaction, finding the entry to move through the old document (as a
Cassandra writer would) rather than scanning for it.

WAL mode lets the API read while the worker writes from another process;
``busy_timeout`` waits out the writer's lock instead of failing. sqlite3 is
blocking, so writes (and ``scan``, ``check``) run in a worker thread on one
connection, one at a time; ``get`` and ``list_newest`` read on the caller's
thread through ``SqliteReader`` (a connection per thread, no lock), and reuse
the record decoded from a row while its document is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from views.catalog import MAX_PAGE_SIZE, ListCursor, VideoPage, VideoRecord, Visibility
from views.catalog_rows import created_at_of, from_document, to_document
from views.errors import StoreUnavailableError, ViewStoreError
from views.sqlite_reads import SqliteReader

__all__ = ["SqliteCatalogStore"]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
DECODED_ROWS = 4096  # records kept decoded, by video id: a page of hot videos many times over

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
    """``CatalogStore`` on one SQLite file; open one per process, close it when done."""

    def __init__(self, path: Path | str) -> None:
        """``path`` is a file (created with its folder) or ``:memory:``."""
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open the catalog database {self._path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                st = os.stat(self._path)
                self._file_id = (st.st_dev, st.st_ino)
            # WAL + NORMAL: an app crash loses nothing; a power cut may lose the last commits,
            # which a rebuild from the log (``tubestream catalog rebuild``) restores.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            raise StoreUnavailableError(f"cannot open the catalog database {self._path}: {exc}") from exc
        self._conn = conn
        # another connection to ":memory:" is another database: there, reads share the writer's
        self._reader = None if self._path == ":memory:" else SqliteReader(self._path, view="catalog")
        self._decoded: dict[str, tuple[str, VideoRecord]] = {}  # video id → (its document, the record)

    # -- the reader's side -----------------------------------------------------------------

    async def get(self, video_id: str) -> VideoRecord | None:
        def query(conn: sqlite3.Connection) -> VideoRecord | None:
            row = conn.execute("SELECT doc FROM videos_by_id WHERE video_id = ?", (video_id,)).fetchone()
            return None if row is None else self._decoded_row(video_id, row[0])

        return await self._read(query)

    async def visibility_of(self, video_id: str) -> Visibility | None:
        """From ``get``: the decoded-row memory makes a hot video's read a lookup and a comparison."""
        video = await self.get(video_id)
        return None if video is None else video.visibility

    async def list_newest(self, *, limit: int, after: ListCursor | None = None) -> VideoPage:
        """One page, newest first; ``limit`` is clamped to 1..MAX_PAGE_SIZE."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))

        def query(conn: sqlite3.Connection) -> VideoPage:
            # one row more than asked tells whether another page follows, so the last page says so
            if after is None:
                rows = conn.execute(
                    "SELECT video_id, doc FROM videos_by_newest "
                    "ORDER BY created_at_us DESC, video_id DESC LIMIT ?",
                    (limit + 1,),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT video_id, doc FROM videos_by_newest WHERE (created_at_us, video_id) < (?, ?) "
                    "ORDER BY created_at_us DESC, video_id DESC LIMIT ?",
                    (_micros(after.created_at), after.video_id, limit + 1),
                ).fetchall()
            videos = tuple(self._decoded_row(r[0], r[1]) for r in rows[:limit])
            next_cursor = None
            if len(rows) > limit:
                last = videos[-1]
                assert last.created_at is not None  # only rows with created_at are in this table
                next_cursor = ListCursor(created_at=last.created_at, video_id=last.video_id)
            return VideoPage(videos=videos, next_cursor=next_cursor)

        return await self._read(query)

    async def check(self) -> None:
        """Read both tables, and notice a file removed or replaced under an open connection.

        An open connection keeps reading a deleted file, so without the second
        check an API would serve a stale catalog and still report healthy.
        """

        def probe(conn: sqlite3.Connection) -> None:
            self._check_file()
            conn.execute("SELECT 1 FROM videos_by_id LIMIT 1").fetchall()
            conn.execute("SELECT 1 FROM videos_by_newest LIMIT 1").fetchall()

        await self._run(probe)

    # -- the builder's side ----------------------------------------------------------------

    async def put(self, record: VideoRecord) -> None:
        """Upsert the whole row in both tables, in one transaction."""
        doc = to_document(record)
        new_key = None if record.created_at is None or not record.listed else _micros(record.created_at)

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                old = conn.execute(
                    "SELECT doc FROM videos_by_id WHERE video_id = ?", (record.video_id,)
                ).fetchone()
                if old is not None:
                    _remove_moved_listing(conn, record.video_id, old[0], new_key)
                conn.execute(
                    "INSERT INTO videos_by_id (video_id, doc) VALUES (?, ?) "
                    "ON CONFLICT (video_id) DO UPDATE SET doc = excluded.doc",
                    (record.video_id, doc),
                )
                if new_key is not None:  # not listed until its upload is known, nor ever unless public
                    conn.execute(
                        "INSERT INTO videos_by_newest (created_at_us, video_id, doc) VALUES (?, ?, ?) "
                        "ON CONFLICT (created_at_us, video_id) DO UPDATE SET doc = excluded.doc",
                        (new_key, record.video_id, doc),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # SQLite may already have rolled back (disk full, I/O error)
                    conn.execute("ROLLBACK")
                raise

        await self._run(write)

    async def scan(self) -> list[VideoRecord]:
        """Every row, ordered by video_id."""

        def query(conn: sqlite3.Connection) -> list[VideoRecord]:
            rows = conn.execute("SELECT doc FROM videos_by_id ORDER BY video_id").fetchall()
            return [self._decode(r[0]) for r in rows]

        return await self._run(query)

    async def close(self) -> None:
        """Close the connections (in a thread: it waits for a write in flight); later calls fail."""
        if self._reader is not None:
            self._reader.close()
        await asyncio.to_thread(self._close)

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            return await self._run(work)
        return await self._reader.read(work)

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

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _check_file(self) -> None:
        if self._file_id is None:
            return
        try:
            st = os.stat(self._path)
        except OSError as exc:
            raise StoreUnavailableError(
                f"catalog database {self._path} is gone since this process opened it ({exc}); restart"
            ) from exc
        if (st.st_dev, st.st_ino) != self._file_id:
            raise StoreUnavailableError(
                f"catalog database {self._path} was replaced since this process opened it; restart"
            )

    def _decoded_row(self, video_id: str, doc: str) -> VideoRecord:
        """The record of ``doc``, decoded once while the row's document stays the same.

        Keyed by the whole document, not a version field: any change to the row, by any
        writer, is a new document, so a changed row is never answered from memory.
        """
        known = self._decoded.get(video_id)
        if known is not None and known[0] == doc:
            return known[1]
        record = self._decode(doc)
        if len(self._decoded) >= DECODED_ROWS:
            with contextlib.suppress(StopIteration, KeyError, RuntimeError):  # raced by another reader
                del self._decoded[next(iter(self._decoded))]  # the oldest entry
        self._decoded[video_id] = (doc, record)
        return record

    def _decode(self, doc: str) -> VideoRecord:
        try:
            return from_document(doc)
        except (ValueError, KeyError, TypeError) as exc:
            raise ViewStoreError(f"catalog database {self._path}: a row is not a video: {exc}") from exc


def _remove_moved_listing(conn: sqlite3.Connection, video_id: str, old_doc: str, new_key: int | None) -> None:
    """Delete the video's listing entry unless the new row keeps it at the same key."""
    try:
        old_created_at = created_at_of(json.loads(old_doc))
    except (ValueError, KeyError, TypeError, AttributeError):  # an unreadable old row: find it the slow way
        conn.execute("DELETE FROM videos_by_newest WHERE video_id = ?", (video_id,))
        return
    if old_created_at is None:
        return
    old_key = _micros(old_created_at)
    if old_key != new_key:
        conn.execute(
            "DELETE FROM videos_by_newest WHERE created_at_us = ? AND video_id = ?", (old_key, video_id)
        )


def _micros(value: datetime) -> int:
    """Exact integer microseconds since the epoch (a float timestamp would round)."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
