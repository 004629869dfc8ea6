"""Publish events written as JSON by people and tools (``tubestream publish``).

Each object is completed (``event_id``/``occurred_at`` when missing),
validated against the schema and encoded before anything is sent, so a bad
file publishes nothing and the error names the object and the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from schemas import codec
from schemas.errors import InvalidEventError
from schemas.json_form import from_json
from schemas.registry import EventType
from topics.catalogue import topic_for_event_type
from topics.producer import EventProducer

__all__ = ["parse_json_documents", "publish_json"]


def parse_json_documents(text: str) -> list[Any]:
    """One JSON object, a JSON array of objects, or JSON lines."""
    stripped = text.strip()
    if not stripped:
        raise InvalidEventError("no JSON given")
    try:
        doc = json.loads(stripped)
    except json.JSONDecodeError:
        docs = []
        for number, line in enumerate(stripped.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InvalidEventError(f"line {number}: not JSON: {exc.msg}") from exc
        return docs
    return doc if isinstance(doc, list) else [doc]


def publish_json(
    producer: EventProducer,
    event_type: EventType[Any],
    objects: Iterable[Any],
    *,
    version: int | None = None,
) -> list[str]:
    """Validate every object, then send them in order; return their event ids."""
    spec = topic_for_event_type(event_type)
    encoded: list[tuple[bytes | None, bytes, str]] = []
    for index, obj in enumerate(objects):
        try:
            record = from_json(event_type, obj)
            value = codec.encode_dict(event_type, record, version=version)
        except InvalidEventError as exc:
            raise InvalidEventError(f"event #{index + 1}: {exc}") from exc
        key = str(record[spec.key_field]).encode() if spec.key_field else None
        encoded.append((key, value, str(record["event_id"])))
    for key, value, _ in encoded:
        producer.send(spec, value, key=key)
    producer.flush()
    return [event_id for _, _, event_id in encoded]
