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
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import pyruhvro

from schemas import codec
from schemas.errors import EventDecodeError, InvalidEventError
from schemas.registry import EventType, SchemaVersion

__all__ = ["WireColumns", "decode_wire_columns", "encode_wire_batch", "wire_fields"]

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
    """The current schema's field names, in its order: the keys of ``WireColumns.columns``."""
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
    try:
        batch = pa.RecordBatch.from_pylist(list(records), schema=_arrow_schema(sv))
        for name in codec.uuid_fields(event_type):
            if not _all_canonical_uuids(batch.column(name)):  # then find the one that is no UUID
                for record in records:
                    codec.check_uuids(event_type, record)
        bodies = pyruhvro.serialize_record_batch(batch, _schema_json(sv), 1)
    except _ENCODE_ERRORS as exc:
        raise InvalidEventError(f"{event_type.name} v{sv.version}: {exc}") from exc
    header = codec.MAGIC + sv.fingerprint
    return [header + body for chunk in bodies for body in chunk.to_pylist()]


class WireColumns(NamedTuple):
    """A decoded batch by column: ``columns[name][i]`` is that field in the ``i``-th readable message."""

    columns: dict[str, list[Any]]
    readable: list[int]  # the position in the batch of each readable message, ascending
    errors: dict[int, EventDecodeError]  # position in the batch -> why that message cannot be read


def decode_wire_columns(datas: Sequence[bytes], expected: EventType[Any]) -> WireColumns:
    """The messages' wire values by field of the current schema, and why any could not be read.

    The values are those of ``codec.decode_wire`` (older versions resolved to
    the current schema, UUIDs in canonical form). A batch written entirely
    with the current schema, the usual case, is decoded in one call.
    """
    if not datas:
        return WireColumns({name: [] for name in wire_fields(expected)}, [], {})
    header = codec.MAGIC + expected.current.fingerprint
    if all(data.startswith(header) for data in datas):
        columns = _decode_current(datas, expected)
        if columns is not None:
            return WireColumns(columns, list(range(len(datas))), {})
        return _decode_each(datas, expected)
    current = [index for index, data in enumerate(datas) if data.startswith(header)]
    together = _decode_current([datas[i] for i in current], expected) if current else None
    if together is None:
        return _decode_each(datas, expected)
    fields = wire_fields(expected)
    rows: dict[int, tuple[Any, ...]] = dict(zip(current, zip(*together.values(), strict=True), strict=True))
    errors: dict[int, EventDecodeError] = {}
    for index, data in enumerate(datas):
        if index not in rows:
            try:
                record = codec.decode_wire(data, expected)
            except EventDecodeError as exc:
                errors[index] = exc
                continue
            rows[index] = tuple(record[name] for name in fields)
    readable = sorted(rows)
    ordered = [rows[index] for index in readable]
    columns = {name: [row[at] for row in ordered] for at, name in enumerate(fields)}
    return WireColumns(columns, readable, errors)


_DECODE_ERRORS = (ValueError, TypeError, OverflowError, UnicodeDecodeError, pa.ArrowException)
_UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"  # codec's canonical form


def _decode_current(datas: Sequence[bytes], expected: EventType[Any]) -> dict[str, list[Any]] | None:
    """Messages all written with the current schema, decoded together; ``None`` if any cannot be."""
    current = expected.current
    try:
        bodies = [data[_HEADER_LEN:] for data in datas]
        batch = pyruhvro.deserialize_array(bodies, _schema_json(current))
        # pyruhvro reads a record and ignores what follows it; codec refuses bytes after the record.
        # Written again, the records take exactly the bytes they came in (about 0.9 us per event);
        # when not, one message holds something more and codec, one by one, names it.
        rewritten = pyruhvro.serialize_record_batch(batch, _schema_json(current), 1)
        if sum(map(len, rewritten)) != sum(map(len, bodies)):
            return None
        columns = {name: batch.column(name).to_pylist() for name in wire_fields(expected)}
        for name in codec.uuid_fields(expected):
            if not _all_canonical_uuids(batch.column(name)):
                columns[name] = [codec.canonical_uuid(value) for value in columns[name]]
    except _DECODE_ERRORS:  # ValueError also from canonical_uuid: a message holds no UUID there
        return None
    return columns


def _all_canonical_uuids(column: pa.Array) -> bool:
    """One regex pass in Arrow over the column instead of a Python call per value."""
    return bool(pc.all(pc.match_substring_regex(column, _UUID_PATTERN)).as_py())


def _decode_each(datas: Sequence[bytes], expected: EventType[Any]) -> WireColumns:
    """The slow path, one ``codec.decode_wire`` per message: each bad one gets codec's own error."""
    fields = wire_fields(expected)
    columns: dict[str, list[Any]] = {name: [] for name in fields}
    readable: list[int] = []
    errors: dict[int, EventDecodeError] = {}
    for index, data in enumerate(datas):
        try:
            record = codec.decode_wire(data, expected)
        except EventDecodeError as exc:
            errors[index] = exc
            continue
        readable.append(index)
        for name in fields:
            columns[name].append(record[name])
    return WireColumns(columns, readable, errors)


def _declared(schema: Any) -> Any:
    """A schema parsed by fastavro back to plain JSON (without its ``__fastavro`` bookkeeping)."""
    if isinstance(schema, dict):
        return {k: _declared(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_declared(s) for s in schema]
    return schema
