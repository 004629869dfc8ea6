"""The catalog view end to end on a real broker: ``tubestream publish`` → Faust worker → SQLite → query API.

The worker and the API run as ``tubestream`` subprocesses (the ``platform``
fixture), exactly as ``tubestream up`` runs them.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from schemas import codec
from schemas.registry import UPLOAD_COMPLETE
from topics.catalogue import UPLOAD_COMPLETE_TOPIC
from topics.dead_letter import reason_of
from topics.log import LogRecord, read_to_end
from topics.producer import EventProducer
from views.catalog import VideoRecord
from views.stores import open_catalog_store

from harness import Platform, http_json

pytestmark = pytest.mark.kafka


def _upload(video_id: str, **overrides: Any) -> dict[str, Any]:
    """Without a probe, as a person publishes it: the planner leaves it alone (no transcode job)."""
    return {
        "video_id": video_id,
        "uploader_id": "user-1",
        "object_key": f"uploads/{video_id}/source.mp4",
        "size_bytes": 1_000_000,
        "content_type": "video/mp4",
        "title": f"Video {video_id}",
        "description": "made by a test",
        "tags": ["test"],
        **overrides,
    }


def _rendition(video_id: str, job_id: str, name: str, height: int) -> dict[str, Any]:
    base = f"videos/{video_id}/{job_id}"
    return {
        "job_id": job_id,
        "video_id": video_id,
        "name": name,
        "codec": "H264",
        "width": height * 16 // 9,
        "height": height,
        "bitrate_kbps": 1000,
        "segment_duration_s": 4.0,
        "encoder": "libx264",
        "manifest_key": f"{base}/{name}.m3u8",
        "init_key": f"{base}/{name}/init.mp4",
        "segment_keys": [f"{base}/{name}/seg-00001.m4s"],
        "hls_master_key": f"{base}/master.m3u8",
        "dash_manifest_key": f"{base}/manifest.mpd",
    }


def _planned(name: str, width: int, height: int, kbps: int) -> dict[str, Any]:
    return {
        "name": name,
        "codec": "H264",
        "width": width,
        "height": height,
        "bitrate_kbps": kbps,
        "frame_rate": 25.0,
    }


def _publish(
    platform: Platform, event_type: str, *events: dict[str, Any], version: int | None = None
) -> None:
    args = ["publish", event_type, "-"] + (["--schema-version", str(version)] if version else [])
    platform.run(*args, input_text=json.dumps(list(events)))


def _video(platform: Platform, video_id: str) -> dict[str, Any] | None:
    status, body = http_json(f"{platform.api}/v1/videos/{video_id}")
    return body if status == 200 else None


def _new_id() -> str:
    return f"vid-{uuid.uuid4().hex[:12]}"


def test_a_published_upload_is_served_by_the_api(platform: Platform) -> None:
    video_id = _new_id()
    _publish(platform, "upload-complete", _upload(video_id, title="Hello, tubestream"))

    video = platform.wait_for(
        lambda: _video(platform, video_id), timeout_s=30.0, what=f"{video_id} in the API"
    )

    assert video["title"] == "Hello, tubestream"
    assert video["status"] == "uploaded"
    assert video["tags"] == ["test"]
    assert video["duration_ms"] is None  # no probe: published by hand


def test_renditions_move_the_video_to_processing_then_ready(platform: Platform) -> None:
    video_id, job_id = _new_id(), "job-1"
    _publish(platform, "upload-complete", _upload(video_id))
    _publish(
        platform,
        "transcode-requested",
        {
            "job_id": job_id,
            "video_id": video_id,
            "source_key": f"uploads/{video_id}/source.mp4",
            "ladder": [
                {
                    "name": "360p",
                    "codec": "H264",
                    "width": 640,
                    "height": 360,
                    "bitrate_kbps": 800,
                    "frame_rate": 25.0,
                },
                {
                    "name": "720p",
                    "codec": "H264",
                    "width": 1280,
                    "height": 720,
                    "bitrate_kbps": 2500,
                    "frame_rate": 25.0,
                },
            ],
        },
    )
    _publish(platform, "rendition-ready", _rendition(video_id, job_id, "360p", 360))

    processing = platform.wait_for(
        lambda: (v := _video(platform, video_id)) and v["renditions"] and v,
        what="the first rendition",
    )
    assert processing["status"] == "processing"
    assert [r["name"] for r in processing["renditions"]] == ["360p"]

    _publish(platform, "rendition-ready", _rendition(video_id, job_id, "720p", 720))
    ready = platform.wait_for(
        lambda: (v := _video(platform, video_id)) and v["status"] == "ready" and v, what="status ready"
    )
    assert sorted(r["name"] for r in ready["renditions"]) == ["360p", "720p"]
    assert ready["hls_url"].endswith(f"videos/{video_id}/{job_id}/master.m3u8")
    assert ready["dash_url"].endswith(f"videos/{video_id}/{job_id}/manifest.mpd")


def test_bad_messages_go_to_the_dead_letter_topic_and_the_agent_goes_on(platform: Platform) -> None:
    garbage_id, truncated_id, good_id = _new_id(), _new_id(), _new_id()
    valid = codec.encode_dict(
        UPLOAD_COMPLETE, {**_upload(truncated_id), "event_id": str(uuid.uuid4()), "occurred_at": 1}
    )
    with EventProducer(platform.kafka) as producer:
        producer.send(UPLOAD_COMPLETE_TOPIC, b"\x00\x01 not an event at all", key=garbage_id.encode())
        producer.send(UPLOAD_COMPLETE_TOPIC, valid[: len(valid) // 2], key=truncated_id.encode())
    _publish(platform, "upload-complete", _upload(good_id))

    platform.wait_for(lambda: _video(platform, good_id), what="the good event after the bad ones")

    dlq = platform.kafka.topic(f"{UPLOAD_COMPLETE_TOPIC.name}.dlq")

    def at_least_two() -> list[LogRecord] | None:
        found = list(read_to_end(platform.kafka, [dlq]))
        return found if len(found) >= 2 else None

    letters = platform.wait_for(at_least_two, what="two dead letters")
    by_key = {r.key.decode(): r for r in letters if r.key}
    assert set(by_key) == {garbage_id, truncated_id}
    assert by_key[garbage_id].value == b"\x00\x01 not an event at all"  # the original bytes, kept
    assert by_key[truncated_id].value == valid[: len(valid) // 2]
    for record in by_key.values():
        reason = reason_of(record.headers)
        assert reason, f"no reason header on {record}"
        headers = dict(record.headers)
        assert headers["dlq.source.topic"].decode() == platform.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)
    assert _video(platform, garbage_id) is None
    assert _video(platform, truncated_id) is None


def test_a_rejected_event_carries_a_readable_reason(platform: Platform) -> None:
    video_id = _new_id()
    event = {**_upload(video_id), "event_id": str(uuid.uuid4()), "occurred_at": 1}
    with EventProducer(platform.kafka) as producer:
        # valid Avro, but keyed by another video: ordering would break, so it is refused
        producer.send(UPLOAD_COMPLETE_TOPIC, codec.encode_dict(UPLOAD_COMPLETE, event), key=b"someone-else")

    dlq = platform.kafka.topic(f"{UPLOAD_COMPLETE_TOPIC.name}.dlq")
    letter = platform.wait_for(
        lambda: next((r for r in read_to_end(platform.kafka, [dlq]) if r.key == b"someone-else"), None),
        what="the mis-keyed event in the dead-letter topic",
    )
    assert "does not match video_id" in (reason_of(letter.headers) or "")


def test_publishing_the_same_event_twice_gives_one_row(platform: Platform) -> None:
    video_id = _new_id()
    event = {**_upload(video_id), "event_id": str(uuid.uuid4()), "occurred_at": "2026-01-02T03:04:05Z"}
    _publish(platform, "upload-complete", event)
    _publish(platform, "upload-complete", event)
    marker = _new_id()  # published after both copies: once it is visible, both copies were applied
    _publish(platform, "upload-complete", _upload(marker))
    first = platform.wait_for(lambda: _video(platform, video_id), what="the video")
    platform.wait_for(lambda: _video(platform, marker), what="the marker")

    status, page = http_json(f"{platform.api}/v1/videos?limit=100")
    assert status == 200
    assert [v["id"] for v in page["videos"]].count(video_id) == 1
    assert _video(platform, video_id) == first


def test_an_old_schema_version_is_read_by_the_current_consumer(platform: Platform) -> None:
    video_id = _new_id()
    v1 = {k: v for k, v in _upload(video_id, title="written with v1").items() if k != "probe"}
    _publish(platform, "upload-complete", v1, version=1)

    video = platform.wait_for(lambda: _video(platform, video_id), what="the v1 upload")
    assert video["title"] == "written with v1"
    assert video["duration_ms"] is None  # v1 had no probe; the v2 reader's default fills it


def test_rebuilding_from_offset_zero_gives_the_live_rows(platform: Platform) -> None:
    ids = [_new_id() for _ in range(5)]
    _publish(platform, "upload-complete", *(_upload(i) for i in ids))
    _publish(platform, "rendition-ready", _rendition(ids[0], "job-9", "360p", 360))
    rebuilt_url = f"sqlite:///{platform.home / 'rebuilt.db'}"

    out = platform.run("catalog", "rebuild", "--into", rebuilt_url)
    assert "replayed" in out

    rebuilt = asyncio.run(_scan(rebuilt_url))
    assert {r.video_id for r in rebuilt} >= set(ids)
    platform.wait_for(
        lambda: asyncio.run(_scan(platform.catalog_url)) == rebuilt,
        what="the live view to equal the rebuilt one",
    )


async def _scan(url: str) -> list[VideoRecord]:
    store = open_catalog_store(url)
    try:
        rows: list[VideoRecord] = await store.scan()
        return rows
    finally:
        await store.close()
