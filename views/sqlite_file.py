"""One SQLite file shared by a view's writer and its readers: opened the same way, called the same way.

WAL lets readers read while another process writes; ``busy_timeout`` waits
out the writer's lock instead of failing. sqlite3 is blocking, so every call
runs in a worker thread, one at a time on the one connection; its errors
become ``views.errors``' (a store that cannot serve: ``StoreUnavailableError``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from views.errors import StoreUnavailableError, ViewStoreError

__all__ = ["SqliteFile"]

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000


class SqliteFile:
    def __init__(self, path: Path | str, *, view: str, schema: str) -> None:
        """``path`` is a file (created with its folder) or ``:memory:``; ``view`` names it in errors."""
        self.path = str(path)
        self._view = view
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(schema)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open the {view} database {self.path}: {exc}") from exc
        self._conn = conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise StoreUnavailableError(f"the {self._view} store {self.path} is closed")
            try:
                return work(self._conn)
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
                raise ViewStoreError(f"{self._view} database {self.path}: {exc}") from exc
            except sqlite3.Error as exc:
                raise StoreUnavailableError(f"{self._view} database {self.path}: {exc}") from exc
