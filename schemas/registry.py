"""Every event type and every schema version on record.

Schemas are append-only: a new version is a new ``<event>.vN.avsc`` file
beside the old ones, so the codec can still read whatever an old producer
wrote. The last version is the one producers write and consumers read into.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from fastavro import parse_schema
from fastavro.schema import fingerprint, to_parsing_canonical_form

from schemas.playback_event import PlaybackEvent
from schemas.recs_model_ready import RecsModelReady
from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import TranscodeRequested
from schemas.upload_complete import UploadComplete

__all__ = [
    "EVENT_TYPES",
    "PLAYBACK_EVENT",
    "RECS_MODEL_READY",
    "RENDITION_READY",
    "TRANSCODE_FAILED",
    "TRANSCODE_PROGRESS",
    "TRANSCODE_REQUESTED",
    "UPLOAD_COMPLETE",
    "Event",
    "EventType",
    "SchemaVersion",
    "event_type_named",
    "event_type_of",
]

_HERE = Path(__file__).parent
_VERSION_FILE = re.compile(r"^(?P<stem>[a-z_]+)\.v(?P<version>\d+)\.avsc$")


class Event(Protocol):
    """What every typed event record offers."""

    @property
    def event_id(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class SchemaVersion:
    version: int
    schema: dict[str, Any]  # parsed by fastavro
    fingerprint: bytes  # CRC-64-AVRO of the canonical form, as on the wire
    # The same schema without its logical types: the values as the binary holds them
    # (timestamps as epoch milliseconds, UUIDs as strings). Same bytes, same fingerprint;
    # hot paths read and write it to skip building datetimes and UUID objects.
    wire_schema: dict[str, Any]

    @property
    def canonical_form(self) -> str:
        return to_parsing_canonical_form(self.schema)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class EventType(Generic[E]):
    """One kind of event: its name on the wire, its record type, its schema history."""

    name: str
    record_type: type[E]
    versions: tuple[SchemaVersion, ...]

    @property
    def current(self) -> SchemaVersion:
        return self.versions[-1]

    def version(self, number: int) -> SchemaVersion:
        for v in self.versions:
            if v.version == number:
                return v
        raise KeyError(f"{self.name} has no schema version {number}")

    def from_dict(self, d: dict[str, Any]) -> E:
        return self.record_type.from_dict(d)  # type: ignore[attr-defined,no-any-return]


def _load_versions(stem: str) -> tuple[SchemaVersion, ...]:
    found: list[SchemaVersion] = []
    for path in _HERE.glob(f"{stem}.v*.avsc"):
        m = _VERSION_FILE.match(path.name)
        if not m or m["stem"] != stem:
            continue
        # The write hint marks the schema as parsed: without it fastavro parses it again on every
        # record it reads or writes (half the cost of a playback event's encode and decode).
        declared = json.loads(path.read_text())
        parsed = parse_schema(declared)
        wire = parse_schema(_without_logical_types(declared))
        canonical = to_parsing_canonical_form(parsed)
        fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
        assert isinstance(parsed, dict) and isinstance(wire, dict), path
        assert to_parsing_canonical_form(wire) == canonical, path
        found.append(SchemaVersion(int(m["version"]), parsed, fp, wire))
    if not found:
        raise RuntimeError(f"no schema files {stem}.v*.avsc beside {__file__}")
    return tuple(sorted(found, key=lambda v: v.version))


def _without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(s) for s in schema]
    return schema


UPLOAD_COMPLETE = EventType("upload-complete", UploadComplete, _load_versions("upload_complete"))
TRANSCODE_REQUESTED = EventType(
    "transcode-requested", TranscodeRequested, _load_versions("transcode_requested")
)
TRANSCODE_PROGRESS = EventType("transcode-progress", TranscodeProgress, _load_versions("transcode_progress"))
TRANSCODE_FAILED = EventType("transcode-failed", TranscodeFailed, _load_versions("transcode_failed"))
RENDITION_READY = EventType("rendition-ready", RenditionReady, _load_versions("rendition_ready"))
PLAYBACK_EVENT = EventType("playback-event", PlaybackEvent, _load_versions("playback_event"))
RECS_MODEL_READY = EventType("recs-model-ready", RecsModelReady, _load_versions("recs_model_ready"))

EVENT_TYPES: tuple[EventType[Any], ...] = (
    UPLOAD_COMPLETE,
    TRANSCODE_REQUESTED,
    TRANSCODE_PROGRESS,
    TRANSCODE_FAILED,
    RENDITION_READY,
    PLAYBACK_EVENT,
    RECS_MODEL_READY,
)


def event_type_named(name: str) -> EventType[Any]:
    for et in EVENT_TYPES:
        if et.name == name:
            return et
    known = ", ".join(et.name for et in EVENT_TYPES)
    raise KeyError(f"unknown event type {name!r}; known: {known}")


def event_type_of(event: Event) -> EventType[Any]:
    for et in EVENT_TYPES:
        if isinstance(event, et.record_type):
            return et
    raise KeyError(f"{type(event).__name__} is not a registered event record")
