"""The playback store contract, run against every backend: SQLite, and a real Cassandra node.

What the worker and the API rely on: minute rows written whole per (video,
minute, partition), overwritten and deleted by key, read back by video or
over every video for a range; one board per window. Each Cassandra test
starts from empty tables in this module's keyspace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from views.errors import StoreUnavailableError
from views.playback import BoardRow, MinuteRow, PlaybackStore
from views.stores import open_playback_store

from harness import CassandraKeyspace, backend_params, store_opener

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Opener = Callable[[], Awaitable[PlaybackStore]]


@pytest.fixture(params=backend_params())
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens stores on the same backing database, so a reopened store sees what was written."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'playback.db'}"
    else:
        keyspace: CassandraKeyspace = request.getfixturevalue("cassandra_keyspace")
        keyspace.reset("playback_")
        url = keyspace.url
    return store_opener(open_playback_store, url, request.param)


@pytest.fixture
async def store(open_store: Opener) -> AsyncIterator[PlaybackStore]:
    s = await open_store()
    yield s
    await s.close()


def row(video_id: str, minute: datetime, partition: int = 0, document: str | None = None) -> MinuteRow:
    doc = document if document is not None else f'{{"v":"{video_id}","m":"{minute:%H:%M}","p":{partition}}}'
    return MinuteRow(video_id=video_id, minute=minute, partition=partition, document=doc)


async def test_a_board_is_replaced_per_window_and_survives_a_reopen(open_store: Opener) -> None:
    store = await open_store()
    try:
        assert await store.board("1h") is None
        await store.write_board(BoardRow("1h", '{"v":1}'))
        await store.write_board(BoardRow("24h", '{"v":2}'))
        await store.write_board(BoardRow("1h", '{"v":3}'))
    finally:
        await store.close()

    reopened = await open_store()
    try:
        assert await reopened.board("1h") == BoardRow("1h", '{"v":3}')
        assert await reopened.board("24h") == BoardRow("24h", '{"v":2}')
        assert await reopened.board("7d") is None
    finally:
        await reopened.close()


async def test_rows_are_read_back_by_video_in_minute_then_partition_order(store: PlaybackStore) -> None:
    rows = [row("a", T0 + timedelta(minutes=m), p) for m in (2, 0, 1) for p in (1, 0)]
    await store.write([*rows, row("b", T0)], offsets={0: 10, 1: 7})

    got = await store.minutes("a", start=T0, end=T0 + timedelta(hours=1))
    assert got == sorted(rows, key=lambda r: (r.minute, r.partition))
    assert all(r.minute.utcoffset() == timedelta(0) for r in got)  # aware UTC, as written
    assert await store.minutes("nobody", start=T0, end=T0 + timedelta(hours=1)) == []


async def test_a_range_is_start_inclusive_and_end_exclusive(store: PlaybackStore) -> None:
    await store.write([row("a", T0 + timedelta(minutes=m)) for m in range(5)], offsets={0: 5})
    got = await store.minutes("a", start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3))
    assert [r.minute for r in got] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    everyone = await store.all_minutes(start=T0 + timedelta(minutes=4), end=T0 + timedelta(minutes=5))
    assert [r.minute for r in everyone] == [T0 + timedelta(minutes=4)]
    assert await store.minutes("a", start=T0 + timedelta(minutes=3), end=T0 + timedelta(minutes=3)) == []


async def test_a_rewritten_row_keeps_only_its_last_value(store: PlaybackStore) -> None:
    await store.write([row("a", T0, 0, '{"views":1}')], offsets={0: 1})
    await store.write([row("a", T0, 0, '{"views":2}'), row("a", T0, 1, '{"views":5}')], offsets={0: 2, 1: 1})
    await store.write([row("a", T0, 0, '{"views":2}')], offsets={0: 2})  # a replay writes the same again

    got = await store.minutes("a", start=T0, end=T0 + timedelta(minutes=1))
    assert [(r.partition, r.document) for r in got] == [(0, '{"views":2}'), (1, '{"views":5}')]


async def test_the_last_row_of_a_key_in_one_write_wins(store: PlaybackStore) -> None:
    await store.write([row("a", T0, 0, '{"n":1}'), row("a", T0, 0, '{"n":2}')], offsets={0: 2})
    got = await store.minutes("a", start=T0, end=T0 + timedelta(minutes=1))
    assert [r.document for r in got] == ['{"n":2}']


async def test_an_empty_document_deletes_the_row_from_every_read(store: PlaybackStore) -> None:
    await store.write([row("a", T0), row("a", T0, 1), row("b", T0)], offsets={0: 2, 1: 1})
    await store.write([row("a", T0, 0, "")], offsets={0: 3})
    await store.write([row("nobody", T0, 0, "")], offsets={0: 4})  # deleting what is not there is fine

    assert [
        (r.video_id, r.partition) for r in await store.minutes("a", start=T0, end=T0 + timedelta(hours=1))
    ] == [("a", 1)]
    everyone = await store.all_minutes(start=T0, end=T0 + timedelta(hours=1))
    assert [(r.video_id, r.partition) for r in everyone] == [("a", 1), ("b", 0)]


async def test_all_minutes_reads_every_video_in_video_minute_partition_order(store: PlaybackStore) -> None:
    rows = [row(v, T0 + timedelta(minutes=m), p) for v in ("c", "a", "b") for m in (3, 1) for p in (2, 0)]
    await store.write(rows, offsets={0: 1, 2: 1})
    await store.write([row("a", T0 + timedelta(hours=2))], offsets={0: 2})  # outside the range

    got = await store.all_minutes(start=T0, end=T0 + timedelta(hours=1))
    assert got == sorted(rows, key=lambda r: (r.video_id, r.minute, r.partition))


async def test_ranges_span_days_hours_and_a_new_year(store: PlaybackStore) -> None:
    """Rows far apart in time: a week of one video, every video over a year's end."""
    eve = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    times = [eve - timedelta(days=6, hours=5), eve - timedelta(hours=1), eve, eve + timedelta(minutes=1)]
    times.append(eve + timedelta(days=1, hours=3))
    await store.write(
        [row("a", t) for t in times] + [row("b", eve + timedelta(minutes=1), 3)], offsets={0: 6}
    )

    week = await store.minutes("a", start=eve - timedelta(days=7), end=eve + timedelta(days=7))
    assert [r.minute for r in week] == times
    around = await store.all_minutes(start=eve - timedelta(hours=1), end=eve + timedelta(days=1))
    assert [(r.video_id, r.minute) for r in around] == [
        ("a", eve - timedelta(hours=1)),
        ("a", eve),
        ("a", eve + timedelta(minutes=1)),
        ("b", eve + timedelta(minutes=1)),
    ]


