"""Events as JSON: what ``tubestream publish`` accepts and what ``tubestream tail`` prints."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from schemas import codec
from schemas.errors import InvalidEventError
from schemas.json_form import from_json, to_json
from schemas.registry import EVENT_TYPES, PLAYBACK_EVENT, UPLOAD_COMPLETE, EventType

NOW = datetime(2026, 11, 24, 12, 30, 15, 250000, tzinfo=UTC)

UPLOAD = {
    "video_id": "vid-1",
    "uploader_id": "user-42",
    "object_key": "uploads/vid-1/source.mp4",
    "size_bytes": 1024,
    "content_type": "video/mp4",
    "title": "Hello",
}


def sample_json(event_type: EventType[Any]) -> dict[str, Any]:
    """A JSON object for any event type, as a person would write it: enums as symbols, times as ISO."""

    def value(schema: Any) -> Any:
        if isinstance(schema, list):
            return value(next(s for s in schema if s != "null"))
        if isinstance(schema, str):
            return {"string": "s", "long": 9, "int": 3, "double": 2.5, "float": 0.5, "boolean": True}[schema]
        if schema.get("logicalType") == "uuid":
            return str(uuid.UUID(int=7))
        if schema.get("logicalType") == "timestamp-millis":
            return "2026-11-24T12:00:00.125Z"
        if schema["type"] == "record":
            return {f["name"]: value(f["type"]) for f in schema["fields"]}
        if schema["type"] == "enum":
            return schema["symbols"][0]
        if schema["type"] == "array":
            return [value(schema["items"])]
        return value(schema["type"])

    result: dict[str, Any] = value(event_type.current.schema)
    return result


def test_event_id_and_occurred_at_are_filled_when_left_out() -> None:
    record = from_json(UPLOAD_COMPLETE, UPLOAD, now=NOW)
    assert uuid.UUID(record["event_id"])
    assert record["occurred_at"] == NOW
    assert from_json(UPLOAD_COMPLETE, UPLOAD)["event_id"] != record["event_id"]  # fresh each time
    event = codec.decode(codec.encode_dict(UPLOAD_COMPLETE, record))
    assert (event.video_id, event.title, event.tags, event.probe) == ("vid-1", "Hello", (), None)


def test_given_event_id_and_time_are_kept() -> None:
    given = str(uuid.uuid4())
    record = from_json(UPLOAD_COMPLETE, {**UPLOAD, "event_id": given, "occurred_at": "2026-01-02T03:04:05Z"})
    assert record["event_id"] == given
    assert record["occurred_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_the_caller_object_is_not_changed() -> None:
    obj = dict(UPLOAD)
    from_json(UPLOAD_COMPLETE, obj, now=NOW)
    assert obj == UPLOAD


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2026-11-24T12:30:15.250Z", NOW),
        ("2026-11-24T13:30:15.250+01:00", NOW),  # an offset is the same instant
        ("2026-11-24T12:30:15.250", NOW),  # no offset: UTC
        (1795523415250, NOW),  # epoch milliseconds
        (1795523415250.0, NOW),
        (datetime(2026, 11, 24, 12, 30, 15, 250000), NOW),  # naive datetime: UTC
        (datetime(2026, 11, 24, 7, 30, 15, 250000, tzinfo=timezone(timedelta(hours=-5))), NOW),
    ],
)
def test_timestamps_accept_iso_8601_and_epoch_millis(written: object, instant: datetime) -> None:
    record = from_json(UPLOAD_COMPLETE, {**UPLOAD, "occurred_at": written})
    assert record["occurred_at"] == instant
    assert record["occurred_at"].tzinfo is not None
    assert codec.decode(codec.encode_dict(UPLOAD_COMPLETE, record)).occurred_at == instant


def test_every_timestamp_field_is_parsed_not_only_occurred_at() -> None:
    obj = {**sample_json(PLAYBACK_EVENT), "received_at": "2026-11-24T12:30:15.250Z"}
    assert from_json(PLAYBACK_EVENT, obj)["received_at"] == NOW


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2026-13-01T00:00:00Z",
        True,  # a bool is an int to Python, never a time to a person
        None,
        [2026, 11, 24],
        1e20,  # beyond the years a datetime can hold
        10**30,
        float("nan"),
        -1e16,
    ],
)
def test_a_bad_timestamp_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidEventError, match=r"upload-complete\.occurred_at"):
        from_json(UPLOAD_COMPLETE, {**UPLOAD, "occurred_at": bad})


@pytest.mark.parametrize("obj", [[UPLOAD], "an upload", 42, None])
def test_only_a_json_object_is_an_event(obj: object) -> None:
    with pytest.raises(InvalidEventError, match="expected a JSON object"):
        from_json(UPLOAD_COMPLETE, obj)


def test_a_misspelt_field_is_refused_not_dropped() -> None:
    """Dropped, ``descripton`` would publish the default description without a word."""
    with pytest.raises(InvalidEventError, match="descripton"):
        from_json(UPLOAD_COMPLETE, {**UPLOAD, "descripton": "my holiday"})


def test_to_json_writes_times_as_utc_iso_and_containers_as_lists() -> None:
    paris = timezone(timedelta(hours=1))
    value = {
        "at": datetime(2026, 11, 24, 13, 30, 15, 250000, tzinfo=paris),
        "id": uuid.UUID(int=1),
        "tags": ("a", "b"),
        "nested": [{"when": NOW}],
        "n": None,
    }
    assert to_json(value) == {
        "at": "2026-11-24T12:30:15.250000Z",
        "id": "00000000-0000-0000-0000-000000000001",
        "tags": ["a", "b"],
        "nested": [{"when": "2026-11-24T12:30:15.250000Z"}],
        "n": None,
    }


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[et.name for et in EVENT_TYPES])
def test_what_tail_prints_can_be_published_again(event_type: EventType[Any]) -> None:
    """tail → edit → publish: the JSON form of every event type goes back to the same event."""
    original = codec.decode(codec.encode_dict(event_type, from_json(event_type, sample_json(event_type))))
    _, decoded = codec.decode_dict(codec.encode(original))

    printed = json.loads(json.dumps(to_json(decoded)))
    republished = codec.decode(codec.encode_dict(event_type, from_json(event_type, printed)))

    assert republished == original
