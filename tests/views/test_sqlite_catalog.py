"""SQLite's own side of the catalog store: one file shared by a writer and readers in other processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from views.catalog import VideoRecord, VideoStatus
from views.errors import StoreUnavailableError, ViewStoreError
from views.sqlite_catalog import SqliteCatalogStore

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def video(video_id: str, *, created_at: datetime | None = T0, title: str = "") -> VideoRecord:
    return VideoRecord(
        video_id=video_id, status=VideoStatus.UPLOADED, updated_at=T0, created_at=created_at, title=title
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "views" / "catalog.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteCatalogStore]:
    s = SqliteCatalogStore(path)
    yield s
    await s.close()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def raw(path: Path) -> sqlite3.Connection:
    """A connection of its own, as another process would have."""
    return sqlite3.connect(path, isolation_level=None, timeout=0.1)


async def test_the_folder_is_created_and_the_file_is_in_wal_mode(
    store: SqliteCatalogStore, path: Path
) -> None:
    conn = raw(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_readers_are_not_blocked_by_a_writer_holding_its_transaction(
    store: SqliteCatalogStore, path: Path
) -> None:
    await store.put(video("v1", title="before"))
    writer = raw(path)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE videos_by_id SET doc = 'uncommitted' WHERE video_id = 'v1'")
        row = await store.get("v1")  # the committed row, at once: WAL readers see the last commit
        assert row is not None and row.title == "before"
        assert [v.video_id for v in (await store.list_newest(limit=5)).videos] == ["v1"]
        writer.execute("ROLLBACK")
    finally:
        writer.close()


async def test_a_put_waits_for_another_writer_instead_of_failing(
    store: SqliteCatalogStore, path: Path
) -> None:
    other = raw(path)
    try:
        other.execute("BEGIN IMMEDIATE")
        put = asyncio.ensure_future(store.put(video("v1")))
        await asyncio.sleep(0.3)  # the lock is held: the put waits (busy_timeout) rather than failing
        assert not put.done()
        other.execute("COMMIT")
        await put
    finally:
        other.close()
    assert await store.get("v1") == video("v1")


async def test_another_process_writing_the_file_is_seen(store: SqliteCatalogStore, path: Path) -> None:
    await store.check()  # opened (and the file created) before the other process writes
    script = textwrap.dedent(
        f"""
        import asyncio
        from datetime import datetime, UTC
        from views.catalog import VideoRecord, VideoStatus
        from views.sqlite_catalog import SqliteCatalogStore

        async def main() -> None:
            store = SqliteCatalogStore({str(path)!r})
            t = datetime(2026, 11, 1, 12, tzinfo=UTC)
            await store.put(VideoRecord(video_id="from-worker", status=VideoStatus.READY, updated_at=t,
                                        created_at=t))
            await store.close()

        asyncio.run(main())
        """
    )
    repo = Path(__file__).parents[2]
    await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], check=True, cwd=repo, timeout=60)
    row = await store.get("from-worker")
    assert row is not None and row.status is VideoStatus.READY
    assert [v.video_id for v in (await store.list_newest(limit=5)).videos] == ["from-worker"]


async def test_check_reports_a_file_removed_or_replaced_under_the_open_store(
    store: SqliteCatalogStore, path: Path
) -> None:
    await store.put(video("v1"))
    await store.check()
    remove_database(path)
    with pytest.raises(StoreUnavailableError, match="gone"):
        await store.check()

    await SqliteCatalogStore(path).close()  # someone creates a new, empty catalog at the same path
    with pytest.raises(StoreUnavailableError, match="replaced"):
        await store.check()


def test_a_file_that_is_not_a_database_is_unavailable_at_open(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailableError, match="cannot open the catalog database"):
        SqliteCatalogStore(path)


async def test_a_row_that_is_not_a_document_is_a_store_error_and_can_be_overwritten(
    store: SqliteCatalogStore, path: Path
) -> None:
    await store.put(video("v1", created_at=T0))
    conn = raw(path)
    try:
        conn.execute("UPDATE videos_by_id SET doc = 'not json' WHERE video_id = 'v1'")
    finally:
        conn.close()
    with pytest.raises(ViewStoreError, match="not a video"):
        await store.get("v1")

    fixed = video("v1", created_at=T0 + timedelta(minutes=1), title="fixed")
    await store.put(fixed)  # the old listing is still found and moved
    assert await store.get("v1") == fixed
    assert (await store.list_newest(limit=5)).videos == (fixed,)


async def test_writes_and_reads_address_rows_by_key_not_by_scanning(
    store: SqliteCatalogStore, path: Path
) -> None:
    """A put once deleted by video_id from the newest table: a scan per event, 10 ms at 20k videos."""
    for i in range(3):
        await store.put(video(f"v{i}", created_at=T0 + timedelta(seconds=i)))

    async def moves_and_reads() -> None:
        await store.put(video("v1", created_at=T0 + timedelta(hours=1)))  # moves its listing
        await store.put(video("v3", created_at=None))
        await store.get("v1")
        page = await store.list_newest(limit=2)
        await store.list_newest(limit=2, after=page.next_cursor)

    plans = await query_plans(store, path, moves_and_reads)
    first_page = [p for sql, p in plans.items() if "ORDER BY" in sql and "WHERE" not in sql]
    keyed = [p for sql, p in plans.items() if not ("ORDER BY" in sql and "WHERE" not in sql)]
    assert len(first_page) == 1 and "TEMP B-TREE" not in first_page[0]  # a walk down the key, no sort
    assert len(keyed) >= 5 and not [p for p in keyed if "SCAN" in p or "TEMP B-TREE" in p]


async def query_plans(
    store: SqliteCatalogStore, path: Path, work: Callable[[], Awaitable[None]]
) -> dict[str, str]:
    """SQLite's plan for each statement the store ran during ``work``."""
    statements: list[str] = []
    await store.get("any")  # opens this thread's read connection
    # white-box on purpose: the plan is what this test is about; writes go through the store's
    # connection, reads through its reader's connection for this thread
    assert store._conn is not None and store._reader is not None
    connections = [store._conn, *store._reader._opened]
    for conn in connections:
        conn.set_trace_callback(statements.append)
    try:
        await work()
    finally:
        for conn in connections:
            conn.set_trace_callback(None)
    explain = raw(path)
    try:
        return {
            sql: " | ".join(row[3] for row in explain.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in statements
            if sql.split()[0] in {"SELECT", "INSERT", "UPDATE", "DELETE"}
        }
    finally:
        explain.close()
