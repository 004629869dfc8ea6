"""Events → catalog rows, as pure functions.

The catalog agent and the replay tool both fold events into rows with
``project``. It is idempotent (applying an event twice gives the row it gave
once) and insensitive to how events of *different* topics interleave, because
a live worker and a replay may read the three topics in different orders:

- upload metadata comes from the newest upload-complete (by event time);
- the plan comes from the newest transcode-requested (by event time);
- renditions accumulate by (job, name), whatever order they arrive in; the
  current job's are the ones that count (status, manifests, the API), so a
  newer job's rendition that overtakes its own request is not lost;
- progress and failures are kept per job, and what the row shows is the
  current job's, so an old job's late words are ignored and a newer job's
  early ones wait for its request. Progress only grows within a job (max);
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
    row = _current_job(dataclasses.replace(row, updated_at=max(row.updated_at, event.occurred_at)))
    return dataclasses.replace(row, status=derive_status(row))


def derive_status(row: VideoRecord) -> VideoStatus:
    if row.failure_reason and row.failed_job_id == row.job_id:
        return VideoStatus.FAILED
    done = {r.name for r in row.renditions if not row.job_id or r.job_id == row.job_id}
    if done and set(row.planned_renditions) <= done:  # the current job's, not an older job's
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
        visibility=e.visibility,
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
    return dataclasses.replace(
        row,
        job_id=e.job_id,
        requested_at=e.occurred_at,
        planned_renditions=tuple(sorted(r.name for r in e.ladder)),
    )


def _apply_progress(row: VideoRecord, e: TranscodeProgress) -> VideoRecord:
    """Kept per job (max: a redelivered old percent cannot move it back), shown for the current one."""
    percent = min(100.0, max(0.0, e.percent))
    seen = dict(row.job_progress)
    seen[e.job_id] = max(seen.get(e.job_id, 0.0), percent)
    return dataclasses.replace(row, job_progress=tuple(sorted(seen.items())))


def _apply_failure(row: VideoRecord, e: TranscodeFailed) -> VideoRecord:
    failures = dict(row.job_failures)
    failures[e.job_id] = min(failures.get(e.job_id, e.reason), e.reason)  # one answer for redeliveries
    return dataclasses.replace(row, job_failures=tuple(sorted(failures.items())))


def _current_job(row: VideoRecord) -> VideoRecord:
    """Progress, failure, manifests and thumbnails shown are the current job's (any job's while none was
    requested)."""
    job = row.job_id
    progress = dict(row.job_progress).get(job) if job else None
    failure = dict(row.job_failures).get(job) if job else None
    current = [r for r in row.renditions if not job or r.job_id == job]
    return dataclasses.replace(
        row,
        progress_pct=progress,
        progress_job_id=job if progress is not None else None,
        failure_reason=failure,
        failed_job_id=job if failure is not None else None,
        hls_master_key=next((r.hls_master_key for r in current if r.hls_master_key), None),
        dash_manifest_key=next((r.dash_manifest_key for r in current if r.dash_manifest_key), None),
        poster_key=next((r.poster_key for r in current if r.poster_key), None),
        storyboard_key=next((r.storyboard_key for r in current if r.storyboard_key), None),
        media_duration_ms=max((r.duration_ms for r in current if r.duration_ms is not None), default=None),
    )


def _apply_rendition(row: VideoRecord, e: RenditionReady) -> VideoRecord:
    """Kept per (job, name), whatever the job: a newer job's rendition may overtake its request."""
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
        hls_master_key=e.hls_master_key,
        dash_manifest_key=e.dash_manifest_key,
        average_bitrate_kbps=e.average_bitrate_kbps,
        peak_bitrate_kbps=e.peak_bitrate_kbps,
        duration_ms=e.duration_ms,
        poster_key=e.poster_key,
        storyboard_key=e.storyboard_key,
    )
    others = tuple(r for r in row.renditions if (r.job_id, r.name) != (e.job_id, e.name))
    renditions = tuple(
        sorted((*others, rendition), key=lambda r: (r.job_id, r.height, r.bitrate_kbps, r.name))
    )
    return dataclasses.replace(row, renditions=renditions)
