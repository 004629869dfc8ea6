"""Events as JSON, for people and tools: ``tubestream publish`` and ``tubestream tail``.

JSON has no timestamp type, so timestamp-millis fields accept ISO-8601
strings or epoch milliseconds on the way in and are written as ISO-8601
(UTC) on the way out. ``event_id`` and ``occurred_at`` may be left out when
publishing by hand; they are filled with a fresh UUID and the current time.
A field the current schema does not have is refused rather than dropped, so
a misspelt optional field is not published as its default.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from schemas.errors import InvalidEventError
from schemas.registry import EventType

__all__ = ["from_json", "to_json"]


def from_json(event_type: EventType[Any], obj: object, *, now: datetime | None = None) -> dict[str, Any]:
    """A JSON object → a record ready for ``codec.encode_dict`` (still to be validated there)."""
    if not isinstance(obj, dict):
        raise InvalidEventError(f"{event_type.name}: expected a JSON object, got {type(obj).__name__}")
    record = dict(obj)
    known = {f["name"] for f in event_type.current.schema["fields"]}
    unknown = sorted(str(k) for k in record if k not in known)
    if unknown:
        raise InvalidEventError(f"{event_type.name}: unknown field(s) {', '.join(unknown)}")
    record.setdefault("event_id", str(uuid.uuid4()))
    record.setdefault("occurred_at", now or datetime.now(UTC))
    for name in _timestamp_fields(event_type.current.schema):
        if name in record:
            record[name] = _parse_timestamp(event_type.name, name, record[name])
    return record


def to_json(value: Any) -> Any:
    """A decoded record → plain JSON values."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _timestamp_fields(schema: dict[str, Any]) -> list[str]:
    names = []
    for f in schema.get("fields", []):
        t = f["type"]
        if isinstance(t, dict) and t.get("logicalType") == "timestamp-millis":
            names.append(f["name"])
    return names


def _parse_timestamp(event: str, field: str, value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise InvalidEventError(f"{event}.{field}: expected ISO-8601 or epoch milliseconds, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):  # NaN, or beyond the years datetime can hold
            pass
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InvalidEventError(f"{event}.{field}: expected ISO-8601 or epoch milliseconds, got {value!r}")
