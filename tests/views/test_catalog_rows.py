"""Catalog rows as documents: every store keeps rows this way, so the round trip must be exact."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from views.catalog import RenditionRecord, VideoRecord, VideoStatus
from views.catalog_rows import from_dict, from_document, to_dict, to_document


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
                average_bitrate_kbps=612,
                peak_bitrate_kbps=901,
                duration_ms=5000,
                poster_key="p.jpg",
                storyboard_key="s.vtt",
            ),
        ),
        hls_master_key="h",
        dash_manifest_key="d",
        poster_key="p.jpg",
        storyboard_key="s.vtt",
        media_duration_ms=5000,
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


def test_the_document_holds_every_field_so_a_new_field_cannot_be_dropped_silently() -> None:
    row = VideoRecord(
        video_id="v",
        status=VideoStatus.READY,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        renditions=(_full_rendition(),),
    )
    doc = to_dict(row)
    assert set(doc) == {f.name for f in dataclasses.fields(VideoRecord)}
    assert set(doc["renditions"][0]) == {f.name for f in dataclasses.fields(RenditionRecord)}


def test_a_rendition_with_every_optional_field_survives() -> None:
    row = VideoRecord(
        video_id="v",
        status=VideoStatus.READY,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        renditions=(_full_rendition(), dataclasses.replace(_full_rendition(), name="1080p", init_key=None)),
    )
    assert from_document(to_document(row)) == row


def test_the_dict_is_plain_json_and_round_trips_without_text() -> None:
    row = VideoRecord(
        video_id="v",
        status=VideoStatus.PROCESSING,
        updated_at=datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        tags=("a",),
        job_progress=(("j", 12.5),),
    )
    doc = to_dict(row)
    assert json.loads(json.dumps(doc)) == doc  # only JSON types: a Cassandra text column takes it as is
    assert doc["updated_at"] == "2026-01-01T00:00:00.000001+00:00"
    assert from_dict(doc) == row


def test_an_older_document_without_newer_fields_loads_with_defaults() -> None:
    old = {"video_id": "v", "status": "uploaded", "updated_at": "2026-01-01T00:00:00.000000+00:00"}
    row = from_dict(old)
    assert row.created_at is None and row.job_progress == () and row.renditions == ()


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        "{}",
        '{"video_id": "v", "status": "uploaded", "updated_at": null}',
        '{"video_id": "v", "status": "nope", "updated_at": "2026-01-01T00:00:00+00:00"}',
    ],
)
def test_text_that_is_not_a_row_is_refused(text: str) -> None:
    with pytest.raises((ValueError, KeyError)):
        from_document(text)


def _full_rendition() -> RenditionRecord:
    return RenditionRecord(
        name="720p",
        codec="H264",
        width=1280,
        height=720,
        bitrate_kbps=3000,
        segment_duration_s=4.0,
        encoder="h264_nvenc",
        manifest_key="videos/v/j/720p.m3u8",
        init_key="videos/v/j/720p/init.mp4",
        segment_count=15,
        job_id="j",
        hls_master_key="videos/v/j/master.m3u8",
        dash_manifest_key="videos/v/j/manifest.mpd",
    )


def test_a_row_stored_before_posters_and_measured_bitrates_reads_with_them_unknown() -> None:
    """Rows written before these fields existed stay readable: a document needs no migration."""
    old = {
        "video_id": "v",
        "status": "ready",
        "updated_at": "2026-11-24T10:30:15.123456+00:00",
        "renditions": [
            {"name": "360p", "codec": "H264", "width": 640, "height": 360, "bitrate_kbps": 800,
             "segment_duration_s": 4.0, "encoder": "libx264", "manifest_key": "m"}
        ],
    }  # fmt: skip
    row = from_document(json.dumps(old))
    assert (row.poster_key, row.storyboard_key, row.media_duration_ms) == (None, None, None)
    [r] = row.renditions
    assert (r.average_bitrate_kbps, r.peak_bitrate_kbps, r.duration_ms, r.bitrate_kbps) == (
        None,
        None,
        None,
        800,
    )
