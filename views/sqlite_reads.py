"""Reads of a SQLite view file on the caller's own thread: a connection per thread, no lock, no hop.

A point read or a page of a WAL database takes microseconds; sending it to a
worker thread and queueing it behind one lock (as writes are) cost the query
API ten times that. So readers run on the event loop itself, each thread on a
query-only connection of its own (WAL: readers never wait for the writer, nor
it for them). Such a connection never waits for a lock (``busy_timeout`` 0):
in the rare moments a reader must (the writer recovering the WAL, say), the
read is retried in a worker thread on a connection that waits, so the loop
never blocks on a lock.

Not for ``:memory:``: another connection would open another, empty,
database; its store reads through its one connection instead.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.request import pathname2url

from views.errors import StoreUnavailableError, ViewStoreError

__all__ = ["SqliteReader"]

T = TypeVar("T")
PATIENT_BUSY_TIMEOUT_MS = 10_000
_WAITING = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class _Busy(Exception):
    """A read met a lock; the caller retries it on a connection that waits."""


class SqliteReader:
    def __init__(self, path: Path | str, *, view: str) -> None:
        """``path``: an existing file; ``view`` names it in errors."""
        self.path = str(path)
        self._view = view
        # one leading slash: "//tmp/x" (a URL's path, say) would read as the URI authority "tmp"
        absolute = "/" + str(Path(self.path).absolute()).lstrip("/")
        self._uri = f"file:{pathname2url(absolute)}?mode=rw"
        self._mine = threading.local()  # this thread's (busy_timeout ms → connection)
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _opened and _closed: taken to open and close, not to read
        self._closed = False

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on this thread's connection; on a lock, in a worker thread that waits it out."""
        try:
            return self._run(work, busy_timeout_ms=0)
        except _Busy:
            return await asyncio.to_thread(self._patiently, work)

    def close(self) -> None:
        """Close every thread's connection; later reads raise ``StoreUnavailableError``."""
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()

    def _patiently(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return self._run(work, busy_timeout_ms=PATIENT_BUSY_TIMEOUT_MS)
        except _Busy as exc:  # waited the whole timeout: the same answer a writer's lock gives
            raise StoreUnavailableError(f"{self._view} database {self.path}: {exc}") from exc

    def _run(self, work: Callable[[sqlite3.Connection], T], *, busy_timeout_ms: int) -> T:
        conn = self._connection(busy_timeout_ms)
        try:
            return work(conn)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
            if self._closed:  # closed by another thread mid-read
                raise StoreUnavailableError(f"the {self._view} store {self.path} is closed") from exc
            raise ViewStoreError(f"{self._view} database {self.path}: {exc}") from exc  # a bug: no retry
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _WAITING:
                raise _Busy(str(exc)) from exc
            raise StoreUnavailableError(f"{self._view} database {self.path}: {exc}") from exc

    def _connection(self, busy_timeout_ms: int) -> sqlite3.Connection:
        mine: dict[int, sqlite3.Connection] | None = getattr(self._mine, "connections", None)
        if mine is None:
            mine = self._mine.connections = {}
        conn = mine.get(busy_timeout_ms)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreUnavailableError(f"the {self._view} store {self.path} is closed")
            try:
                # mode=rw: a file removed under the API is an error to report, not an empty one to create
                # (read-write, as a read-only connection to a WAL file needs its -shm to exist already)
                conn = sqlite3.connect(self._uri, uri=True, check_same_thread=False, isolation_level=None)
            except sqlite3.Error as exc:
                raise self._cannot_open(exc) from exc
            self._opened.append(conn)  # closed with the others, even if the pragmas below fail
        try:
            conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            conn.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            raise self._cannot_open(exc) from exc
        mine[busy_timeout_ms] = conn
        return conn

    def _cannot_open(self, exc: sqlite3.Error) -> StoreUnavailableError:
        return StoreUnavailableError(f"cannot open the {self._view} database {self.path}: {exc}")
