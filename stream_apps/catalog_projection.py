"""Events → catalog rows, as pure functions.

The catalog agent and the replay tool both fold events into rows with
``project``. It is idempotent (applying an event twice gives the row it gave
once) and insensitive to how events of *different* topics interleave, because
a live worker and a replay may read the three topics in different orders:

- upload metadata comes from the newest upload-complete (by event time);
- the plan comes from the newest transcode-requested (by event time);
- renditions accumulate by name, whatever order they arrive in; when two
  jobs produced the same name, the one of the current job wins;
- progress and failure belong to a job: those of a job other than the
  current one are ignored, and a newer request clears them. Progress only
  grows within a job (max), so a redelivered old percent cannot move it back;
- status is derived from what the row holds, never stored as a transition.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import TranscodeRequested
from schemas.upload_complete import UploadComplete
from views.catalog import RenditionRecord, VideoRecord, VideoStatus

__all__ = ["CatalogEvent", "derive_status", "project"]

CatalogEvent = UploadComplete | TranscodeRequested | TranscodeProgress | TranscodeFailed | RenditionReady


def project(current: VideoRecord | None, event: CatalogEvent) -> VideoRecord:
    row = current or VideoRecord(
        video_id=event.video_id, status=VideoStatus.UPLOADED, updated_at=event.occurred_at
    )
    if isinstance(event, UploadComplete):
        row = _apply_upload(row, event)
    elif isinstance(event, TranscodeRequested):
        row = _apply_request(row, event)
    elif isinstance(event, TranscodeProgress):
        row = _apply_progress(row, event)
    elif isinstance(event, TranscodeFailed):
        row = _apply_failure(row, event)
    else:
        row = _apply_rendition(row, event)
    row = dataclasses.replace(row, updated_at=max(row.updated_at, event.occurred_at))
    return dataclasses.replace(row, status=derive_status(row))


def derive_status(row: VideoRecord) -> VideoStatus:
    if row.failure_reason and row.failed_job_id == row.job_id:
        return VideoStatus.FAILED
    done = {r.name for r in row.renditions if not row.job_id or r.job_id == row.job_id}
    if row.renditions and set(row.planned_renditions) <= done:
        return VideoStatus.READY
    if row.job_id or row.renditions:
        return VideoStatus.PROCESSING
    return VideoStatus.UPLOADED


def _newer(seen: datetime | None, incoming: datetime) -> bool:
    return seen is None or incoming >= seen


def _apply_upload(row: VideoRecord, e: UploadComplete) -> VideoRecord:
    if not _newer(row.created_at, e.occurred_at):
        return row
    probe = e.probe
    return dataclasses.replace(
        row,
        created_at=e.occurred_at,
        title=e.title,
        description=e.description,
        tags=e.tags,
        uploader_id=e.uploader_id,
        object_key=e.object_key,
        size_bytes=e.size_bytes,
        content_type=e.content_type,
        duration_ms=probe.duration_ms if probe else None,
        width=probe.width if probe else None,
        height=probe.height if probe else None,
    )


def _apply_request(row: VideoRecord, e: TranscodeRequested) -> VideoRecord:
    if not _newer(row.requested_at, e.occurred_at):
        return row
    row = dataclasses.replace(
        row,
        job_id=e.job_id,
        requested_at=e.occurred_at,
        planned_renditions=tuple(sorted(r.name for r in e.ladder)),
    )
    if row.progress_job_id != e.job_id:
        row = dataclasses.replace(row, progress_pct=None, progress_job_id=None)
    if row.failed_job_id != e.job_id:
        row = dataclasses.replace(row, failure_reason=None, failed_job_id=None)
    return row


def _is_stale(row: VideoRecord, job_id: str) -> bool:
    """An event of a job other than the one the row follows (an older request's worker still talking)."""
    return row.job_id is not None and row.job_id != job_id


def _apply_progress(row: VideoRecord, e: TranscodeProgress) -> VideoRecord:
    if _is_stale(row, e.job_id):
        return row
    before = row.progress_pct if row.progress_job_id == e.job_id else None
    percent = min(100.0, max(0.0, e.percent))
    return dataclasses.replace(row, progress_pct=max(before or 0.0, percent), progress_job_id=e.job_id)


def _apply_failure(row: VideoRecord, e: TranscodeFailed) -> VideoRecord:
    if _is_stale(row, e.job_id):
        return row
    return dataclasses.replace(row, failure_reason=e.reason, failed_job_id=e.job_id)


def _apply_rendition(row: VideoRecord, e: RenditionReady) -> VideoRecord:
    rendition = RenditionRecord(
        name=e.name,
        codec=e.codec.value,
        width=e.width,
        height=e.height,
        bitrate_kbps=e.bitrate_kbps,
        segment_duration_s=e.segment_duration_s,
        encoder=e.encoder,
        manifest_key=e.manifest_key,
        init_key=e.init_key,
        segment_count=len(e.segment_keys),
        job_id=e.job_id,
    )
    existing = next((r for r in row.renditions if r.name == e.name), None)
    if existing and row.job_id and existing.job_id == row.job_id != e.job_id:
        return row  # a stale job's rendition must not replace the current job's
    others = tuple(r for r in row.renditions if r.name != e.name)
    renditions = tuple(sorted((*others, rendition), key=lambda r: (r.height, r.bitrate_kbps, r.name)))
    return dataclasses.replace(
        row,
        renditions=renditions,
        hls_master_key=e.hls_master_key or row.hls_master_key,
        dash_manifest_key=e.dash_manifest_key or row.dash_manifest_key,
    )
