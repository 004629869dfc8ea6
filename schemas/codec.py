"""Avro single-object encoding of events, decoded writer schema → reader schema.

Each message names its writer schema by fingerprint (``C3 01`` + 8-byte
CRC-64-AVRO + Avro binary, per the Avro specification), so a consumer can
read any version on record without a schema registry, and tools outside
Python can decode the topic with the ``.avsc`` files alone.
"""

from __future__ import annotations

import io
import re
import uuid
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from schemas.errors import (
    CorruptPayloadError,
    InvalidEventError,
    NotAnEventError,
    UnknownSchemaError,
)
from schemas.registry import EVENT_TYPES, Event, EventType, SchemaVersion, event_type_of

__all__ = [
    "MAGIC",
    "canonical_uuid",
    "check_uuids",
    "decode",
    "decode_dict",
    "decode_wire",
    "encode",
    "encode_dict",
    "encode_wire",
    "uuid_fields",
    "writer_version",
]

MAGIC = b"\xc3\x01"
_HEADER_LEN = len(MAGIC) + 8

_BY_FINGERPRINT: dict[bytes, tuple[EventType[Any], SchemaVersion]] = {
    v.fingerprint: (et, v) for et in EVENT_TYPES for v in et.versions
}


def _uuid_fields(schema: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        f["name"]
        for f in schema["fields"]
        if isinstance(f["type"], dict) and f["type"].get("logicalType") == "uuid"
    )


# fastavro writes any string into a uuid field but parses it on read: a value that is
# not a UUID would make an event no consumer can decode, so it is refused when written.
_UUID_FIELDS: dict[bytes, tuple[str, ...]] = {
    fp: _uuid_fields(v.schema) for fp, (_, v) in _BY_FINGERPRINT.items()
}


def uuid_fields(event_type: EventType[Any]) -> tuple[str, ...]:
    """The current schema's UUID fields: the ones whose values are checked on write and read."""
    return _UUID_FIELDS[event_type.current.fingerprint]


def check_uuids(event_type: EventType[Any], record: dict[str, Any]) -> None:
    """Refuse (``InvalidEventError``) a record for the current schema with a UUID field that holds none."""
    _check_uuids(event_type, event_type.current, record)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_uuid(value: Any) -> str:
    """``value`` as a lowercase hyphenated UUID (as fastavro reads it back); ``ValueError`` if none.

    The common case, a value already in that form, is a regex match rather than
    a parse: parsing costs as much as encoding the rest of a playback event.
    """
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"not a UUID: {value!r}") from None


def encode(event: Event) -> bytes:
    """Encode a typed event with the current schema of its type.

    Typed records are built by our own code, so the up-front validation that
    ``encode_dict`` does for people's JSON (and that costs more than the
    encoding itself) is skipped; fastavro still refuses a value that does not
    fit, and that refusal is reported as ``InvalidEventError``.
    """
    et = event_type_of(event)
    return _write(et, et.current, et.current.schema, event.to_dict())


def encode_dict(event_type: EventType[Any], record: dict[str, Any], *, version: int | None = None) -> bytes:
    """Encode a plain record; ``version`` writes an older schema (evolution tests, old producers)."""
    sv = event_type.current if version is None else event_type.version(version)
    try:
        validate(record, sv.schema, raise_errors=True)
    except ValidationError as exc:
        raise InvalidEventError(f"{event_type.name} v{sv.version}: {_explain(exc)}") from exc
    _check_uuids(event_type, sv, record)
    buf = io.BytesIO()
    buf.write(MAGIC)
    buf.write(sv.fingerprint)
    schemaless_writer(buf, sv.schema, record)
    return buf.getvalue()


def encode_wire(event_type: EventType[Any], record: dict[str, Any]) -> bytes:
    """Encode a record already in wire form (``SchemaVersion.wire_schema``), with the current schema.

    For hot paths whose producer builds the values itself (the playback
    collector): no datetimes or UUID objects to convert, no up-front
    validation. UUID fields are still checked, and fastavro still refuses a
    value of the wrong type (``InvalidEventError``).
    """
    return _write(event_type, event_type.current, event_type.current.wire_schema, record)


def _write(et: EventType[Any], sv: SchemaVersion, schema: Any, record: dict[str, Any]) -> bytes:
    """UUIDs checked, then the header and the body; fastavro's refusal as ``InvalidEventError``."""
    _check_uuids(et, sv, record)
    buf = io.BytesIO()
    buf.write(MAGIC)
    buf.write(sv.fingerprint)
    try:
        schemaless_writer(buf, schema, record)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise InvalidEventError(f"{et.name} v{sv.version}: {type(exc).__name__}: {exc}") from exc
    return buf.getvalue()


