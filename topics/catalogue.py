"""Every topic of the platform, declared once.

Everyone imports these declarations instead of spelling a topic name: the
spec says what the key means (and so what is ordered), which event schema
the value carries, how long it is kept, and where undecodable messages go.

Domain topics keep their events forever: Kafka is the source of truth and
every view is rebuilt by replaying them. Topics keyed by video id share one
partition count so they are co-partitioned: all events of a video land in
the same partition number of each topic and one worker sees them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.registry import (
    PLAYBACK_EVENT,
    RECS_MODEL_READY,
    RENDITION_READY,
    TRANSCODE_FAILED,
    TRANSCODE_PROGRESS,
    TRANSCODE_REQUESTED,
    UPLOAD_COMPLETE,
    Event,
    EventType,
)

__all__ = [
    "ALL_TOPICS",
    "DEAD_LETTER_TOPICS",
    "EVENT_TOPICS",
    "PLAYBACK_EVENT_TOPIC",
    "RECS_MODEL_READY_TOPIC",
    "RENDITION_READY_TOPIC",
    "TRANSCODE_FAILED_TOPIC",
    "TRANSCODE_PROGRESS_TOPIC",
    "TRANSCODE_REQUESTED_TOPIC",
    "UPLOAD_COMPLETE_TOPIC",
    "TopicSpec",
    "topic_for",
    "topic_for_event_type",
]

FOREVER = -1
DAY_MS = 24 * 60 * 60 * 1000
VIDEO_PARTITIONS = 6  # co-partitioning: every video-keyed topic has this many
PLAYBACK_PARTITIONS = 6


@dataclass(frozen=True, kw_only=True)
class TopicSpec:
    name: str
    description: str
    key: str  # what the message key means
    event_type: EventType[Any] | None  # None: raw bytes of any kind (dead letters)
    key_field: str | None  # the event field used as the key
    partitions: int
    retention_ms: int = FOREVER
    cleanup_policy: str = "delete"
    dead_letter: str | None = None

    def configs(self) -> dict[str, str]:
        """Topic-level configs reconciled by ``topics apply``."""
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": self.cleanup_policy,
        }

    def key_of(self, event: Event) -> bytes | None:
        if self.key_field is None:
            return None
        return str(getattr(event, self.key_field)).encode()


def _dead_letter(source: str) -> TopicSpec:
    return TopicSpec(
        name=f"{source}.dlq",
        description=(
            f"Messages of {source} that could not be decoded or were invalid: the original key, "
            "value and headers, plus dlq.* headers with the reason and the source position."
        ),
        key=f"the original {source} key",
        event_type=None,
        key_field=None,
        partitions=1,
        retention_ms=30 * DAY_MS,
    )


def _video_topic(
    event_type: EventType[Any], description: str, *, cleanup_policy: str = "delete"
) -> TopicSpec:
    """A topic keyed by video id: they share one partition count, so a video's events meet in one
    partition number of each, and are seen in order by one worker."""
    return TopicSpec(
        name=event_type.name,
        description=description,
        key="video id",
        event_type=event_type,
        key_field="video_id",
        partitions=VIDEO_PARTITIONS,
        cleanup_policy=cleanup_policy,
        dead_letter=f"{event_type.name}.dlq",
    )


UPLOAD_COMPLETE_TOPIC = _video_topic(
    UPLOAD_COMPLETE, "A source video is stored in the blob store, with its metadata and probe."
)
TRANSCODE_REQUESTED_TOPIC = _video_topic(
    TRANSCODE_REQUESTED, "A job: encode one source into a ladder of renditions."
)
TRANSCODE_PROGRESS_TOPIC = _video_topic(
    TRANSCODE_PROGRESS,
    "How far each transcode job has come; compacted, so the latest per video is kept.",
    cleanup_policy="compact",
)
TRANSCODE_FAILED_TOPIC = _video_topic(
    TRANSCODE_FAILED, "A transcode job ended without its renditions, with FFmpeg's reason."
)
RENDITION_READY_TOPIC = _video_topic(RENDITION_READY, "One rendition is encoded, packaged and stored.")
PLAYBACK_EVENT_TOPIC = TopicSpec(
    name="playback-event",
    description="What players did, pseudonymous; ordered per playback session.",
    key="session id",
    event_type=PLAYBACK_EVENT,
    key_field="session_id",
    partitions=PLAYBACK_PARTITIONS,
    dead_letter="playback-event.dlq",
)
RECS_MODEL_READY_TOPIC = TopicSpec(
    name="recs-model-ready",
    description="A recommendations model is trained and stored; compacted, so the newest per model is kept.",
    key="model name",
    event_type=RECS_MODEL_READY,
    key_field="model",
    partitions=1,
    cleanup_policy="compact",
    dead_letter="recs-model-ready.dlq",
)

EVENT_TOPICS: tuple[TopicSpec, ...] = (
    UPLOAD_COMPLETE_TOPIC,
    TRANSCODE_REQUESTED_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    TRANSCODE_FAILED_TOPIC,
    RENDITION_READY_TOPIC,
    PLAYBACK_EVENT_TOPIC,
    RECS_MODEL_READY_TOPIC,
)
DEAD_LETTER_TOPICS: tuple[TopicSpec, ...] = tuple(_dead_letter(t.name) for t in EVENT_TOPICS if t.dead_letter)
ALL_TOPICS: tuple[TopicSpec, ...] = EVENT_TOPICS + DEAD_LETTER_TOPICS


def topic_for_event_type(event_type: EventType[Any]) -> TopicSpec:
    for spec in EVENT_TOPICS:
        if spec.event_type is event_type:
            return spec
    raise KeyError(f"no topic carries {event_type.name} events")


def topic_for(name: str) -> TopicSpec:
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in ALL_TOPICS)
    raise KeyError(f"unknown topic {name!r}; known: {known}")
