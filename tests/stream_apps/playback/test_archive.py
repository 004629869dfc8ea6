from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import fastavro

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.archive import (
    archive_hours,
    archive_key,
    archive_ready,
    events_by_hour,
    read_archive,
    write_archive,
)

T = datetime(2026, 11, 24, 13, 59, 58, tzinfo=UTC)


def event(n: int, received: datetime) -> PlaybackEvent:
    return PlaybackEvent(
        event_id=f"00000000-0000-4000-8000-{n:012d}",
        occurred_at=received - timedelta(seconds=1),
        received_at=received,
        session_id="s",
        user_pseudonym="u",
        video_id="v",
        kind=PlaybackKind.HEARTBEAT,
        position_ms=n * 1000,
    )


def test_events_are_grouped_by_received_hour_deduplicated_and_sorted() -> None:
    a, b, c = event(3, T), event(1, T + timedelta(seconds=5)), event(2, T - timedelta(minutes=5))
    retried = replace(a, received_at=T + timedelta(minutes=1))  # a second copy, stamped later
    hours = events_by_hour([a, b, retried, c])
    assert list(hours) == [datetime(2026, 11, 24, 13, tzinfo=UTC), datetime(2026, 11, 24, 14, tzinfo=UTC)]
    assert hours[datetime(2026, 11, 24, 13, tzinfo=UTC)] == [c, a]  # by event id; the first copy kept
    assert archive_key(datetime(2026, 11, 24, 13, tzinfo=UTC)) == "archives/playback-event/2026/11/24/13.avro"


def test_an_archive_round_trips_is_standard_avro_and_is_the_same_bytes_twice() -> None:
    events = [event(n, T) for n in range(50)]
    data = write_archive(events)
    assert read_archive(data) == events
    assert write_archive(events) == data  # archiving an hour again writes the same file
    reader = fastavro.reader(io.BytesIO(data))  # any Avro reader opens it: the schema is inside
    schema = reader.writer_schema
    assert isinstance(schema, dict) and str(schema["name"]).endswith("PlaybackEvent")
    assert reader.codec == "deflate"


def test_an_hour_is_archived_only_after_it_is_over_and_late_events_had_their_chance() -> None:
    hour = datetime(2026, 11, 24, 13, tzinfo=UTC)
    lateness = timedelta(minutes=5)
    assert not archive_ready(hour, now=datetime(2026, 11, 24, 14, 4, tzinfo=UTC), lateness=lateness)
    assert archive_ready(hour, now=datetime(2026, 11, 24, 14, 5, tzinfo=UTC), lateness=lateness)


def test_a_range_reads_the_hour_before_it_for_sessions_begun_then_and_the_hour_after_for_late_events() -> (
    None
):
    hours = archive_hours(
        datetime(2026, 11, 24, 13, 30, tzinfo=UTC), datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    )
    assert [h.hour for h in hours] == [12, 13, 14]
