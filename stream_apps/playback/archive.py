"""Hourly Avro archives of the raw playback events, for analysts and for the batch recomputation.

One Avro object container file per hour of server time
(``archives/playback-event/2026/11/24/13.avro``), holding every distinct
event received in that hour, sorted by event id, written with the current
schema: a pure function of the events, so archiving an hour again writes
the same file. An hour is archived once it is over and the allowed lateness
has passed (nothing can still arrive for it); the container files embed
their schema, so any Avro reader (Spark, DuckDB, fastavro) opens them.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import fastavro

from schemas.playback_event import PlaybackEvent
from schemas.registry import PLAYBACK_EVENT

__all__ = [
    "archive_hours",
    "archive_key",
    "archive_ready",
    "events_by_hour",
    "read_archive",
    "write_archive",
]

PREFIX = "archives/playback-event"


def archive_key(hour: datetime) -> str:
    h = hour.astimezone(UTC)
    return f"{PREFIX}/{h:%Y/%m/%d/%H}.avro"


def archive_hours(
    start: datetime, end: datetime, *, backfill_horizon: timedelta = timedelta(hours=1)
) -> list[datetime]:
    """The hours whose archives a recomputation of the minutes in ``[start, end)`` reads.

    Archives go by server time, and an event is received in its bucket's minute
    or later, so from the hour of ``start`` to ``backfill_horizon`` (at least an
    hour) past ``end``, for late arrivals; and an hour before ``start``, for the
    sessions that began then.
    """
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    hours = []
    while hour < end + max(backfill_horizon, timedelta(hours=1)):
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


def hour_of(event: PlaybackEvent) -> datetime:
    return event.received_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def events_by_hour(events: Iterable[PlaybackEvent]) -> dict[datetime, list[PlaybackEvent]]:
    """Distinct events (first received copy of each id) grouped by the hour they were received."""
    first: dict[str, PlaybackEvent] = {}
    for event in events:
        kept = first.get(event.event_id)
        if kept is None or event.received_at < kept.received_at:
            first[event.event_id] = event
    hours: defaultdict[datetime, list[PlaybackEvent]] = defaultdict(list)
    for event in first.values():
        hours[hour_of(event)].append(event)
    return {hour: sorted(found, key=lambda e: e.event_id) for hour, found in sorted(hours.items())}


def archive_ready(hour: datetime, *, now: datetime, lateness: timedelta) -> bool:
    return hour + timedelta(hours=1) + lateness <= now


def write_archive(events: Iterable[PlaybackEvent]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(
        out,
        PLAYBACK_EVENT.current.schema,
        (e.to_dict() for e in events),
        codec="deflate",
        sync_marker=b"tubestream-arch.",  # fixed: the same events give the same bytes
        metadata={"tubestream.topic": "playback-event"},
    )
    return out.getvalue()


def read_archive(data: bytes) -> list[PlaybackEvent]:
    return [PLAYBACK_EVENT.from_dict(r) for r in fastavro.reader(io.BytesIO(data)) if isinstance(r, dict)]
