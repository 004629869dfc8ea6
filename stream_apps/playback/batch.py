"""Batch recomputation of the playback view from the raw topic, and its comparison with the live view.

The same pure ``aggregate_playback`` the real-time path is built on, fed with
every event the topic holds: if the live view and this disagree, one of them
is wrong, and the report says where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from blobs.store import BlobStore
from schemas import codec
from schemas.errors import EventDecodeError
from schemas.playback_event import PlaybackEvent
from schemas.registry import PLAYBACK_EVENT
from stream_apps.errors import NoArchivesError
from stream_apps.playback.aggregates import (
    DEFAULT_BACKFILL_HORIZON,
    BucketKey,
    PlaybackStats,
    aggregate_playback,
)
from stream_apps.playback.archive import archive_hours, archive_key, read_archive
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig
from topics.log import read_to_end

__all__ = [
    "Difference",
    "archived_events",
    "compare_buckets",
    "recompute",
    "recompute_from_topic",
    "topic_events",
]


@dataclass(frozen=True)
class Difference:
    key: BucketKey
    batch: PlaybackStats | None
    live: PlaybackStats | None


def topic_events(kafka: KafkaConfig) -> list[PlaybackEvent]:
    """Every decodable event on the playback topic (the undecodable ones are in its dead-letter topic)."""
    events: list[PlaybackEvent] = []
    for record in read_to_end(kafka, [kafka.topic(PLAYBACK_EVENT_TOPIC.name)]):
        try:
            events.append(codec.decode(record.value or b"", PLAYBACK_EVENT))
        except EventDecodeError:
            continue
    return events


def archived_events(
    blobs: BlobStore,
    *,
    start: datetime,
    end: datetime,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> tuple[list[PlaybackEvent], str]:
    """The archived events a recomputation of ``[start, end)`` needs, and where they came from.

    ``NoArchivesError`` when no archive of those hours exists: the batch would
    otherwise be empty and every live minute reported as different.
    """
    hours = archive_hours(start, end, backfill_horizon=backfill_horizon)
    keys = [archive_key(hour) for hour in hours]
    found = [key for key in keys if blobs.exists(key)]
    if not found:
        raise NoArchivesError(
            f"no archives for {start.isoformat()} to {end.isoformat()}: none of {keys[0]} to {keys[-1]} "
            "is in the blob store (tubestream analytics archive writes an hour once it is over)"
        )
    events = [event for key in found for event in read_archive(blobs.read_bytes(key))]
    return events, f"{len(found)} of {len(keys)} hourly archive(s) ({keys[0]} to {keys[-1]})"


def recompute(
    events: Iterable[PlaybackEvent],
    *,
    start: datetime,
    end: datetime,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> dict[BucketKey, PlaybackStats]:
    """Aggregates of the minutes in ``[start, end)``, from raw events of the topic or the archives."""
    buckets = aggregate_playback(events, backfill_horizon=backfill_horizon)
    return {k: s for k, s in buckets.items() if start <= k.minute < end}


def recompute_from_topic(
    kafka: KafkaConfig,
    *,
    start: datetime,
    end: datetime,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> dict[BucketKey, PlaybackStats]:
    return recompute(topic_events(kafka), start=start, end=end, backfill_horizon=backfill_horizon)


def compare_buckets(
    batch: Mapping[BucketKey, PlaybackStats], live: Mapping[BucketKey, PlaybackStats]
) -> list[Difference]:
    """Minutes that differ, ``expired_events`` aside: the bounded live worker has let a minute go by
    the time an expired event reaches it and counts it apart (docs/analytics.md, *Bounded state*)."""
    batch, live = _unexpired(batch), _unexpired(live)
    return [
        Difference(key, batch.get(key), live.get(key))
        for key in sorted(set(batch) | set(live))
        if batch.get(key) != live.get(key)
    ]


def _unexpired(buckets: Mapping[BucketKey, PlaybackStats]) -> dict[BucketKey, PlaybackStats]:
    kept = {k: replace(s, expired_events=0) for k, s in buckets.items()}
    return {k: s for k, s in kept.items() if not s.is_empty}
