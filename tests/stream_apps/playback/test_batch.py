"""The batch recomputation's inputs from the hourly archives, and what it says when there are none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blobs.local import LocalBlobStore
from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.errors import NoArchivesError
from stream_apps.playback.archive import archive_key, write_archive
from stream_apps.playback.batch import archived_events, recompute

START = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_no_archive_for_the_range_says_so_instead_of_comparing_nothing(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blobs.put_bytes(archive_key(START - timedelta(hours=5)), write_archive([]))  # another range's
    with pytest.raises(
        NoArchivesError, match=r"^no archives for 2026-11-24T13:30:00\+00:00 to 2026-11-24T14:30"
    ):
        archived_events(blobs, start=START, end=END)


def test_the_archives_of_the_range_are_read_and_named(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    at = START + timedelta(minutes=1)
    event = PlaybackEvent(
        event_id="00000000-0000-4000-8000-000000000001",
        occurred_at=at,
        received_at=at,
        session_id="s",
        user_pseudonym="u",
        video_id="v",
        kind=PlaybackKind.START,
        position_ms=0,
    )
    blobs.put_bytes(archive_key(START.replace(minute=0)), write_archive([event]))
    events, source = archived_events(blobs, start=START, end=END, backfill_horizon=timedelta(hours=1))
    assert events == [event]
    assert source.startswith("1 of 4 hourly archive(s) (archives/playback-event/2026/11/24/12.avro to ")
    # late events are archived in the hour they were received: up to the backfill horizon after the end
    _, source = archived_events(blobs, start=START, end=END)
    assert source == (
        "1 of 171 hourly archive(s) (archives/playback-event/2026/11/24/12.avro to "
        "archives/playback-event/2026/12/01/14.avro)"
    )
    assert [k.video_id for k in recompute(events, start=START, end=END)] == ["v"]


def test_the_comparison_leaves_expired_events_aside() -> None:
    """The bounded worker counts an expired event apart (its minute was let go); the batch in the minute."""
    from stream_apps.playback.aggregates import BucketKey, PlaybackStats
    from stream_apps.playback.batch import compare_buckets

    minute = BucketKey("v", START)
    live = {minute: PlaybackStats(events=3)}
    assert compare_buckets({minute: PlaybackStats(events=3, expired_events=2)}, live) == []
    assert compare_buckets({BucketKey("w", START): PlaybackStats(expired_events=1)}, {}) == []
    [difference] = compare_buckets({minute: PlaybackStats(events=4)}, live)
    assert (difference.batch, difference.live) == (PlaybackStats(events=4), PlaybackStats(events=3))
