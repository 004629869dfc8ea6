"""The board holder's rounds: the boards a full scan writes, from a full read then the recent minutes only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stream_apps.playback.aggregates import DEFAULT_ALLOWED_LATENESS, PlaybackStats
from stream_apps.playback.rows import live_buckets, stats_to_document
from stream_apps.playback.worker import refresh_boards
from stream_apps.search.projection import POPULARITY_WINDOWS, popularity_by_video
from stream_apps.trending.keeper import BEHIND, BoardKeeper
from stream_apps.trending.score import TRENDING_WINDOWS
from views.errors import ViewStoreError
from views.playback import BoardRow, MinuteRow, PlaybackStore
from views.stores import open_playback_store

NOW = datetime(2026, 12, 2, 15, 0, 30, 250000, tzinfo=UTC)
MINUTE = NOW.replace(second=0, microsecond=0)


def row(video: str, minute: datetime, partition: int, *viewers: str) -> MinuteRow:
    stats = PlaybackStats(views=len(viewers), viewers=frozenset(viewers), events=len(viewers))
    return MinuteRow(video, minute.replace(second=0, microsecond=0), partition, stats_to_document(stats))


class Spy:
    """The store, with the ranges read and a switch to fail reads."""

    def __init__(self, store: PlaybackStore) -> None:
        self.store = store
        self.reads: list[tuple[datetime, datetime]] = []
        self.down = False

    async def all_minutes(self, *, start: datetime, end: datetime) -> list[MinuteRow]:
        if self.down:
            raise ViewStoreError("the store is down")
        self.reads.append((start, end))
        return await self.store.all_minutes(start=start, end=end)

    async def write_board(self, board: BoardRow) -> None:
        await self.store.write_board(board)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[PlaybackStore, PlaybackStore]]:
    """The store the keeper writes its boards to, and one refreshed by the full scan, same rows."""
    kept, scanned = (open_playback_store(f"sqlite:///{tmp_path / name}") for name in ("k.db", "s.db"))
    try:
        yield kept, scanned
    finally:
        await kept.close()
        await scanned.close()


async def write(stores: tuple[PlaybackStore, PlaybackStore], *rows: MinuteRow) -> None:
    for store in stores:
        await store.write(list(rows), offsets={})


async def same_boards(stores: tuple[PlaybackStore, PlaybackStore], now: datetime) -> bool:
    kept, scanned = stores
    await refresh_boards(scanned, now=now)
    return [await kept.board(w.name) for w in TRENDING_WINDOWS] == [
        await scanned.board(w.name) for w in TRENDING_WINDOWS
    ]


async def test_rounds_between_full_reads_read_the_recent_minutes_and_write_the_same_boards(
    stores: tuple[PlaybackStore, PlaybackStore],
) -> None:
    spy = Spy(stores[0])
    keeper = BoardKeeper(spy, view_windows=POPULARITY_WINDOWS)  # type: ignore[arg-type]
    await write(
        stores, row("old", NOW - timedelta(days=3), 0, "u1"), row("a", NOW - timedelta(hours=2), 1, "u1")
    )
    await keeper.refresh(NOW)
    assert spy.reads == [(NOW - max(POPULARITY_WINDOWS), NOW)] and keeper.full_reads == 1
    assert await same_boards(stores, NOW)

    now = NOW
    for step in range(1, 13):  # two minutes of rounds, views arriving and moving between partitions
        now += timedelta(seconds=10)
        await write(stores, row("a", now - timedelta(seconds=30), step % 2, "u1", f"u{step}"))
        await write(stores, row("b", now - timedelta(minutes=3), 0, *(f"u{i}" for i in range(step))))
        if step == 6:
            await write(stores, MinuteRow("a", (now - timedelta(seconds=30)).replace(second=0), 0, ""))
        previous = spy.reads[-1][1]
        await keeper.refresh(now)
        assert spy.reads[-1] == (previous - DEFAULT_ALLOWED_LATENESS - timedelta(minutes=1) - BEHIND, now)
        assert await same_boards(stores, now)
        views = keeper.views(now)
        assert views is not None
        week = await stores[1].all_minutes(start=now - max(POPULARITY_WINDOWS), end=now)
        assert {
            v: (p.views_24h, p.views_7d) for v, p in popularity_by_video(live_buckets(week), now=now).items()
        } == views
    assert keeper.full_reads == 1


async def test_a_backfill_in_an_old_minute_waits_for_the_next_full_read(
    stores: tuple[PlaybackStore, PlaybackStore],
) -> None:
    keeper = BoardKeeper(stores[0], full_every=timedelta(minutes=10))
    await write(stores, row("a", NOW - timedelta(minutes=1), 0, "u1"))
    await keeper.refresh(NOW)
    await write(stores, row("late", NOW - timedelta(minutes=30), 0, "u1", "u2"))  # a phone back online
    await keeper.refresh(NOW + timedelta(minutes=1))
    assert not await same_boards(stores, NOW + timedelta(minutes=1))
    await keeper.refresh(NOW + timedelta(minutes=10))  # due: everything read again
    assert keeper.full_reads == 2
    assert await same_boards(stores, NOW + timedelta(minutes=10))


async def test_a_worker_behind_asks_for_a_full_read(stores: tuple[PlaybackStore, PlaybackStore]) -> None:
    keeper = BoardKeeper(stores[0])
    await keeper.refresh(NOW)
    await write(stores, row("replayed", NOW - timedelta(minutes=20), 0, "u1"))  # written after a restart
    keeper.reread()
    await keeper.refresh(NOW + timedelta(seconds=10))
    assert keeper.full_reads == 2
    assert await same_boards(stores, NOW + timedelta(seconds=10))


async def test_a_failed_read_gives_no_views_and_the_next_round_reads_what_it_missed(
    stores: tuple[PlaybackStore, PlaybackStore],
) -> None:
    spy = Spy(stores[0])
    keeper = BoardKeeper(spy, view_windows=POPULARITY_WINDOWS)  # type: ignore[arg-type]
    await keeper.refresh(NOW)
    spy.down = True
    later = NOW + timedelta(seconds=10)
    with pytest.raises(ViewStoreError):
        await keeper.refresh(later)
    assert keeper.views(later) is None  # the round's tasks wait for the next
    spy.down = False
    await write(stores, row("a", NOW - timedelta(minutes=2), 0, "u1"))
    last = later + timedelta(seconds=10)
    await keeper.refresh(last)
    assert (
        spy.reads[-1][0] == NOW - DEFAULT_ALLOWED_LATENESS - timedelta(minutes=1) - BEHIND
    )  # from NOW's round
    assert keeper.views(last) == {"a": (1, 1)}
    assert await same_boards(stores, last)


async def test_a_clock_going_back_or_a_forgotten_tracker_reads_everything(
    stores: tuple[PlaybackStore, PlaybackStore],
) -> None:
    keeper = BoardKeeper(stores[0])
    await keeper.refresh(NOW)
    await keeper.refresh(NOW - timedelta(seconds=5))
    assert keeper.full_reads == 2
    keeper.forget()
    await keeper.refresh(NOW)
    assert keeper.full_reads == 3
