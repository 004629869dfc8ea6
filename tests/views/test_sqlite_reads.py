"""Reads on the caller's thread: a connection per thread, the loop never waiting on a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from views.errors import StoreUnavailableError, ViewStoreError
from views.sqlite_reads import SqliteReader


@pytest.fixture
def path(tmp_path: Path) -> Path:
    db = tmp_path / "view.db"
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES ('a', 'first')")
    finally:
        conn.close()
    return db


@pytest.fixture
async def reader(path: Path) -> AsyncIterator[SqliteReader]:
    r = SqliteReader(path, view="test")
    yield r
    r.close()


def _value(conn: sqlite3.Connection) -> str:
    return str(conn.execute("SELECT v FROM t WHERE k = 'a'").fetchone()[0])


def _locked() -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("database is locked")
    exc.sqlite_errorcode = sqlite3.SQLITE_BUSY
    return exc


async def test_a_read_runs_on_the_callers_thread_and_sees_each_commit(
    reader: SqliteReader, path: Path
) -> None:
    threads: list[int] = []

    def work(conn: sqlite3.Connection) -> str:
        threads.append(threading.get_ident())
        return _value(conn)

    assert await reader.read(work) == "first"
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("UPDATE t SET v = 'second' WHERE k = 'a'")
    finally:
        writer.close()
    assert await reader.read(work) == "second"  # a new read transaction: the last commit
    assert threads == [threading.get_ident()] * 2


async def test_a_read_that_meets_a_lock_is_retried_in_a_thread_that_waits(reader: SqliteReader) -> None:
    """The loop's connection never waits (busy_timeout 0): the retry does, off the loop."""
    loop_thread = threading.get_ident()
    calls: list[tuple[int, int]] = []

    def work(conn: sqlite3.Connection) -> str:
        calls.append((threading.get_ident(), conn.execute("PRAGMA busy_timeout").fetchone()[0]))
        if len(calls) == 1:
            raise _locked()
        return _value(conn)

    assert await reader.read(work) == "first"
    assert calls[0] == (loop_thread, 0)
    assert calls[1][0] != loop_thread and calls[1][1] > 0


async def test_a_lock_that_outlasts_the_wait_is_a_store_that_cannot_serve(reader: SqliteReader) -> None:
    def work(conn: sqlite3.Connection) -> str:
        raise _locked()

    with pytest.raises(StoreUnavailableError, match="locked"):
        await reader.read(work)


async def test_connections_are_query_only_and_a_bad_statement_is_a_store_error(reader: SqliteReader) -> None:
    with pytest.raises(StoreUnavailableError, match="readonly"):
        await reader.read(lambda conn: conn.execute("DELETE FROM t"))
    with pytest.raises(ViewStoreError, match="binding"):  # a bug, not a store to retry
        await reader.read(lambda conn: conn.execute("SELECT v FROM t WHERE k = ?", ()))


async def test_a_missing_file_is_unavailable_not_created(tmp_path: Path) -> None:
    reader = SqliteReader(tmp_path / "none.db", view="test")
    try:
        with pytest.raises(StoreUnavailableError, match="cannot open the test database"):
            await reader.read(_value)
        assert not (tmp_path / "none.db").exists()
    finally:
        reader.close()


async def test_after_close_every_thread_is_refused(reader: SqliteReader) -> None:
    assert await reader.read(_value) == "first"
    assert await asyncio.to_thread(asyncio.run, reader.read(_value)) == "first"  # another thread's
    reader.close()
    with pytest.raises(StoreUnavailableError, match="closed"):
        await reader.read(_value)
    with pytest.raises(StoreUnavailableError, match="closed"):
        await asyncio.to_thread(asyncio.run, reader.read(_value))
