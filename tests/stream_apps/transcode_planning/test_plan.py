"""Planning a transcode from an upload, and the whole user path: upload → plan → transcode → ready."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from schemas.json_form import to_json
from schemas.transcode_requested import VideoCodec
from schemas.upload_complete import MediaProbe, UploadComplete
from stream_apps.transcode_planning.plan import plan_transcode
from topics.catalogue import TRANSCODE_REQUESTED_TOPIC, UPLOAD_COMPLETE_TOPIC
from topics.log import read_to_end

from harness import Platform, http_json


def _upload(
    probe: MediaProbe | None, event_id: str = "2b0f6f4e-9d43-4a57-8a0e-5b3f0e7e9c11"
) -> UploadComplete:
    return UploadComplete(
        event_id=event_id,
        occurred_at=datetime(2026, 11, 24, 12, tzinfo=UTC),
        video_id="v1",
        uploader_id="u",
        object_key="uploads/v1/source",
        size_bytes=10,
        content_type="video/mp4",
        title="t",
        probe=probe,
    )


PROBE = MediaProbe(
    duration_ms=60_000, width=1280, height=720, frame_rate=30.0, video_codec="h264", audio_codec="aac"
)


def test_the_ladder_comes_from_the_probe() -> None:
    request = plan_transcode(_upload(PROBE))
    assert request is not None
    assert [(r.name, r.width, r.height, r.codec) for r in request.ladder] == [
        ("360p", 640, 360, VideoCodec.H264),
        ("480p", 854, 480, VideoCodec.H264),
        ("720p", 1280, 720, VideoCodec.H264),
    ]
    assert (request.video_id, request.source_key) == ("v1", "uploads/v1/source")


def test_a_replayed_upload_plans_the_same_job() -> None:
    assert plan_transcode(_upload(PROBE)) == plan_transcode(_upload(PROBE))
    other = plan_transcode(_upload(PROBE, event_id="7c1d1a2b-0000-4000-8000-000000000001"))
    assert other is not None and other.job_id != plan_transcode(_upload(PROBE)).job_id  # type: ignore[union-attr]


def test_an_upload_without_a_probe_plans_nothing() -> None:
    assert plan_transcode(_upload(None)) is None


@pytest.mark.kafka
def test_an_uploaded_file_ends_ready_with_its_renditions(platform: Platform, tmp_path: Path) -> None:
    source = tmp_path / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25:duration=3",
            "-f", "lavfi", "-i", "sine=duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
            str(source),
        ],
        check=True,
    )  # fmt: skip
    platform.start("uploads", "upload-service")
    platform.start("transcoder", "transcoder", "--speed", "fast")
    platform.wait_for(
        lambda: http_json(f"http://127.0.0.1:{platform.upload_port}/healthz")[0] == 200,
        what="the upload service",
    )

    video_id = platform.run("upload", str(source), "--title", "From my camera", "--tags", "holiday").strip()

    def ready() -> dict[str, Any] | None:
        status, video = http_json(f"{platform.api}/v1/videos/{video_id}")
        return video if status == 200 and video["status"] == "ready" else None

    video = platform.wait_for(ready, timeout_s=120, what=f"{video_id} to be transcoded")
    assert video["title"] == "From my camera" and video["tags"] == ["holiday"]
    assert (video["width"], video["height"], video["duration_ms"]) == (854, 480, 3000)
    assert [r["name"] for r in video["renditions"]] == ["360p", "480p"]
    assert video["hls_url"].endswith("/master.m3u8") and video["dash_url"].endswith("/manifest.mpd")


@pytest.mark.kafka
def test_a_tombstone_on_upload_complete_is_skipped_and_planning_goes_on(platform: Platform) -> None:
    topic = platform.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)
    producer = Producer(platform.kafka.client_config())
    producer.produce(topic, key=b"v-tombstone", value=None)  # what a compaction delete would write
    assert producer.flush(30) == 0
    upload = dataclasses.replace(
        _upload(PROBE, event_id=str(uuid.uuid4())), video_id=f"v-after-{uuid.uuid4().hex[:6]}"
    )
    platform.run("publish", "upload-complete", "-", input_text=json.dumps(to_json(upload.to_dict())))

    def planned() -> bool:
        requests = read_to_end(platform.kafka, [platform.kafka.topic(TRANSCODE_REQUESTED_TOPIC.name)])
        return any(r.key == upload.video_id.encode() for r in requests)

    platform.wait_for(planned, timeout_s=60, what="the upload after the tombstone to be planned")
    assert "Traceback" not in platform.processes["worker"].log_tail(200)
