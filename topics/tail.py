"""Log records as JSON lines, for analysts and operators (``tubestream tail``).

Event topics are decoded to their current schema; dead-letter topics (and
anything that does not decode) are shown with their headers and the raw
value in base64, so nothing is hidden from the reader.
"""

from __future__ import annotations

import base64
from typing import Any

from schemas import codec
from schemas.errors import EventDecodeError
from schemas.json_form import to_json
from topics.log import LogRecord

__all__ = ["record_as_json"]


def record_as_json(record: LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp_ms": record.timestamp_ms,
        "key": record.key.decode(errors="replace") if record.key is not None else None,
    }
    if record.headers:
        out["headers"] = {k: v.decode(errors="replace") for k, v in record.headers}
    try:
        event_type, value = codec.decode_dict(record.value or b"")
    except EventDecodeError as exc:
        out["undecodable"] = str(exc)
        out["value_base64"] = base64.b64encode(record.value or b"").decode()
        return out
    out["event_type"] = event_type.name
    out["value"] = to_json(value)
    return out
