"""The catalog store contract, run against every backend: SQLite, and a real Cassandra node.

Only what every backend must do lives here; SQLite's own behaviour (WAL,
files, processes) is in ``test_sqlite_catalog.py``, Cassandra's (URLs,
schema versions, an unreachable cluster) in ``test_cassandra_cluster.py``.
Each Cassandra test starts from empty tables in this module's keyspace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from views.catalog import CatalogStore, ListCursor, RenditionRecord, VideoRecord, VideoStatus, Visibility
from views.errors import StoreUnavailableError
from views.stores import open_catalog_store

from harness import CassandraKeyspace, backend_params, store_opener

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Opener = Callable[[], Awaitable[CatalogStore]]


@pytest.fixture(params=backend_params())
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens stores on the same backing database, so two instances see each other's writes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'views' / 'catalog.db'}"
    else:
        keyspace: CassandraKeyspace = request.getfixturevalue("cassandra_keyspace")
        keyspace.reset("videos_")
        url = keyspace.url
    return store_opener(open_catalog_store, url, request.param)


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[CatalogStore]:
    s = await open_store()
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


async def test_poster_storyboard_and_measured_bitrates_are_read_back(store: CatalogStore) -> None:
    rendition = RenditionRecord(
        name="478p",
        codec="H264",
        width=854,
        height=478,
        bitrate_kbps=1389,
        segment_duration_s=4.0,
        encoder="libx264",
        manifest_key="videos/v1/j1/media_1.m3u8",
        job_id="j1",
        average_bitrate_kbps=1203,
        peak_bitrate_kbps=1650,
        duration_ms=8040,
        poster_key="videos/v1/j1/poster.jpg",
        storyboard_key="videos/v1/j1/storyboard.vtt",
    )
    row = video(
        "v1",
        status=VideoStatus.READY,
        job_id="j1",
        renditions=(rendition,),
        poster_key="videos/v1/j1/poster.jpg",
        storyboard_key="videos/v1/j1/storyboard.vtt",
        media_duration_ms=8040,
    )
    await store.put(row)
    assert await store.get("v1") == row
    assert (await store.list_newest(limit=1)).videos == (row,)


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
    writer, reader = await open_store(), await open_store()
    try:
        await writer.put(video("shared"))
        assert (await reader.get("shared")) == video("shared")
        await reader.check()
    finally:
        await writer.close()
        await reader.close()


async def test_a_closed_store_is_unavailable(open_store: Opener) -> None:
    store = await open_store()
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await store.check()
    with pytest.raises(StoreUnavailableError):
        await store.get("v1")


async def test_rewriting_a_row_at_the_same_time_keeps_one_listing_with_the_new_fields(
    store: CatalogStore,
) -> None:
    await store.put(video("v1"))
    await store.put(video("v1", status=VideoStatus.READY, title="ready now"))
    page = await store.list_newest(limit=10)
    assert [(v.video_id, v.title, v.status) for v in page.videos] == [("v1", "ready now", VideoStatus.READY)]


async def test_a_row_is_listed_once_its_upload_arrives(store: CatalogStore) -> None:
    await store.put(video("late", created_at=None, updated_at=T0))
    await store.put(video("late", created_at=T0 - timedelta(hours=1), updated_at=T0))
    page = await store.list_newest(limit=10)
    assert [v.video_id for v in page.videos] == ["late"]


async def test_the_last_page_says_so_even_when_it_is_full(store: CatalogStore) -> None:
    for i in range(20):
        await store.put(video(f"v{i:02d}", created_at=T0 + timedelta(seconds=i)))
    first = await store.list_newest(limit=10)
    assert first.next_cursor is not None
    second = await store.list_newest(limit=10, after=first.next_cursor)
    assert len(second.videos) == 10 and second.next_cursor is None


async def test_an_empty_catalog_is_one_empty_last_page(store: CatalogStore) -> None:
    page = await store.list_newest(limit=10)
    assert page.videos == () and page.next_cursor is None
    await store.check()


async def test_a_cursor_keeps_working_after_rows_are_added_above_it(store: CatalogStore) -> None:
    for i in range(6):
        await store.put(video(f"v{i}", created_at=T0 + timedelta(seconds=i)))
    first = await store.list_newest(limit=3)
    await store.put(video("newer", created_at=T0 + timedelta(hours=1)))  # lands on page one, not two
    assert first.next_cursor is not None
    second = await store.list_newest(limit=3, after=first.next_cursor)
    assert [v.video_id for v in second.videos] == ["v2", "v1", "v0"]


async def test_times_keep_their_microseconds_in_order_and_in_cursors(store: CatalogStore) -> None:
    await store.put(video("a", created_at=T0 + timedelta(microseconds=1)))
    await store.put(video("b", created_at=T0))
    first = await store.list_newest(limit=1)
    assert [v.video_id for v in first.videos] == ["a"]
    assert first.next_cursor == ListCursor(created_at=T0 + timedelta(microseconds=1), video_id="a")
    second = await store.list_newest(limit=1, after=first.next_cursor)
    assert [v.video_id for v in second.videos] == ["b"]


async def test_pages_walk_back_across_months_and_years(store: CatalogStore) -> None:
    """Newest first across month (and year) boundaries, cursors landing on a boundary included."""
    times = [datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
    times += [datetime(2026, month, 15, tzinfo=UTC) for month in (2, 2, 5, 11)]
    times += [datetime(2023, 7, 1, tzinfo=UTC)]  # months with nothing between: skipped, not scanned
    for i, created_at in enumerate(times):
        await store.put(video(f"v{i}", created_at=created_at))

    for limit in (1, 2, 3, 7):
        seen: list[str] = []
        after: ListCursor | None = None
        while True:
            page = await store.list_newest(limit=limit, after=after)
            seen += [v.video_id for v in page.videos]
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert seen == ["v5", "v4", "v3", "v2", "v1", "v0", "v6"], limit


async def test_a_row_moved_to_another_month_is_listed_once_there(store: CatalogStore) -> None:
    await store.put(video("v1", created_at=datetime(2026, 3, 1, tzinfo=UTC)))
    await store.put(video("v2", created_at=datetime(2026, 2, 1, tzinfo=UTC)))
    await store.put(video("v1", created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    page = await store.list_newest(limit=10)
    assert [(v.video_id, v.created_at) for v in page.videos] == [
        ("v2", datetime(2026, 2, 1, tzinfo=UTC)),
        ("v1", datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    assert await store.get("v1") == video("v1", created_at=datetime(2026, 1, 1, tzinfo=UTC))


async def test_a_listed_row_that_loses_its_upload_time_leaves_the_list(store: CatalogStore) -> None:
    await store.put(video("v1"))
    await store.put(video("v1", created_at=None, updated_at=T0))
    assert (await store.list_newest(limit=10)).videos == ()
    assert [v.video_id for v in await store.scan()] == ["v1"]


async def test_a_row_changed_by_another_writer_is_read_changed_not_from_memory(open_store: Opener) -> None:
    """A reader that keeps decoded rows must still answer each row as it is now, by id and in the list."""
    writer, reader = await open_store(), await open_store()
    try:
        await writer.put(video("v1", title="first"))
        assert (await reader.get("v1")) == video("v1", title="first")
        assert (await reader.get("v1")) == video("v1", title="first")  # a second read, maybe from memory
        assert (await reader.list_newest(limit=1)).videos == (video("v1", title="first"),)

        await writer.put(video("v1", title="second", status=VideoStatus.READY))
        changed = video("v1", title="second", status=VideoStatus.READY)
        assert (await reader.get("v1")) == changed
        assert (await reader.list_newest(limit=1)).videos == (changed,)
    finally:
        await writer.close()
        await reader.close()


async def test_an_unchanged_row_read_again_is_the_same_record(store: CatalogStore) -> None:
    """Reads reuse the decoded record, so the API finds its encoded answer by identity (no field compare)."""
    await store.put(video("v1"))
    first = await store.get("v1")
    assert first is not None
    assert (await store.get("v1")) is first
    assert (await store.list_newest(limit=1)).videos[0] is first


async def test_unlisted_and_private_rows_are_read_by_id_but_never_listed(store: CatalogStore) -> None:
    await store.put(video("pub", created_at=T0))
    await store.put(video("unl", created_at=T0 + timedelta(seconds=1), visibility=Visibility.UNLISTED))
    await store.put(video("priv", created_at=T0 + timedelta(seconds=2), visibility=Visibility.PRIVATE))

    assert [v.video_id for v in (await store.list_newest(limit=10)).videos] == ["pub"]
    unlisted = await store.get("unl")
    assert unlisted is not None and unlisted.visibility is Visibility.UNLISTED
    assert await store.visibility_of("priv") is Visibility.PRIVATE
    assert await store.visibility_of("unl") is Visibility.UNLISTED
    assert await store.visibility_of("pub") is Visibility.PUBLIC
    assert await store.visibility_of("nothing") is None
    assert [v.video_id for v in await store.scan()] == ["priv", "pub", "unl"]


async def test_a_listed_row_made_unlisted_leaves_the_list_and_is_back_once_public(
    store: CatalogStore,
) -> None:
    await store.put(video("v1"))
    await store.put(video("v1", visibility=Visibility.UNLISTED))
    assert (await store.list_newest(limit=10)).videos == ()
    await store.put(video("v1"))
    assert [v.video_id for v in (await store.list_newest(limit=10)).videos] == ["v1"]
