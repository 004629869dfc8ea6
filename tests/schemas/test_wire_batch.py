"""The batch codec writes and reads the bytes and values of ``codec``; bad messages fail one by one."""

from __future__ import annotations

import io
import random
import uuid
from typing import Any

import pytest
from fastavro import schemaless_writer

from schemas import codec, wire_batch
from schemas.errors import (
    CorruptPayloadError,
    EventDecodeError,
    InvalidEventError,
    NotAnEventError,
    UnknownSchemaError,
)
from schemas.registry import PLAYBACK_EVENT, UPLOAD_COMPLETE

KINDS = ["START", "HEARTBEAT", "PAUSE", "SEEK", "END", "REBUFFER", "QUALITY_CHANGE"]
LONGS = [0, 1, -1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63), 1_764_000_000_000]
TEXTS = ["", "a", "720p", "é", "视频", "🎬 clip", "x" * 300, "tab\tnew\nline", "\x00nul"]


def fuzzed_record(rng: random.Random) -> dict[str, Any]:
    """A wire-form playback event with every field drawn from the awkward values as well as the usual ones."""

    def long() -> int:
        return rng.choice(LONGS) if rng.random() < 0.5 else rng.randrange(-(2**40), 2**40)

    def text() -> str:
        return rng.choice(TEXTS) if rng.random() < 0.7 else str(uuid.UUID(int=rng.getrandbits(128)))

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.3 else value

    return {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "occurred_at": long(),
        "received_at": long(),
        "session_id": text(),
        "user_pseudonym": text(),
        "video_id": text(),
        "kind": rng.choice(KINDS),
        "position_ms": long(),
        "rendition": maybe(text()),
        "duration_ms": maybe(long()),
        "client": text(),
        "video_duration_ms": maybe(long()),
        "ip_pseudonym": text(),
    }


@pytest.fixture
def records() -> list[dict[str, Any]]:
    rng = random.Random(20261202)
    return [fuzzed_record(rng) for _ in range(2000)]


def decode_rows(datas: list[bytes], expected: Any) -> list[tuple[Any, ...] | EventDecodeError]:
    """Each message as a row in ``wire_fields`` order, or its error: comparable with codec, one by one."""
    decoded = wire_batch.decode_wire_columns(datas, expected)
    rows = dict(zip(decoded.readable, zip(*decoded.columns.values(), strict=True), strict=True))
    return [rows[index] if index in rows else decoded.errors[index] for index in range(len(datas))]


def as_row(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record[name] for name in wire_batch.wire_fields(PLAYBACK_EVENT))


def test_a_batch_is_written_byte_for_byte_as_codec_writes_each_record(records: list[dict[str, Any]]) -> None:
    assert wire_batch.encode_wire_batch(PLAYBACK_EVENT, records) == [
        codec.encode_wire(PLAYBACK_EVENT, record) for record in records
    ]


def test_a_batch_reads_back_the_values_codec_reads(records: list[dict[str, Any]]) -> None:
    datas = [codec.encode_wire(PLAYBACK_EVENT, record) for record in records]

    rows = decode_rows(datas, PLAYBACK_EVENT)

    assert rows == [as_row(codec.decode_wire(data, PLAYBACK_EVENT)) for data in datas]
    assert rows == [as_row(record) for record in records]


def test_the_row_order_is_the_current_schema_field_order() -> None:
    assert wire_batch.wire_fields(PLAYBACK_EVENT) == tuple(
        field["name"] for field in PLAYBACK_EVENT.current.schema["fields"]
    )


def test_messages_of_an_older_version_read_with_the_current_defaults(records: list[dict[str, Any]]) -> None:
    v1 = PLAYBACK_EVENT.versions[0]
    v1_names = {field["name"] for field in v1.schema["fields"]}
    old = {name: value for name, value in records[0].items() if name in v1_names}
    old_data = codec.encode_dict(PLAYBACK_EVENT, {**old}, version=1)
    new_data = codec.encode_wire(PLAYBACK_EVENT, records[1])

    rows = decode_rows([new_data, old_data, new_data], PLAYBACK_EVENT)

    assert rows[0] == rows[2] == as_row(records[1])
    assert rows[1] == as_row(codec.decode_wire(old_data, PLAYBACK_EVENT))
    assert rows[1][-2:] == (None, "")  # video_duration_ms and ip_pseudonym came after v1


def test_each_bad_message_gets_the_error_codec_gives_it_and_the_good_ones_still_read(
    records: list[dict[str, Any]],
) -> None:
    good = [codec.encode_wire(PLAYBACK_EVENT, record) for record in records[:50]]
    header = good[0][:10]
    upload = codec.MAGIC + UPLOAD_COMPLETE.current.fingerprint + good[0][10:]  # another type's header
    rng = random.Random(7)
    flipped = []
    for data in good[:20]:
        body = bytearray(data)
        for _ in range(3):
            body[rng.randrange(10, len(body))] = rng.randrange(256)
        flipped.append(bytes(body))
    bad = [b"", b"{}", b"\xc3\x01", header, good[0][:-4], upload, *flipped]
    batch = [message for pair in zip(good, bad, strict=False) for message in pair] + good[len(bad) :]

    rows = decode_rows(batch, PLAYBACK_EVENT)

    assert len(rows) == len(batch)
    for data, row in zip(batch, rows, strict=True):
        try:
            expected: tuple[Any, ...] | type[EventDecodeError] = as_row(
                codec.decode_wire(data, PLAYBACK_EVENT)
            )
        except EventDecodeError as exc:
            expected = type(exc)
        if isinstance(row, EventDecodeError):
            assert type(row) is expected, (data.hex(), row)
            assert str(row)
        else:
            assert row == expected
    assert isinstance(rows[1], NotAnEventError)
    assert isinstance(rows[9], CorruptPayloadError)  # the cut body
    assert isinstance(rows[11], UnknownSchemaError)  # an upload-complete
    assert [rows[i] for i in range(0, 2 * len(bad), 2)] == [as_row(r) for r in records[: len(bad)]]


