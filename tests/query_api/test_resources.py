"""The video resource: what clients see of a catalog row, and what stays inside."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from query_api.resources import video_resource
from views.catalog import RenditionRecord, VideoRecord, VideoStatus

T0 = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)


def rendition(name: str, height: int, job_id: str) -> RenditionRecord:
    return RenditionRecord(
        name=name,
        codec="H264",
        width=height * 16 // 9,
        height=height,
        bitrate_kbps=height * 4,
        segment_duration_s=4.0,
        encoder="libx264",
        manifest_key=f"videos/v/{job_id}/{name}.m3u8",
        job_id=job_id,
    )


def test_only_the_current_jobs_renditions_are_shown_smallest_first() -> None:
    video = VideoRecord(
        video_id="v",
        status=VideoStatus.READY,
        updated_at=T0,
        job_id="j2",
        renditions=(
            rendition("1080p", 1080, "j2"),
            rendition("720p", 720, "j1"),
            rendition("360p", 360, "j2"),
        ),
    )
    names = [r["name"] for r in video_resource(video, media_base_url="/media/")["renditions"]]
    assert names == ["360p", "1080p"]  # j1's 720p is from a superseded job


def test_progress_is_the_current_jobs_and_only_while_processing() -> None:
    base = VideoRecord(
        video_id="v", status=VideoStatus.PROCESSING, updated_at=T0, job_id="j2", progress_pct=55.0
    )
    assert video_resource(_with(base, progress_job_id="j2"), media_base_url="/")["progress_pct"] == 55.0
    assert video_resource(_with(base, progress_job_id="j1"), media_base_url="/")["progress_pct"] is None
    ready = _with(base, status=VideoStatus.READY, progress_job_id="j2")
    assert video_resource(ready, media_base_url="/")["progress_pct"] is None


def test_a_failure_reason_is_shown_only_on_a_failed_video() -> None:
    failed = VideoRecord(
        video_id="v", status=VideoStatus.FAILED, updated_at=T0, failure_reason="no video stream"
    )
    assert video_resource(failed, media_base_url="/")["failure_reason"] == "no video stream"
    retried = _with(failed, status=VideoStatus.PROCESSING)
    assert video_resource(retried, media_base_url="/")["failure_reason"] is None


def test_media_urls_join_the_base_and_encode_the_key() -> None:
    video = VideoRecord(
        video_id="v",
        status=VideoStatus.READY,
        updated_at=T0,
        hls_master_key="videos/my clip#1/j/master.m3u8",
        dash_manifest_key=None,
    )
    for base in ("https://cdn.example/media", "https://cdn.example/media/"):
        body = video_resource(video, media_base_url=base)
        assert body["hls_url"] == "https://cdn.example/media/videos/my%20clip%231/j/master.m3u8"
        assert body["dash_url"] is None


def test_times_are_utc_with_milliseconds_and_bookkeeping_stays_inside() -> None:
    video = VideoRecord(video_id="v", status=VideoStatus.UPLOADED, updated_at=T0, created_at=None, job_id="j")
    body = video_resource(video, media_base_url="/")
    assert body["updated_at"] == "2026-11-01T12:00:00.123Z"
    assert body["created_at"] is None
    assert not {"job_id", "progress_job_id", "failed_job_id", "job_progress", "object_key"} & set(body)


def _with(video: VideoRecord, **changes: object) -> VideoRecord:
    return dataclasses.replace(video, **changes)  # type: ignore[arg-type]


def test_poster_and_storyboard_are_urls_under_the_media_base_and_null_when_absent() -> None:
    video = VideoRecord(
        video_id="v",
        status=VideoStatus.READY,
        updated_at=T0,
        poster_key="videos/v/j/poster.jpg",
        storyboard_key="videos/v/j/storyboard.vtt",
    )
    body = video_resource(video, media_base_url="https://cdn.example/media/")
    assert body["poster_url"] == "https://cdn.example/media/videos/v/j/poster.jpg"
    assert body["storyboard_url"] == "https://cdn.example/media/videos/v/j/storyboard.vtt"
    bare = video_resource(_with(video, poster_key=None, storyboard_key=None), media_base_url="/media/")
    assert (bare["poster_url"], bare["storyboard_url"]) == (None, None)


def test_a_renditions_bitrate_is_the_measured_one_and_the_target_stays_visible() -> None:
    measured = dataclasses.replace(
        rendition("360p", 360, "j"), average_bitrate_kbps=612, peak_bitrate_kbps=901
    )
    old = rendition("720p", 720, "j")  # reported before bitrates were measured
    video = VideoRecord(video_id="v", status=VideoStatus.READY, updated_at=T0, renditions=(measured, old))
    first, second = video_resource(video, media_base_url="/")["renditions"]
    assert (first["bitrate_kbps"], first["peak_bitrate_kbps"], first["target_bitrate_kbps"]) == (
        612,
        901,
        1440,
    )
    assert (second["bitrate_kbps"], second["peak_bitrate_kbps"], second["target_bitrate_kbps"]) == (
        2880,
        None,
        2880,
    )


def test_duration_is_the_probed_one_else_the_packaged_one() -> None:
    video = VideoRecord(video_id="v", status=VideoStatus.READY, updated_at=T0, media_duration_ms=8040)
    assert video_resource(video, media_base_url="/")["duration_ms"] == 8040
    assert video_resource(_with(video, duration_ms=8000), media_base_url="/")["duration_ms"] == 8000
    assert video_resource(_with(video, media_duration_ms=None), media_base_url="/")["duration_ms"] is None