def writer_version(data: bytes | None) -> tuple[EventType[Any], SchemaVersion]:
    """Which event type and schema version wrote these bytes."""
    if data is None:  # a tombstone on a topic that should have none
        raise NotAnEventError("no value (a tombstone): not an event")
    if len(data) < _HEADER_LEN or data[:2] != MAGIC:
        raise NotAnEventError(
            f"not an Avro single-object encoded event (first bytes {data[:4].hex() or 'empty'})"
        )
    fp = bytes(data[2:_HEADER_LEN])
    try:
        return _BY_FINGERPRINT[fp]
    except KeyError:
        raise UnknownSchemaError(f"writer schema fingerprint {fp.hex()} is not on record") from None


def decode_dict(
    data: bytes | None, expected: EventType[Any] | None = None
) -> tuple[EventType[Any], dict[str, Any]]:
    """Decode to a plain record in the current schema of its type."""
    et, writer = writer_version(data)
    assert data is not None  # writer_version refuses a tombstone
    if expected is not None and et is not expected:
        raise UnknownSchemaError(f"expected a {expected.name} event, got {et.name}")
    return et, _read(data, et, writer, wire=False)


def _read(data: bytes, et: EventType[Any], writer: SchemaVersion, *, wire: bool) -> dict[str, Any]:
    """The body resolved to the current schema (its wire form if ``wire``): no resolution when the same."""
    current = et.current
    written, wanted = (writer.wire_schema, current.wire_schema) if wire else (writer.schema, current.schema)
    body = io.BytesIO(data[_HEADER_LEN:])
    try:
        record = schemaless_reader(body, written, None if writer is current else wanted)
    except Exception as exc:  # fastavro raises EOFError, ValueError, IndexError… on bad bodies
        raise CorruptPayloadError(
            f"{et.name} v{writer.version} body unreadable: {type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(record, dict):
        raise CorruptPayloadError(f"{et.name} body is not a record")
    extra = len(data) - _HEADER_LEN - body.tell()
    if extra:  # a record and then something else: not what any writer of ours sends
        raise CorruptPayloadError(f"{et.name} v{writer.version}: {extra} byte(s) after the record")
    return record


def decode_wire(data: bytes | None, expected: EventType[Any]) -> dict[str, Any]:
    """Decode to a wire-form record in the current schema: timestamps as epoch ms, UUIDs as strings.

    The hot-path twin of ``decode_dict``: the same record but for the logical
    types, which are left as the binary holds them. UUIDs come back in the
    canonical form that ``decode`` gives, and one that is not a UUID is a
    ``CorruptPayloadError`` there too.
    """
    et, writer = writer_version(data)
    assert data is not None  # writer_version refuses a tombstone
    if et is not expected:
        raise UnknownSchemaError(f"expected a {expected.name} event, got {et.name}")
    record = _read(data, et, writer, wire=True)
    for name in _UUID_FIELDS[et.current.fingerprint]:
        try:
            record[name] = canonical_uuid(record[name])
        except ValueError as exc:
            raise CorruptPayloadError(f"{et.name} v{writer.version}: {name}: {exc}") from None
    return record


def decode(data: bytes | None, expected: EventType[Any] | None = None) -> Any:
    """Decode to the typed record of its event type."""
    et, record = decode_dict(data, expected)
    try:
        return et.from_dict(record)
    except (KeyError, ValueError, TypeError) as exc:
        raise CorruptPayloadError(f"{et.name} record does not fit its type: {exc}") from exc


def _check_uuids(et: EventType[Any], sv: SchemaVersion, record: dict[str, Any]) -> None:
    for name in _UUID_FIELDS[sv.fingerprint]:
        value = record.get(name)
        try:
            canonical_uuid(value)  # what fastavro's reader will do with it
        except ValueError:
            raise InvalidEventError(
                f"{et.name} v{sv.version}: {name} must be a UUID, got {value!r}"
            ) from None


def _explain(exc: ValidationError) -> str:
    # fastavro's message is a JSON list of "<path> is <value> of type <t> expected <schema>"
    return "; ".join(str(e) for e in exc.errors) if getattr(exc, "errors", None) else str(exc)
