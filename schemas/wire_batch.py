"""Many events of one type encoded or decoded in one call, for the playback hot paths.

fastavro handles one record per call, and on the two-core machines this
project runs on that costs about 10 µs for a playback event each way, more
than everything else the collector or the analytics worker does with it.
pyruhvro (Rust's apache-avro and arrow-rs, through pyarrow) encodes or
decodes a whole batch in one call for about a tenth of that. The bytes are
the same Avro single-object encoding as ``codec`` writes and reads: the tests
hold both to each other on fuzzed records.

Decoding never trusts the batch path alone with a bad message: a batch that
fails is decoded again message by message with ``codec.decode_wire``, so each
undecodable message gets its own ``EventDecodeError`` (for the dead-letter
topic) and the rest are read exactly as ``codec`` reads them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyruhvro

from schemas import codec
from schemas.errors import CorruptPayloadError, EventDecodeError, InvalidEventError
from schemas.registry import EventType, SchemaVersion

__all__ = ["decode_wire_batch", "encode_wire_batch", "wire_fields"]

_HEADER_LEN = len(codec.MAGIC) + 8
_ENCODE_ERRORS = (pa.ArrowException, ValueError, TypeError, OverflowError, KeyError)


# Per schema version, keyed by fingerprint (a SchemaVersion holds dicts: it does not hash).
_SCHEMA_JSON: dict[bytes, str] = {}
_ARROW_SCHEMA: dict[bytes, pa.Schema] = {}


def _schema_json(version: SchemaVersion) -> str:
    found = _SCHEMA_JSON.get(version.fingerprint)
    if found is None:
        found = _SCHEMA_JSON[version.fingerprint] = json.dumps(_declared(version.wire_schema))
    return found


def _arrow_schema(version: SchemaVersion) -> pa.Schema:
    found = _ARROW_SCHEMA.get(version.fingerprint)
    if found is None:
        found = _ARROW_SCHEMA[version.fingerprint] = pyruhvro.avro_to_arrow_schema(_schema_json(version))
    return found


def wire_fields(event_type: EventType[Any]) -> tuple[str, ...]:
    """The current schema's field names: the order of the tuples ``decode_wire_batch`` returns."""
    return tuple(f["name"] for f in event_type.current.wire_schema["fields"])


def encode_wire_batch(event_type: EventType[Any], records: Sequence[dict[str, Any]]) -> list[bytes]:
    """``codec.encode_wire`` of each record, in one call.

    The records must carry every field with a value of its type (the
    collector's intake makes sure of that); a missing field, a null where none
    is allowed, a value of another type or an unknown enum symbol refuses the
    whole batch with ``InvalidEventError``.
    """
    if not records:
        return []
    sv = event_type.current
    for record in records:
        codec.check_uuids(event_type, record)
    try:
        batch = pa.RecordBatch.from_pylist(list(records), schema=_arrow_schema(sv))
        bodies = pyruhvro.serialize_record_batch(batch, _schema_json(sv), 1)
    except _ENCODE_ERRORS as exc:
        raise InvalidEventError(f"{event_type.name} v{sv.version}: {exc}") from exc
    header = codec.MAGIC + sv.fingerprint
    return [header + body for chunk in bodies for body in chunk.to_pylist()]


def decode_wire_batch(
    datas: Sequence[bytes], expected: EventType[Any]
) -> list[tuple[Any, ...] | EventDecodeError]:
    """Each message as a tuple of wire values in ``wire_fields`` order, or the reason it cannot be read.

    The values are those of ``codec.decode_wire`` (older versions resolved to
    the current schema, UUIDs in canonical form).
    """
    current = expected.current
    header = codec.MAGIC + current.fingerprint
    fields = wire_fields(expected)
    results: list[tuple[Any, ...] | EventDecodeError] = []
    fast: list[int] = []  # messages written with the current schema: decoded together
    for index, data in enumerate(datas):
        if data[:_HEADER_LEN] == header:
            fast.append(index)
            results.append(CorruptPayloadError("not decoded"))  # replaced below
        else:
            results.append(_one(data, expected, fields))
    if not fast:
        return results
    try:
        batch = pyruhvro.deserialize_array([datas[i][_HEADER_LEN:] for i in fast], _schema_json(current))
        columns = [column.to_pylist() for column in batch.columns]
    except (ValueError, TypeError, OverflowError, UnicodeDecodeError, pa.ArrowException):
        for index in fast:  # find the bad ones, and read the others as codec does
            results[index] = _one(datas[index], expected, fields)
        return results
    uuid_columns = [fields.index(name) for name in codec.uuid_fields(expected)]
    for row, values in zip(fast, zip(*columns, strict=True), strict=True):
        results[row] = _canonical(values, uuid_columns, expected)
    return results


def _canonical(
    values: tuple[Any, ...], uuid_columns: list[int], expected: EventType[Any]
) -> tuple[Any, ...] | EventDecodeError:
    if not uuid_columns:
        return values
    fixed = list(values)
    for column in uuid_columns:
        try:
            fixed[column] = codec.canonical_uuid(fixed[column])
        except ValueError as exc:
            return CorruptPayloadError(f"{expected.name}: {exc}")
    return tuple(fixed)


def _one(
    data: bytes, expected: EventType[Any], fields: tuple[str, ...]
) -> tuple[Any, ...] | EventDecodeError:
    try:
        record = codec.decode_wire(data, expected)
    except EventDecodeError as exc:
        return exc
    return tuple(record[name] for name in fields)


def _declared(schema: Any) -> Any:
    """A schema parsed by fastavro back to plain JSON (without its ``__fastavro`` bookkeeping)."""
    if isinstance(schema, dict):
        return {k: _declared(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_declared(s) for s in schema]
    return schema
