from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from views.catalog import RenditionRecord, VideoRecord, VideoStatus
from views.catalog_rows import from_document, to_document


def test_every_field_survives_the_round_trip() -> None:
    t = datetime(2026, 11, 24, 10, 30, 15, 123456, tzinfo=UTC)
    row = VideoRecord(
        video_id="v1",
        status=VideoStatus.FAILED,
        updated_at=t,
        created_at=t - timedelta(days=1),
        title="Tïtle ✓",
        description="d",
        tags=("x", "y"),
        uploader_id="u",
        object_key="k",
        size_bytes=10**12,
        content_type="video/mp4",
        duration_ms=5,
        width=1920,
        height=1080,
        job_id="j2",
        requested_at=t,
        planned_renditions=("360p", "720p"),
        renditions=(
            RenditionRecord(
                name="360p",
                codec="VP9",
                width=640,
                height=360,
                bitrate_kbps=700,
                segment_duration_s=2.0,
                encoder="libvpx-vp9",
                manifest_key="m",
            ),
        ),
        hls_master_key="h",
        dash_manifest_key="d",
        progress_pct=42.5,
        progress_job_id="j2",
        failure_reason="ffmpeg said no",
        failed_job_id="j2",
        job_progress=(("j1", 100.0), ("j2", 42.5)),
        job_failures=(("j2", "ffmpeg said no"),),
    )
    assert from_document(to_document(row)) == row


def test_times_in_any_zone_come_back_as_the_same_instant() -> None:
    cet = timezone(timedelta(hours=1))
    row = VideoRecord(
        video_id="v", status=VideoStatus.UPLOADED, updated_at=datetime(2026, 1, 1, 13, tzinfo=cet)
    )
    back = from_document(to_document(row))
    assert back.updated_at == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert back.created_at is None
