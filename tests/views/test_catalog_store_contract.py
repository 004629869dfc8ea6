"""The catalog store contract, run against every backend (SQLite now; Cassandra plugs in as a param)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from views.catalog import CatalogStore, ListCursor, RenditionRecord, VideoRecord, VideoStatus
from views.errors import StoreUnavailableError
from views.stores import open_catalog_store

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Opener = Callable[[], CatalogStore]


@pytest.fixture(params=["sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens stores on the same backing database, so two instances see each other's writes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'views' / 'catalog.db'}"
        return lambda: open_catalog_store(url)
    raise AssertionError(request.param)


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[CatalogStore]:
    s = open_store()
    yield s
    await s.close()


def video(video_id: str, *, created_at: datetime | None = T0, **fields: object) -> VideoRecord:
    row = VideoRecord(
        video_id=video_id,
        status=VideoStatus.UPLOADED,
        updated_at=created_at or T0,
        created_at=created_at,
        title=f"title of {video_id}",
    )
    return dataclasses.replace(row, **fields)  # type: ignore[arg-type]


async def test_a_row_put_is_read_back_whole(store: CatalogStore) -> None:
    row = video(
        "v1",
        tags=("a", "b"),
        duration_ms=1234,
        job_id="j1",
        planned_renditions=("360p",),
        renditions=(
            RenditionRecord(
                name="360p",
                codec="H264",
                width=640,
                height=360,
                bitrate_kbps=800,
                segment_duration_s=4.0,
                encoder="libx264",
                manifest_key="k/360p.m3u8",
                init_key="k/360p/init.mp4",
                segment_count=3,
                job_id="j1",
            ),
        ),
        status=VideoStatus.READY,
        progress_pct=100.0,
        progress_job_id="j1",
    )
    await store.put(row)
    assert await store.get("v1") == row
    assert await store.get("nope") is None


async def test_put_overwrites_and_a_changed_created_at_moves_the_row_in_the_list(store: CatalogStore) -> None:
    await store.put(video("v1", created_at=T0))
    await store.put(video("v2", created_at=T0 + timedelta(minutes=1)))
    await store.put(dataclasses.replace(video("v1", created_at=T0 + timedelta(minutes=2)), title="new"))

    page = await store.list_newest(limit=10)
    assert [v.video_id for v in page.videos] == ["v1", "v2"]  # v1 is listed once, at its new place
    assert page.videos[0].title == "new"


async def test_a_row_without_an_upload_is_kept_but_not_listed(store: CatalogStore) -> None:
    await store.put(video("orphan", created_at=None))
    assert (await store.get("orphan")) is not None
    assert (await store.list_newest(limit=10)).videos == ()


async def test_pages_never_skip_or_repeat_rows_even_with_equal_times(store: CatalogStore) -> None:
    ids = [f"v{i:03d}" for i in range(57)]
    for i, video_id in enumerate(ids):
        await store.put(video(video_id, created_at=T0 + timedelta(seconds=i // 10)))  # ties in tens

    seen: list[str] = []
    after: ListCursor | None = None
    pages = 0
    while True:
        page = await store.list_newest(limit=10, after=after)
        seen += [v.video_id for v in page.videos]
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    expected = sorted(ids, key=lambda i: (int(i[1:]) // 10, i), reverse=True)
    assert seen == expected
    assert pages == 6


async def test_a_page_size_is_bounded(store: CatalogStore) -> None:
    for i in range(105):
        await store.put(video(f"v{i:03d}", created_at=T0 + timedelta(seconds=i)))
    page = await store.list_newest(limit=1000)
    assert len(page.videos) == 100
    assert page.next_cursor is not None


async def test_scan_returns_every_row_by_id(store: CatalogStore) -> None:
    for video_id in ["b", "c", "a"]:
        await store.put(video(video_id))
    await store.put(video("z", created_at=None))
    assert [v.video_id for v in await store.scan()] == ["a", "b", "c", "z"]


async def test_two_instances_see_each_others_writes(open_store: Opener) -> None:
    writer, reader = open_store(), open_store()
    try:
        await writer.put(video("shared"))
        assert (await reader.get("shared")) == video("shared")
        await reader.check()
    finally:
        await writer.close()
        await reader.close()


async def test_a_closed_store_is_unavailable(open_store: Opener) -> None:
    store = open_store()
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await store.check()
    with pytest.raises(StoreUnavailableError):
        await store.get("v1")


def test_a_corrupt_sqlite_file_is_reported_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreUnavailableError, match="catalog"):
        open_catalog_store(f"sqlite:///{path}")


def test_store_urls_are_checked() -> None:
    with pytest.raises(ValueError, match="unsupported scheme 'cassandra'"):
        open_catalog_store("cassandra://127.0.0.1:9042/tubestream")
    with pytest.raises(ValueError, match="expected sqlite:///"):
        open_catalog_store("sqlite://relative.db")


async def test_sqlite_is_in_wal_mode_so_readers_do_not_block_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    await open_catalog_store(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
