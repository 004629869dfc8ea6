"""The transcoder worker on the real broker: transcode-requested in, rendition-ready out, catalog ready."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from blobs.errors import BlobUnavailableError
from blobs.local import LocalBlobStore
from schemas import codec
from topics.catalogue import RENDITION_READY_TOPIC, TRANSCODE_PROGRESS_TOPIC, TRANSCODE_REQUESTED_TOPIC
from topics.log import LogRecord, read_to_end
from topics.producer import EventProducer
from transcoder.errors import DeadlineError, FfmpegError, SourceError
from transcoder.worker import reason_for_users

from harness import Platform, http_json

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def transcoding(platform: Platform) -> Platform:
    platform.start("transcoder", "transcoder", "--speed", "fast")
    return platform


def _source(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25:duration=2",
            "-f", "lavfi", "-i", "sine=duration=2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
            str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def _request(platform: Platform, video_id: str, job_id: str, source_key: str) -> None:
    upload = {
        "video_id": video_id,
        "uploader_id": "u",
        "object_key": source_key,
        "size_bytes": 1,
        "content_type": "video/mp4",
        "title": "transcode me",
    }
    ladder = [
        {"name": n, "codec": "H264", "width": w, "height": h, "bitrate_kbps": k, "frame_rate": 25.0}
        for n, w, h, k in (("360p", 640, 360, 600), ("480p", 854, 480, 1000))
    ]
    request = {"job_id": job_id, "video_id": video_id, "source_key": source_key, "segment_duration_s": 1.0,
               "ladder": ladder}  # fmt: skip
    platform.run("publish", "upload-complete", "-", input_text=json.dumps(upload))
    platform.run("publish", "transcode-requested", "-", input_text=json.dumps(request))


def _video(platform: Platform, video_id: str) -> dict[str, Any] | None:
    status, body = http_json(f"{platform.api}/v1/videos/{video_id}")
    return body if status == 200 else None


def test_a_corrupt_source_fails_the_video_and_the_next_job_is_transcoded(transcoding: Platform) -> None:
    blobs = LocalBlobStore(transcoding.home / "blobs")
    bad_id, good_id = f"vid-{uuid.uuid4().hex[:8]}", f"vid-{uuid.uuid4().hex[:8]}"
    blobs.put_bytes(f"uploads/{bad_id}/source.mp4", b"not a video at all\n" * 100)
    blobs.put_file(f"uploads/{good_id}/source.mp4", _source(transcoding.home / "src.mp4"))

    _request(transcoding, bad_id, "job-bad", f"uploads/{bad_id}/source.mp4")
    _request(transcoding, good_id, "job-good", f"uploads/{good_id}/source.mp4")

    failed = transcoding.wait_for(
        lambda: (v := _video(transcoding, bad_id)) and v["status"] == "failed" and v,
        timeout_s=60,
        what="the corrupt upload to fail",
    )
    assert failed["failure_reason"] == (
        "ffprobe cannot read the source: Invalid data found when processing input"
    )  # short, for users: no scratch path, no memory address, no FFmpeg dump

    ready = transcoding.wait_for(
        lambda: (v := _video(transcoding, good_id)) and v["status"] == "ready" and v,
        timeout_s=120,
        what="the good upload to be ready",
    )
    assert [(r["name"], r["width"], r["height"]) for r in ready["renditions"]] == [
        ("360p", 640, 360),
        ("480p", 854, 480),
    ]
    assert {r["encoder"] for r in ready["renditions"]} == {"libx264"}
    prefix = f"videos/{good_id}/job-good"
    assert ready["hls_url"].endswith(f"{prefix}/master.m3u8")
    stored = blobs.list(prefix + "/")
    assert f"{prefix}/master.m3u8" in stored and f"{prefix}/manifest.mpd" in stored
    assert f"{prefix}/poster.jpg" in stored and f"{prefix}/storyboard.vtt" in stored
    assert sum(k.endswith(".m4s") for k in stored) >= 2 * 2 + 2  # two renditions of 2 s at 1 s, and audio
    _check_thumbnails_and_bitrates_through_the_api(transcoding, ready, prefix)

    progress = [
        codec.decode(r.value or b"")
        for r in read_to_end(transcoding.kafka, [transcoding.kafka.topic(TRANSCODE_PROGRESS_TOPIC.name)])
        if r.key == good_id.encode()
    ]
    assert progress and progress[-1].percent == 100.0
    assert [p.percent for p in progress] == sorted(p.percent for p in progress)

    ready_events = [
        codec.decode(r.value or b"")
        for r in read_to_end(transcoding.kafka, [transcoding.kafka.topic(RENDITION_READY_TOPIC.name)])
        if r.key == good_id.encode()
    ]
    # the lowest rung is announced first, as soon as it plays; each rendition once
    assert [e.name for e in ready_events] == ["360p", "480p"]
    assert all(e.hls_master_key == f"{prefix}/master.m3u8" for e in ready_events)


def _check_thumbnails_and_bitrates_through_the_api(
    platform: Platform, video: dict[str, Any], prefix: str
) -> None:
    """What a web page reads: poster, storyboard track and its sprite sheets, measured bitrates."""
    base = platform.api + "/"
    poster_url = urljoin(base, video["poster_url"])
    assert poster_url.endswith(f"{prefix}/poster.jpg")
    assert _fetch(poster_url)[0] == "image/jpeg"
    track_url = urljoin(base, video["storyboard_url"])
    kind, track = _fetch(track_url)
    assert kind == "text/vtt" and track.startswith(b"WEBVTT")
    cues = re.findall(rb"^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", track, re.MULTILINE)
    assert len(cues) == 2  # a 2 s video, a tile a second
    for sheet, x, y, w, h in cues:
        kind, image = _fetch(
            urljoin(track_url, sheet.decode())
        )  # relative to the track, as a player resolves it
        assert kind == "image/jpeg"
        size = json.loads(
            subprocess.run(
                ["ffprobe", "-v", "error", "-of", "json", "-show_entries", "stream=width,height", "-"],
                input=image, capture_output=True, check=True,
            ).stdout
        )["streams"][0]  # fmt: skip
        assert int(x) + int(w) <= size["width"] and int(y) + int(h) <= size["height"]
    assert abs(video["duration_ms"] - 2000) <= 100
    for rendition in video["renditions"]:
        assert rendition["peak_bitrate_kbps"] >= rendition["bitrate_kbps"] > 0  # measured, not the target
        assert rendition["target_bitrate_kbps"] in (600, 1000)


def _fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get_content_type(), response.read()


def test_a_job_that_keeps_failing_is_retried_then_failed_and_dead_lettered(transcoding: Platform) -> None:
    video_id = f"vid-{uuid.uuid4().hex[:8]}"
    _request(transcoding, video_id, "job-lost", f"uploads/{video_id}/never-stored.mp4")

    failed = transcoding.wait_for(
        lambda: (v := _video(transcoding, video_id)) and v["status"] == "failed" and v,
        timeout_s=60,
        what="the job with a missing source to give up",
    )
    assert (
        failed["failure_reason"] == "the uploaded source is missing from storage (gave up after 3 attempts)"
    )
    dlq = transcoding.kafka.topic("transcode-requested.dlq")
    letters = [r for r in read_to_end(transcoding.kafka, [dlq]) if r.key == video_id.encode()]
    assert len(letters) == 1
    assert dict(letters[0].headers)["dlq.error"] == b"gave-up"
    assert b"BlobNotFoundError" in dict(letters[0].headers)["dlq.reason"]  # the whole story, for operators
    log = transcoding.processes["transcoder"].log_tail(400)
    assert (
        "job-lost attempt 1/3 failed" in log and "job-lost attempt 3/3 failed" in log
    )  # retried, then gave up


def test_a_dead_letter_keeps_the_original_headers(transcoding: Platform) -> None:
    video_id = f"vid-{uuid.uuid4().hex[:8]}"
    original = [
        ("traceparent", b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ("origin", b"test"),
    ]
    with EventProducer(transcoding.kafka) as producer:
        producer.send(
            TRANSCODE_REQUESTED_TOPIC, b"\x00 not an event", key=video_id.encode(), headers=original
        )

    dlq = transcoding.kafka.topic("transcode-requested.dlq")

    def the_transcoders_letter() -> LogRecord | None:  # the catalog dead-letters it too, with its own
        letters = read_to_end(transcoding.kafka, [dlq])
        return next((r for r in letters if r.key == video_id.encode() and _app(r) == b"transcoder"), None)

    letter = transcoding.wait_for(
        the_transcoders_letter, timeout_s=30, what="the transcoder's dead letter of the undecodable request"
    )
    headers = list(letter.headers)
    assert headers[:2] == original  # first, as they came
    assert dict(headers)["dlq.error"] == b"rejected"


def _app(record: LogRecord) -> bytes | None:
    return dict(record.headers).get("dlq.app")


def test_a_worker_killed_mid_job_leaves_the_job_to_the_next_one(transcoding: Platform) -> None:
    import signal

    transcoding.processes.pop("transcoder").stop()  # this test runs its own workers
    blobs = LocalBlobStore(transcoding.home / "blobs")
    video_id = f"vid-{uuid.uuid4().hex[:8]}"
    long_source = transcoding.home / "long.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=25:duration=180",
            "-c:v", "libx264", "-preset", "ultrafast", str(long_source),
        ],
        check=True,
    )  # fmt: skip
    blobs.put_file(f"uploads/{video_id}/source.mp4", long_source)
    first = transcoding.start("transcoder-1", "transcoder", "--speed", "fast")  # 3 minutes of video: seconds
    _request(transcoding, video_id, "job-long", f"uploads/{video_id}/source.mp4")

    transcoding.wait_for(
        lambda: (v := _video(transcoding, video_id)) and (v["progress_pct"] or 0) > 0,
        timeout_s=60,
        what="the first worker to be encoding",
    )
    first.popen.send_signal(signal.SIGKILL)  # mid-job: no commit, no goodbye
    first.popen.wait()
    assert (_video(transcoding, video_id) or {})["status"] == "processing"

    transcoding.start("transcoder-2", "transcoder", "--speed", "fast")
    ready = transcoding.wait_for(
        lambda: (v := _video(transcoding, video_id)) and v["status"] == "ready" and v,
        timeout_s=120,
        what="the second worker to redo the job",
    )
    assert [r["name"] for r in ready["renditions"]] == ["360p", "480p"]


def test_a_failed_videos_reason_is_one_line_for_its_uploader() -> None:
    dump = "[h264 @ 0x5581d2b3c4d0] error while decoding MB 3 4, bytestream -7 | " * 40
    truncated = SourceError("the source ends after 1.0 s of the 4.0 s its header promises", detail=dump)
    assert reason_for_users(truncated) == "the source ends after 1.0 s of the 4.0 s its header promises"
    assert str(truncated).endswith(dump[-50:])  # the whole story stays on the error, for the log
    assert reason_for_users(FfmpegError("the ladder encode failed", returncode=1, stderr_tail=dump)) == (
        "the encoder failed"
    )
    assert reason_for_users(SourceError("[mov,mp4 @ 0x55d1c2a0b280] odd")) == "[mov,mp4] odd"
    assert (
        reason_for_users(DeadlineError("the ladder encode ran past its deadline"))
        == "transcoding took too long"
    )
    assert reason_for_users(BlobUnavailableError("s3 down: <html>...")) == "storage could not be reached"
    assert reason_for_users(RuntimeError("secret internals")) == "an internal error"
    assert len(reason_for_users(SourceError("x" * 5000))) == 300
