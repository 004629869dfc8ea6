"""The SQLite interactions store: whole-row upserts keyed by (viewer, video, partition), reads, scan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from views.errors import StoreUnavailableError
from views.recs import InteractionRow, RecsStore
from views.stores import open_recs_store

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _row(viewer: str, video: str, partition: int = 0, **fields: object) -> InteractionRow:
    base = InteractionRow(
        viewer=viewer,
        video_id=video,
        partition=partition,
        watched_ms=30_000,
        duration_ms=60_000,
        sessions=1,
        completed_sessions=0,
        seeks=2,
        updated_at=T0,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RecsStore]:
    opened = open_recs_store(f"sqlite:///{tmp_path / 'recs.db'}")
    yield opened
    await opened.close()


async def test_rows_are_upserted_whole_and_read_per_viewer(store: RecsStore) -> None:
    await store.write(
        [_row("p1", "v1"), _row("p1", "v1", partition=3), _row("p2", "v1")], offsets={0: 5, 3: 2}
    )
    newer = _row("p1", "v1", watched_ms=60_000, duration_ms=None, sessions=2, completed_sessions=1, seeks=0)
    await store.write([newer], offsets={0: 9})

    assert await store.interactions_of("p1") == [newer, _row("p1", "v1", partition=3)]
    assert await store.interactions_of("nobody") == []
    assert [(r.viewer, r.partition) for r in await store.scan()] == [("p1", 0), ("p1", 3), ("p2", 0)]
    assert await store.offsets() == {0: 9, 3: 2}


async def test_the_same_write_twice_is_the_same_rows(store: RecsStore) -> None:
    rows = [_row("p1", "v1"), _row("p1", "v2")]
    await store.write(rows, offsets={0: 2})
    await store.write(rows, offsets={0: 2})
    assert await store.scan() == rows


async def test_a_closed_store_is_unavailable_and_other_schemes_are_refused(store: RecsStore) -> None:
    await store.check()
    await store.close()
    with pytest.raises(StoreUnavailableError):
        await store.interactions_of("p1")
    with pytest.raises(ValueError, match="only sqlite"):
        open_recs_store("cassandra://127.0.0.1:9042/ks")
