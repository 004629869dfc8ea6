"""The topic catalogue: one declaration per topic, keys that order what must be ordered."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import codec
from schemas.registry import EVENT_TYPES, EventType
from topics.catalogue import (
    ALL_TOPICS,
    DEAD_LETTER_TOPICS,
    EVENT_TOPICS,
    PLAYBACK_EVENT_TOPIC,
    RECS_MODEL_READY_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    UPLOAD_COMPLETE_TOPIC,
    TopicSpec,
    topic_for,
    topic_for_event_type,
)


def _an_event(event_type: EventType[Any]) -> Any:
    """A typed event of the type, every field filled."""

    def value(schema: Any) -> Any:
        if isinstance(schema, list):
            return value(next(s for s in schema if s != "null"))
        if isinstance(schema, str):
            return {"string": "k", "long": 1, "int": 1, "double": 1.0, "boolean": False}[schema]
        if schema.get("logicalType") == "uuid":
            return str(uuid.UUID(int=1))
        if schema.get("logicalType") == "timestamp-millis":
            return datetime(2026, 11, 24, tzinfo=UTC)
        if schema["type"] == "record":
            return {f["name"]: value(f["type"]) for f in schema["fields"]}
        if schema["type"] == "enum":
            return schema["symbols"][0]
        if schema["type"] == "array":
            return [value(schema["items"])]
        return value(schema["type"])

    return codec.decode(codec.encode_dict(event_type, value(event_type.current.schema)))


def test_topic_names_are_unique() -> None:
    names = [spec.name for spec in ALL_TOPICS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[et.name for et in EVENT_TYPES])
def test_every_event_type_has_exactly_one_topic(event_type: EventType[Any]) -> None:
    carriers = [spec for spec in ALL_TOPICS if spec.event_type is event_type]
    assert carriers == [topic_for_event_type(event_type)]


@pytest.mark.parametrize("spec", EVENT_TOPICS, ids=[s.name for s in EVENT_TOPICS])
def test_the_key_is_a_string_field_of_the_event(spec: TopicSpec) -> None:
    assert spec.event_type is not None and spec.key_field is not None
    fields = {f["name"]: f["type"] for f in spec.event_type.current.schema["fields"]}
    assert fields[spec.key_field] == "string", f"{spec.name} is keyed by a non-string field"
    event = _an_event(spec.event_type)
    assert spec.key_of(event) == str(getattr(event, spec.key_field)).encode()
    assert spec.key_of(dataclasses.replace(event, **{spec.key_field: "vid-9"})) == b"vid-9"


def test_video_keyed_topics_are_co_partitioned() -> None:
    """All events of a video land in the same partition number of each topic: one worker sees them all."""
    video_keyed = [spec for spec in EVENT_TOPICS if spec.key_field == "video_id"]
    assert UPLOAD_COMPLETE_TOPIC in video_keyed and len(video_keyed) == 5
    assert len({spec.partitions for spec in video_keyed}) == 1
    assert PLAYBACK_EVENT_TOPIC.key_field == "session_id"  # a session's events stay in order


@pytest.mark.parametrize("spec", EVENT_TOPICS, ids=[s.name for s in EVENT_TOPICS])
def test_every_event_topic_has_a_declared_dead_letter_topic(spec: TopicSpec) -> None:
    assert spec.dead_letter is not None
    dlq = topic_for(spec.dead_letter)
    assert dlq in DEAD_LETTER_TOPICS
    assert dlq.event_type is None and dlq.key_field is None  # raw bytes of any kind
    assert 0 < dlq.retention_ms < 365 * 24 * 3600 * 1000  # parked, not kept forever


@pytest.mark.parametrize("spec", EVENT_TOPICS, ids=[s.name for s in EVENT_TOPICS])
def test_domain_topics_keep_their_events_forever(spec: TopicSpec) -> None:
    """Views are rebuilt by replaying from offset 0, so nothing may expire."""
    configs = spec.configs()
    assert configs["retention.ms"] == "-1"
    expected_policy = "compact" if spec in (TRANSCODE_PROGRESS_TOPIC, RECS_MODEL_READY_TOPIC) else "delete"
    assert configs["cleanup.policy"] == expected_policy


def test_an_unknown_topic_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown topic 'upload-completed'.*upload-complete"):
        topic_for("upload-completed")
    assert topic_for("upload-complete") is UPLOAD_COMPLETE_TOPIC
