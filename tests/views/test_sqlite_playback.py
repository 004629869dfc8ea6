"""The embedded playback store hands back the same rows while they are unchanged, and new ones once not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from views.playback import MinuteRow
from views.sqlite_playback import SqlitePlaybackStore

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
HOUR = {"start": T0, "end": T0 + timedelta(hours=1)}


def _row(minute: int, doc: str, video_id: str = "v1") -> MinuteRow:
    return MinuteRow(video_id=video_id, minute=T0 + timedelta(minutes=minute), partition=0, document=doc)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlitePlaybackStore]:
    s = SqlitePlaybackStore(tmp_path / "playback.db")
    yield s
    await s.close()


async def test_an_unchanged_span_reads_as_the_same_list(store: SqlitePlaybackStore) -> None:
    await store.write([_row(0, '{"a":1}'), _row(1, '{"a":2}')], offsets={0: 2})
    first = await store.minutes("v1", **HOUR)
    again = await store.minutes("v1", **HOUR)
    assert again is first  # the API's kept answer is found by identity, without comparing rows
    assert [r.document for r in again] == ['{"a":1}', '{"a":2}']


async def test_a_changed_added_or_deleted_row_is_read_afresh(store: SqlitePlaybackStore) -> None:
    await store.write([_row(0, '{"a":1}'), _row(1, '{"a":2}')], offsets={0: 2})
    before = await store.minutes("v1", **HOUR)

    await store.write([_row(1, '{"a":3}')], offsets={0: 3})  # same key, new document
    changed = await store.minutes("v1", **HOUR)
    assert changed is not before
    assert [r.document for r in changed] == ['{"a":1}', '{"a":3}']

    await store.write([_row(2, '{"a":4}')], offsets={0: 4})
    assert [r.document for r in await store.minutes("v1", **HOUR)] == ['{"a":1}', '{"a":3}', '{"a":4}']

    await store.write([_row(0, "")], offsets={0: 5})  # an empty document deletes the row
    assert [r.minute for r in await store.minutes("v1", **HOUR)] == [
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=2),
    ]


async def test_spans_and_videos_are_kept_apart(store: SqlitePlaybackStore) -> None:
    await store.write([_row(0, '{"a":1}'), _row(30, '{"a":2}'), _row(0, '{"b":1}', "v2")], offsets={0: 3})
    half = await store.minutes("v1", start=T0, end=T0 + timedelta(minutes=30))
    whole = await store.minutes("v1", **HOUR)
    other = await store.minutes("v2", **HOUR)
    assert [r.document for r in half] == ['{"a":1}']
    assert [r.document for r in whole] == ['{"a":1}', '{"a":2}']
    assert [(r.video_id, r.document) for r in other] == [("v2", '{"b":1}')]
