"""``tubestream publish``: JSON documents → validated events on their topic, all or nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from producers.json_publisher import parse_json_documents, publish_json
from schemas import codec
from schemas.errors import InvalidEventError
from schemas.registry import TRANSCODE_PROGRESS, UPLOAD_COMPLETE
from topics.catalogue import TRANSCODE_PROGRESS_TOPIC, UPLOAD_COMPLETE_TOPIC, TopicSpec
from topics.config import KafkaConfig
from topics.log import LogRecord, read_to_end
from topics.producer import EventProducer


def upload(video_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "video_id": video_id,
        "uploader_id": "user-42",
        "object_key": f"uploads/{video_id}/source.mp4",
        "size_bytes": 1024,
        "content_type": "video/mp4",
        "title": "Hello",
        **fields,
    }


def new_video() -> str:
    return f"vid-{uuid.uuid4().hex[:8]}"


def on_topic(kafka: KafkaConfig, spec: TopicSpec, *video_ids: str) -> list[LogRecord]:
    keys = {v.encode() for v in video_ids}
    return [r for r in read_to_end(kafka, [kafka.topic(spec.name)], timeout_s=30) if r.key in keys]


# -- reading the documents --------------------------------------------------------------------------


def test_one_object_an_array_or_json_lines_are_accepted() -> None:
    a, b = upload("a"), upload("b")
    assert parse_json_documents(json.dumps(a)) == [a]
    assert parse_json_documents(json.dumps([a, b])) == [a, b]
    assert parse_json_documents(f"{json.dumps(a)}\n\n{json.dumps(b)}\n") == [a, b]
    assert parse_json_documents(f"  \n{json.dumps(a, indent=2)}\n") == [a]  # one pretty-printed object


def test_a_bad_line_is_named() -> None:
    text = f"{json.dumps(upload('a'))}\n{json.dumps(upload('b'))}\n{{'single': 'quotes'}}\n"
    with pytest.raises(InvalidEventError, match="line 3: not JSON"):
        parse_json_documents(text)


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_no_json_at_all_is_refused(text: str) -> None:
    with pytest.raises(InvalidEventError, match="no JSON given"):
        parse_json_documents(text)


# -- publishing ---------------------------------------------------------------------------------------


@pytest.mark.kafka
def test_published_objects_are_events_on_their_topic_keyed_by_video(kafka: KafkaConfig) -> None:
    first, second = new_video(), new_video()
    given = str(uuid.uuid4())
    objects = [
        upload(first, event_id=given, tags=["demo"]),
        upload(second, occurred_at="2026-11-24T12:00:00Z"),
    ]

    with EventProducer(kafka) as producer:
        ids = publish_json(producer, UPLOAD_COMPLETE, objects)

    assert ids[0] == given and uuid.UUID(ids[1])
    records = on_topic(kafka, UPLOAD_COMPLETE_TOPIC, first, second)
    events = {r.key: codec.decode(r.value or b"", UPLOAD_COMPLETE) for r in records}
    assert set(events) == {first.encode(), second.encode()}
    assert (events[first.encode()].event_id, events[first.encode()].tags) == (given, ("demo",))
    assert events[second.encode()].event_id == ids[1]
    assert events[second.encode()].occurred_at.isoformat() == "2026-11-24T12:00:00+00:00"


@pytest.mark.kafka
@pytest.mark.parametrize(
    ("bad", "names"),
    [
        ({"title": None}, "title"),
        ({"size_bytes": "1 KiB"}, "size_bytes"),
        ({"event_id": "my-event-1"}, "event_id"),  # no reader could decode it
        ({"titel": "typo"}, "titel"),
        ({"occurred_at": "last tuesday"}, "occurred_at"),
    ],
)
def test_one_bad_object_publishes_nothing_and_names_it(
    kafka: KafkaConfig, bad: dict[str, Any], names: str
) -> None:
    good_id, bad_id = new_video(), new_video()
    broken = {k: v for k, v in {**upload(bad_id), **bad}.items() if v is not None}

    with EventProducer(kafka) as producer, pytest.raises(InvalidEventError) as raised:
        publish_json(producer, UPLOAD_COMPLETE, [upload(good_id), broken])

    assert "event #2" in str(raised.value) and names in str(raised.value)
    assert on_topic(kafka, UPLOAD_COMPLETE_TOPIC, good_id, bad_id) == []  # not even the good first one


@pytest.mark.kafka
def test_something_that_is_not_an_object_is_refused(kafka: KafkaConfig) -> None:
    with EventProducer(kafka) as producer, pytest.raises(InvalidEventError, match=r"event #1.*JSON object"):
        publish_json(producer, UPLOAD_COMPLETE, parse_json_documents('"just a title"'))


@pytest.mark.kafka
def test_an_older_schema_version_can_be_written_and_is_read_as_current(kafka: KafkaConfig) -> None:
    """What an old producer still writes: v1 upload-complete, without a probe."""
    video_id = new_video()
    with EventProducer(kafka) as producer:
        publish_json(producer, UPLOAD_COMPLETE, [upload(video_id)], version=1)

    (record,) = on_topic(kafka, UPLOAD_COMPLETE_TOPIC, video_id)
    assert codec.writer_version(record.value or b"") == (UPLOAD_COMPLETE, UPLOAD_COMPLETE.version(1))
    assert codec.decode(record.value or b"").probe is None


@pytest.mark.kafka
def test_each_event_type_goes_to_its_own_topic(kafka: KafkaConfig) -> None:
    video_id = new_video()
    doc = {"job_id": "job-1", "video_id": video_id, "percent": 42.5}
    with EventProducer(kafka) as producer:
        publish_json(producer, TRANSCODE_PROGRESS, [doc])

    (record,) = on_topic(kafka, TRANSCODE_PROGRESS_TOPIC, video_id)
    assert codec.decode(record.value or b"", TRANSCODE_PROGRESS).percent == 42.5
    assert on_topic(kafka, UPLOAD_COMPLETE_TOPIC, video_id) == []