async def test_large_documents_and_many_rows_are_written_whole(store: PlaybackStore) -> None:
    """A minute's viewer set can be large: a write is never cut or refused for its size."""
    viewers = ",".join(f'"viewer-{i:06d}"' for i in range(3000))  # about 50 kB, one row
    big = row("popular", T0, 0, f'{{"viewers":[{viewers}]}}')
    many = [
        row("popular", T0 + timedelta(minutes=m), p, f'{{"pad":"{"x" * 20_000}"}}')
        for m in (1, 2)
        for p in (0, 1)
    ]
    small = [row(f"v{i:04d}", T0 + timedelta(minutes=i % 60), i % 4) for i in range(1500)]
    await store.write([big, *many, *small], offsets={p: 1500 for p in range(4)})

    got = await store.minutes("popular", start=T0, end=T0 + timedelta(hours=1))
    assert got == [big, *sorted(many, key=lambda r: (r.minute, r.partition))]
    everyone = await store.all_minutes(start=T0, end=T0 + timedelta(hours=1))
    assert len(everyone) == 1 + len(many) + len(small)


async def test_two_instances_see_each_others_writes(open_store: Opener) -> None:
    writer, reader = await open_store(), await open_store()
    try:
        await writer.write([row("shared", T0)], offsets={0: 1})
        await writer.write_board(BoardRow("1h", "{}"))
        assert await reader.minutes("shared", start=T0, end=T0 + timedelta(minutes=1)) == [row("shared", T0)]
        assert await reader.board("1h") == BoardRow("1h", "{}")
        await reader.check()
    finally:
        await writer.close()
        await reader.close()


async def test_a_closed_store_is_unavailable(open_store: Opener) -> None:
    store = await open_store()
    await store.check()
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await store.check()
    with pytest.raises(StoreUnavailableError):
        await store.minutes("a", start=T0, end=T0 + timedelta(minutes=1))
    with pytest.raises(StoreUnavailableError):
        await store.write([row("a", T0)], offsets={0: 1})


async def test_a_snapshot_is_replaced_per_partition_and_survives_a_reopen(open_store: Opener) -> None:
    """The worker's state: opaque bytes (any byte, large) and the offset a restart goes on from."""
    big = bytes(range(256)) * 4096  # 1 MiB, every byte value
    store = await open_store()
    try:
        assert await store.snapshot(0) is None
        await store.write_snapshot(0, 10, b"first")
        await store.write_snapshot(1, 7, big)
        await store.write_snapshot(0, 25, b"\x00second\xff")
    finally:
        await store.close()

    reopened = await open_store()
    try:
        assert await reopened.snapshot(0) == (25, b"\x00second\xff")
        assert await reopened.snapshot(1) == (7, big)
        assert await reopened.snapshot(2) is None
    finally:
        await reopened.close()
