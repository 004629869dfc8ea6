"""Catalog rows as JSON documents: what a store keeps, written and read in one place.

Stores keep a whole ``VideoRecord`` as one document (SQLite text now,
a Cassandra text column later), so adding a field to the record needs no
schema migration, and every backend round-trips rows the same way.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from views.catalog import RenditionRecord, VideoRecord, VideoStatus, Visibility

__all__ = ["created_at_of", "from_dict", "from_document", "to_dict", "to_document"]


def to_document(record: VideoRecord) -> str:
    """The row as compact JSON text, the form every store keeps."""
    return json.dumps(to_dict(record), separators=(",", ":"), ensure_ascii=False)


def from_document(text: str) -> VideoRecord:
    """Inverse of ``to_document``; raises ``ValueError`` on text that is not a catalog row."""
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError(f"a catalog row is a JSON object, got {type(doc).__name__}")
    return from_dict(doc)


def to_dict(record: VideoRecord) -> dict[str, Any]:
    """Every field as JSON types: times as UTC ISO-8601 text, tuples as lists, the status as its value."""
    return {
        "video_id": record.video_id,
        "status": record.status.value,
        "updated_at": _ts(record.updated_at),
        "created_at": _ts(record.created_at),
        "title": record.title,
        "description": record.description,
        "tags": list(record.tags),
        "visibility": record.visibility.value,
        "uploader_id": record.uploader_id,
        "object_key": record.object_key,
        "size_bytes": record.size_bytes,
        "content_type": record.content_type,
        "duration_ms": record.duration_ms,
        "width": record.width,
        "height": record.height,
        "job_id": record.job_id,
        "requested_at": _ts(record.requested_at),
        "planned_renditions": list(record.planned_renditions),
        "renditions": [_rendition_doc(r) for r in record.renditions],
        "hls_master_key": record.hls_master_key,
        "dash_manifest_key": record.dash_manifest_key,
        "poster_key": record.poster_key,
        "storyboard_key": record.storyboard_key,
        "media_duration_ms": record.media_duration_ms,
        "progress_pct": record.progress_pct,
        "progress_job_id": record.progress_job_id,
        "failure_reason": record.failure_reason,
        "failed_job_id": record.failed_job_id,
        "job_progress": [list(p) for p in record.job_progress],
        "job_failures": [list(f) for f in record.job_failures],
    }


def from_dict(doc: dict[str, Any]) -> VideoRecord:
    """Inverse of ``to_dict``. Fields missing from an older document take the record's defaults.

    Raises ``ValueError`` (or ``KeyError``/``TypeError``) when required fields are missing or mistyped.
    """
    updated_at = _parse_ts(doc["updated_at"])
    if updated_at is None:
        raise ValueError(f"catalog row {doc.get('video_id')!r} has no updated_at")
    return VideoRecord(
        video_id=doc["video_id"],
        status=VideoStatus(doc["status"]),
        updated_at=updated_at,
        created_at=_parse_ts(doc.get("created_at")),
        title=doc.get("title", ""),
        description=doc.get("description", ""),
        tags=tuple(doc.get("tags", ())),
        visibility=Visibility(doc.get("visibility", "public")),
        uploader_id=doc.get("uploader_id", ""),
        object_key=doc.get("object_key", ""),
        size_bytes=doc.get("size_bytes", 0),
        content_type=doc.get("content_type", ""),
        duration_ms=doc.get("duration_ms"),
        width=doc.get("width"),
        height=doc.get("height"),
        job_id=doc.get("job_id"),
        requested_at=_parse_ts(doc.get("requested_at")),
        planned_renditions=tuple(doc.get("planned_renditions", ())),
        renditions=tuple(RenditionRecord(**r) for r in doc.get("renditions", ())),
        hls_master_key=doc.get("hls_master_key"),
        dash_manifest_key=doc.get("dash_manifest_key"),
        poster_key=doc.get("poster_key"),
        storyboard_key=doc.get("storyboard_key"),
        media_duration_ms=doc.get("media_duration_ms"),
        progress_pct=doc.get("progress_pct"),
        progress_job_id=doc.get("progress_job_id"),
        failure_reason=doc.get("failure_reason"),
        failed_job_id=doc.get("failed_job_id"),
        job_progress=tuple((str(j), float(p)) for j, p in doc.get("job_progress", ())),
        job_failures=tuple((str(j), str(r)) for j, r in doc.get("job_failures", ())),
    )


def created_at_of(doc: dict[str, Any]) -> datetime | None:
    """Just the listing key of a stored row, without building the whole record."""
    return _parse_ts(doc.get("created_at"))


def _rendition_doc(r: RenditionRecord) -> dict[str, Any]:
    return {
        "name": r.name,
        "codec": r.codec,
        "width": r.width,
        "height": r.height,
        "bitrate_kbps": r.bitrate_kbps,
        "segment_duration_s": r.segment_duration_s,
        "encoder": r.encoder,
        "manifest_key": r.manifest_key,
        "init_key": r.init_key,
        "segment_count": r.segment_count,
        "job_id": r.job_id,
        "hls_master_key": r.hls_master_key,
        "dash_manifest_key": r.dash_manifest_key,
        "average_bitrate_kbps": r.average_bitrate_kbps,
        "peak_bitrate_kbps": r.peak_bitrate_kbps,
        "duration_ms": r.duration_ms,
        "poster_key": r.poster_key,
        "storyboard_key": r.storyboard_key,
    }


def _ts(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with microseconds, not milliseconds: a datetime holds microseconds, and a
    row (and a page cursor made from it) must come back as the same instant, not a rounded one."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
