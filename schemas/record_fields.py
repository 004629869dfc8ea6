"""The field handling that the typed records share, written once.

Each record still spells out its own to-dict and from-dict, so what goes on
the wire stays visible beside its schema; only the common parts come from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["job_event_header", "plain_fields"]


def plain_fields(record: Any) -> dict[str, Any]:
    """A dataclass record's fields by name, values as they are (the wire form of plain fields)."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def job_event_header(d: Mapping[str, Any]) -> dict[str, Any]:
    """The four fields every transcode job event opens with, read from a decoded record."""
    return {
        "event_id": str(d["event_id"]),
        "occurred_at": d["occurred_at"],
        "job_id": d["job_id"],
        "video_id": d["video_id"],
    }
