"""An uploaded video → the transcode job it needs. Pure.

The ladder comes from the probe the upload service made; the job id and
the request's event id are derived from the upload event's id, so replaying
``upload-complete`` plans the very same job instead of a second one.
"""

from __future__ import annotations

import uuid

from schemas.transcode_requested import PlannedRendition, TranscodeRequested
from schemas.upload_complete import UploadComplete
from transcoder.ladder import LadderConfig, plan_ladder
from transcoder.probe import ProbedSource

__all__ = ["DEFAULT_LADDER", "plan_transcode"]

DEFAULT_LADDER = LadderConfig()
_NAMESPACE = uuid.UUID("3f1c2b7e-6f55-4a9b-9a43-0d8c8b1f5e21")


def plan_transcode(
    upload: UploadComplete, config: LadderConfig = DEFAULT_LADDER
) -> TranscodeRequested | None:
    """``None`` when the upload carries no probe (published by hand): nothing to plan from."""
    probe = upload.probe
    if probe is None or probe.width <= 0 or probe.height <= 0:
        return None
    source = ProbedSource(
        duration_s=probe.duration_ms / 1000,
        width=probe.width,
        height=probe.height,
        frame_rate=probe.frame_rate or 30.0,
        pix_fmt="yuv420p",
        has_audio=probe.audio_codec is not None,
        video_codec=probe.video_codec,
    )
    ladder = tuple(
        PlannedRendition(
            name=r.name,
            codec=r.codec,
            width=r.width,
            height=r.height,
            bitrate_kbps=r.bitrate_kbps,
            frame_rate=r.frame_rate,
        )
        for r in plan_ladder(source, config)
    )
    return TranscodeRequested(
        event_id=str(uuid.uuid5(_NAMESPACE, f"request:{upload.event_id}")),
        occurred_at=upload.occurred_at,
        job_id=f"job-{uuid.uuid5(_NAMESPACE, f'job:{upload.event_id}').hex[:16]}",
        video_id=upload.video_id,
        source_key=upload.object_key,
        ladder=ladder,
        segment_duration_s=config.segment_duration_s,
    )
