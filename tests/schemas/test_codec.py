"""The event contracts on the wire: every version on record stays readable; bad bytes fail typed."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import schemas
from schemas import codec
from schemas.errors import (
    CorruptPayloadError,
    EventDecodeError,
    InvalidEventError,
    NotAnEventError,
    UnknownSchemaError,
)
from schemas.registry import (
    EVENT_TYPES,
    PLAYBACK_EVENT,
    TRANSCODE_REQUESTED,
    UPLOAD_COMPLETE,
    EventType,
    SchemaVersion,
    event_type_named,
    event_type_of,
)
from schemas.upload_complete import Visibility

T = datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC)

VERSIONS = [(et, v) for et in EVENT_TYPES for v in et.versions]
VERSION_IDS = [f"{et.name}-v{v.version}" for et, v in VERSIONS]


def sample(schema: Any) -> Any:
    """A valid value for any Avro schema, filling every field, defaults included."""
    if isinstance(schema, list):  # union: the first non-null branch
        return sample(next(s for s in schema if s != "null"))
    if isinstance(schema, str):
        return {"string": "x", "long": 7, "int": 3, "double": 1.5, "float": 0.5, "boolean": True}[schema]
    logical = schema.get("logicalType")
    if logical == "uuid":
        return str(uuid.UUID(int=42))
    if logical == "timestamp-millis":
        return T
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: sample(f["type"]) for f in schema["fields"]}
    if kind == "enum":
        return schema["symbols"][-1]
    if kind == "array":
        return [sample(schema["items"]), sample(schema["items"])]
    return sample(kind)


@pytest.mark.parametrize(
    ("event_type", "version"), VERSIONS, ids=[f"{e.name}-v{v.version}" for e, v in VERSIONS]
)
def test_every_version_on_record_is_read_by_the_current_reader(
    event_type: EventType[Any], version: SchemaVersion
) -> None:
    written = sample(version.schema)
    data = codec.encode_dict(event_type, written, version=version.version)

    assert codec.writer_version(data) == (event_type, version)
    event = codec.decode(data, event_type)

    assert isinstance(event, event_type.record_type)
    current = event.to_dict()
    reader_fields = {f["name"]: f for f in event_type.current.schema["fields"]}
    for name, value in written.items():
        if name in reader_fields:
            assert _plain(current[name]) == _plain(value), name
    for name, field in reader_fields.items():
        if name not in written:  # added after this version: the reader's default fills it
            assert current[name] == field["default"], name


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return getattr(value, "value", value)  # enums compare by symbol


def test_the_current_version_round_trips_a_typed_event() -> None:
    written = sample(PLAYBACK_EVENT.current.schema)
    event = codec.decode(codec.encode_dict(PLAYBACK_EVENT, written))
    assert codec.decode(codec.encode(event)) == event


@pytest.mark.parametrize("data", [b"", b"\x00", b'{"video_id": "v"}', b"\xc3\x02" + b"\x00" * 20])
def test_bytes_without_the_event_marker_are_not_events(data: bytes) -> None:
    with pytest.raises(NotAnEventError):
        codec.decode(data)


def test_an_unknown_writer_fingerprint_is_reported() -> None:
    with pytest.raises(UnknownSchemaError, match="not on record"):
        codec.decode(codec.MAGIC + b"\xff" * 8 + b"\x00")


def test_a_truncated_body_is_corrupt() -> None:
    data = codec.encode_dict(UPLOAD_COMPLETE, sample(UPLOAD_COMPLETE.current.schema))
    with pytest.raises(CorruptPayloadError, match="upload-complete"):
        codec.decode(data[: len(data) // 2])


def test_an_event_of_another_type_is_refused_where_one_type_is_expected() -> None:
    data = codec.encode_dict(PLAYBACK_EVENT, sample(PLAYBACK_EVENT.current.schema))
    with pytest.raises(UnknownSchemaError, match="expected a upload-complete event"):
        codec.decode(data, UPLOAD_COMPLETE)


def test_an_invalid_record_names_the_field() -> None:
    record = sample(UPLOAD_COMPLETE.current.schema)
    record["size_bytes"] = "big"
    with pytest.raises(InvalidEventError, match="size_bytes"):
        codec.encode_dict(UPLOAD_COMPLETE, record)


def test_a_typed_event_that_does_not_fit_its_schema_is_refused() -> None:
    event = codec.decode(codec.encode_dict(PLAYBACK_EVENT, sample(PLAYBACK_EVENT.current.schema)))
    with pytest.raises(InvalidEventError, match="playback-event"):
        codec.encode(dataclasses.replace(event, position_ms="far"))


def test_every_schema_file_is_on_record() -> None:
    """A new ``<event>.vN.avsc`` is read by the codec (and so covered by the evolution test above)."""
    on_disk = {p.name for p in Path(schemas.__file__).parent.glob("*.avsc")}
    on_record = {f"{et.record_type.__module__.rsplit('.', 1)[-1]}.v{v.version}.avsc" for et, v in VERSIONS}
    assert on_disk == on_record


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[et.name for et in EVENT_TYPES])
def test_versions_are_numbered_from_one_and_the_newest_is_current(event_type: EventType[Any]) -> None:
    numbers = [v.version for v in event_type.versions]
    assert numbers == list(range(1, len(numbers) + 1))
    assert event_type.current is event_type.versions[-1]
    assert event_type_named(event_type.name) is event_type


def test_every_version_has_its_own_fingerprint() -> None:
    fingerprints = [v.fingerprint for _, v in VERSIONS]
    assert len(set(fingerprints)) == len(fingerprints)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[et.name for et in EVENT_TYPES])
def test_the_record_type_writes_exactly_the_fields_of_the_current_schema(event_type: EventType[Any]) -> None:
    """A schema version added without its record (or the reverse) is caught here, not on the wire."""
    event = codec.decode(codec.encode_dict(event_type, sample(event_type.current.schema)))
    assert set(event.to_dict()) == {f["name"] for f in event_type.current.schema["fields"]}
    assert event_type_of(event) is event_type


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=[et.name for et in EVENT_TYPES])
def test_every_typed_event_round_trips(event_type: EventType[Any]) -> None:
    event = codec.decode(codec.encode_dict(event_type, sample(event_type.current.schema)), event_type)
    data = codec.encode(event)
    assert codec.writer_version(data) == (event_type, event_type.current)
    assert codec.decode(data, event_type) == event


def test_a_version_written_with_only_its_required_fields_reads_with_defaults() -> None:
    v1 = UPLOAD_COMPLETE.version(1)
    required = {f["name"]: sample(f["type"]) for f in v1.schema["fields"] if "default" not in f}
    event = codec.decode(codec.encode_dict(UPLOAD_COMPLETE, required, version=1), UPLOAD_COMPLETE)
    assert (event.description, event.tags, event.probe) == ("", (), None)
    assert event.title == "x"


@pytest.mark.parametrize("version", [1, 2])
def test_an_upload_written_before_visibility_reads_as_public(version: int) -> None:
    old = UPLOAD_COMPLETE.version(version)
    record = {f["name"]: sample(f["type"]) for f in old.schema["fields"]}
    event = codec.decode(codec.encode_dict(UPLOAD_COMPLETE, record, version=version), UPLOAD_COMPLETE)
    assert event.visibility is Visibility.PUBLIC


def test_an_unlisted_upload_round_trips_its_visibility() -> None:
    record = {**sample(UPLOAD_COMPLETE.current.schema), "visibility": "unlisted"}
    event = codec.decode(codec.encode_dict(UPLOAD_COMPLETE, record), UPLOAD_COMPLETE)
    assert event.visibility is Visibility.UNLISTED
    assert codec.decode(codec.encode(event), UPLOAD_COMPLETE) == event


def test_garbage_after_the_marker_is_a_decode_error() -> None:
    data = codec.encode_dict(TRANSCODE_REQUESTED, sample(TRANSCODE_REQUESTED.current.schema))
    garbage = data[: len(codec.MAGIC) + 8] + b"\xff" * 40
    with pytest.raises(EventDecodeError):
        codec.decode(garbage)


@pytest.mark.parametrize("cut", [1, 2, 9, 10])
def test_any_cut_of_the_header_is_not_an_event_or_not_on_record(cut: int) -> None:
    data = codec.encode_dict(UPLOAD_COMPLETE, sample(UPLOAD_COMPLETE.current.schema))
    with pytest.raises(EventDecodeError):
        codec.decode(data[:cut])


def test_a_missing_required_field_is_named() -> None:
    record = sample(UPLOAD_COMPLETE.current.schema)
    del record["title"]
    with pytest.raises(InvalidEventError, match="title"):
        codec.encode_dict(UPLOAD_COMPLETE, record)


def test_an_unknown_enum_symbol_is_named() -> None:
    record = sample(PLAYBACK_EVENT.current.schema)
    record["kind"] = "REWIND"
    with pytest.raises(InvalidEventError, match="kind"):
        codec.encode_dict(PLAYBACK_EVENT, record)


def test_a_bad_nested_field_is_named() -> None:
    record = sample(UPLOAD_COMPLETE.current.schema)
    record["probe"] = {**record["probe"], "width": "wide"}
    with pytest.raises(InvalidEventError, match="width"):
        codec.encode_dict(UPLOAD_COMPLETE, record)


def test_an_event_id_that_is_not_a_uuid_is_refused_when_written() -> None:
    """Written, it would be an event no consumer can read (the reader parses the uuid)."""
    record = {**sample(UPLOAD_COMPLETE.current.schema), "event_id": "evt-1"}
    with pytest.raises(InvalidEventError, match="event_id"):
        codec.encode_dict(UPLOAD_COMPLETE, record)
    event = codec.decode(codec.encode_dict(UPLOAD_COMPLETE, sample(UPLOAD_COMPLETE.current.schema)))
    with pytest.raises(InvalidEventError, match="event_id"):
        codec.encode(dataclasses.replace(event, event_id="evt-1"))


def test_a_tombstone_is_not_an_event() -> None:
    with pytest.raises(NotAnEventError, match="tombstone"):
        codec.decode(None, UPLOAD_COMPLETE)


@pytest.mark.parametrize(("et", "sv"), VERSIONS, ids=VERSION_IDS)
def test_bytes_after_the_record_make_the_message_corrupt(et: EventType[Any], sv: SchemaVersion) -> None:
    data = codec.encode_dict(et, sample(sv.schema), version=sv.version)
    codec.decode(data, et)  # whole, it reads
    with pytest.raises(CorruptPayloadError, match="4 byte"):
        codec.decode(data + b"junk", et)
    with pytest.raises(CorruptPayloadError, match="4 byte"):
        codec.decode_dict(data + b"junk", et)