def test_a_message_whose_event_id_is_not_a_uuid_is_corrupt(records: list[dict[str, Any]]) -> None:
    """Another producer's fastavro writes any string into a uuid field; it is refused, as codec does."""
    current = PLAYBACK_EVENT.current
    buf = io.BytesIO()
    schemaless_writer(buf, current.wire_schema, {**records[0], "event_id": "not-a-uuid"})
    forged = codec.MAGIC + current.fingerprint + buf.getvalue()

    rows = decode_rows([codec.encode_wire(PLAYBACK_EVENT, records[1]), forged], PLAYBACK_EVENT)

    assert rows[0] == as_row(records[1])
    assert isinstance(rows[1], CorruptPayloadError)
    assert "event_id" in str(rows[1]) or "not-a-uuid" in str(rows[1])


def test_uuids_come_back_in_canonical_form(records: list[dict[str, Any]]) -> None:
    shouted = {**records[0], "event_id": records[0]["event_id"].upper()}

    [data] = wire_batch.encode_wire_batch(PLAYBACK_EVENT, [shouted])
    [row] = decode_rows([data], PLAYBACK_EVENT)

    assert isinstance(row, tuple)
    assert row[0] == records[0]["event_id"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"event_id": "abc"}, "event_id"),
        ({"session_id": None}, "session_id"),
        ({"kind": "REWIND"}, "REWIND"),
        ({"position_ms": "3"}, "int64"),
        ({"position_ms": 2**64}, "too large"),
    ],
)
def test_a_batch_with_a_record_that_does_not_fit_is_refused_with_the_reason(
    records: list[dict[str, Any]], change: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidEventError, match=named):
        wire_batch.encode_wire_batch(PLAYBACK_EVENT, [records[0], {**records[1], **change}])


def test_a_record_without_a_field_is_refused() -> None:
    record = fuzzed_record(random.Random(3))
    del record["video_id"]
    with pytest.raises(InvalidEventError, match="video_id"):
        wire_batch.encode_wire_batch(PLAYBACK_EVENT, [record])


def test_empty_batches() -> None:
    assert wire_batch.encode_wire_batch(PLAYBACK_EVENT, []) == []
    assert decode_rows([], PLAYBACK_EVENT) == []


def test_one_uuid_in_another_spelling_does_not_slow_the_batch_into_errors(
    records: list[dict[str, Any]],
) -> None:
    datas = [codec.encode_wire(PLAYBACK_EVENT, record) for record in records[:100]]
    braced = "{" + records[100]["event_id"].upper() + "}"  # fastavro writes the string as given
    datas[40] = codec.encode_wire(PLAYBACK_EVENT, {**records[100], "event_id": braced})

    decoded = wire_batch.decode_wire_columns(datas, PLAYBACK_EVENT)

    assert decoded.errors == {}
    assert decoded.readable == list(range(100))
    assert decoded.columns["event_id"][40] == records[100]["event_id"]
    assert decoded.columns["event_id"][:40] == [r["event_id"] for r in records[:40]]


def test_columns_name_where_each_unreadable_message_was(records: list[dict[str, Any]]) -> None:
    good = [codec.encode_wire(PLAYBACK_EVENT, record) for record in records[:4]]
    old = codec.encode_dict(PLAYBACK_EVENT, _v1_of(records[4]), version=1)

    decoded = wire_batch.decode_wire_columns(
        [good[0], b"bad", good[1], old, good[2][:12], good[3]], PLAYBACK_EVENT
    )

    assert decoded.readable == [0, 2, 3, 5]
    assert sorted(decoded.errors) == [1, 4]
    assert decoded.columns["session_id"] == [records[i]["session_id"] for i in (0, 1, 4, 3)]
    assert decoded.columns["ip_pseudonym"][2] == ""  # the v1 message: the current default


def _v1_of(record: dict[str, Any]) -> dict[str, Any]:
    names = {field["name"] for field in PLAYBACK_EVENT.versions[0].schema["fields"]}
    return {name: value for name, value in record.items() if name in names}


def test_a_message_with_bytes_after_its_record_is_corrupt_and_the_rest_still_read(
    records: list[dict[str, Any]],
) -> None:
    good = [codec.encode_wire(PLAYBACK_EVENT, record) for record in records[:100]]
    batch = [*good[:50], good[50] + b"\x00", *good[51:]]

    rows = decode_rows(batch, PLAYBACK_EVENT)

    assert isinstance(rows[50], CorruptPayloadError) and "after the record" in str(rows[50])
    assert [row for i, row in enumerate(rows) if i != 50] == [
        as_row(r) for i, r in enumerate(records[:100]) if i != 50
    ]
