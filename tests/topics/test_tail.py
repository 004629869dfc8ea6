"""``tubestream tail`` lines: events decoded to JSON, anything else shown raw, nothing hidden."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from schemas import codec
from schemas.registry import UPLOAD_COMPLETE
from schemas.upload_complete import MediaProbe, UploadComplete
from topics.log import LogRecord
from topics.tail import record_as_json

EVENT = UploadComplete(
    event_id=str(uuid.UUID(int=5)),
    occurred_at=datetime(2026, 11, 24, 12, 0, 0, 125000, tzinfo=UTC),
    video_id="vid-1",
    uploader_id="user-42",
    object_key="uploads/vid-1/source.mp4",
    size_bytes=1024,
    content_type="video/mp4",
    title="Hello, tübestream",
    tags=("demo",),
    probe=MediaProbe(duration_ms=2000, width=640, height=360, frame_rate=25.0, video_codec="h264"),
)


def record(
    value: bytes | None, *, key: bytes | None = b"vid-1", headers: tuple[tuple[str, bytes], ...] = ()
) -> LogRecord:
    return LogRecord(
        topic="t1-upload-complete",
        partition=2,
        offset=17,
        key=key,
        value=value,
        headers=headers,
        timestamp_ms=1795521600125,
    )


def test_an_event_is_printed_decoded_with_its_position() -> None:
    line = record_as_json(record(codec.encode(EVENT)))
    assert line["topic"] == "t1-upload-complete"
    assert (line["partition"], line["offset"], line["timestamp_ms"], line["key"]) == (
        2,
        17,
        1795521600125,
        "vid-1",
    )
    assert line["event_type"] == "upload-complete"
    assert line["value"]["event_id"] == EVENT.event_id
    assert line["value"]["occurred_at"] == "2026-11-24T12:00:00.125000Z"
    assert line["value"]["title"] == "Hello, tübestream"
    assert line["value"]["probe"]["width"] == 640
    assert "undecodable" not in line and "headers" not in line
    assert json.loads(json.dumps(line)) == line  # one JSON line, as printed


def test_an_old_version_is_shown_in_the_current_schema() -> None:
    v1 = {k: v for k, v in EVENT.to_dict().items() if k != "probe"}
    line = record_as_json(record(codec.encode_dict(UPLOAD_COMPLETE, v1, version=1)))
    assert line["value"]["probe"] is None
    assert line["value"]["title"] == EVENT.title


def test_a_dead_letter_shows_its_headers_and_the_raw_value() -> None:
    raw = b"\x00\x01not avro at all\xff"
    line = record_as_json(record(raw, headers=(("dlq.reason", b"not an event"), ("dlq.source.offset", b"4"))))
    assert line["headers"] == {"dlq.reason": "not an event", "dlq.source.offset": "4"}
    assert base64.b64decode(line["value_base64"]) == raw
    assert "not an Avro single-object encoded event" in line["undecodable"]
    assert "value" not in line


def test_a_tombstone_and_a_keyless_message_are_shown_not_skipped() -> None:
    line = record_as_json(record(None, key=None))
    assert line["key"] is None
    assert line["value_base64"] == ""
    assert "undecodable" in line


def test_bytes_that_are_not_utf8_do_not_break_the_line() -> None:
    line = record_as_json(record(b"\xc3\x01" + b"\xff" * 8, key=b"\xff\xfe", headers=(("h", b"\xff"),)))
    assert line["key"] == "\ufffd\ufffd"
    assert line["headers"] == {"h": "\ufffd"}
    assert "not on record" in line["undecodable"]
    json.dumps(line)
