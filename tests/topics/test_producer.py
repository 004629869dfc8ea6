"""The producer wrapper on the real broker: keyed, ordered, and never silent about a lost message."""

from __future__ import annotations

import dataclasses
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]

from schemas import codec
from schemas.errors import InvalidEventError
from schemas.registry import Event
from schemas.rendition_ready import RenditionReady
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import VideoCodec
from schemas.upload_complete import UploadComplete
from topics.catalogue import (
    RENDITION_READY_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    UPLOAD_COMPLETE_TOPIC,
    VIDEO_PARTITIONS,
    TopicSpec,
)
from topics.config import KafkaConfig
from topics.errors import DeliveryError
from topics.log import LogRecord, read_to_end
from topics.producer import EventProducer

from harness import free_port

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)


def upload(video_id: str, n: int = 0) -> UploadComplete:
    return UploadComplete(
        event_id=str(uuid.uuid4()),
        occurred_at=T0 + timedelta(seconds=n),
        video_id=video_id,
        uploader_id="user-1",
        object_key=f"uploads/{video_id}/source.mp4",
        size_bytes=n,
        content_type="video/mp4",
        title=f"edit {n}",
    )


def progress(video_id: str, percent: float) -> TranscodeProgress:
    return TranscodeProgress(
        event_id=str(uuid.uuid4()), occurred_at=T0, job_id="j", video_id=video_id, percent=percent
    )


def rendition(video_id: str) -> RenditionReady:
    return RenditionReady(
        event_id=str(uuid.uuid4()),
        occurred_at=T0,
        job_id="j",
        video_id=video_id,
        name="360p",
        codec=VideoCodec.H264,
        width=640,
        height=360,
        bitrate_kbps=800,
        segment_duration_s=4.0,
        manifest_key="m.m3u8",
    )


def librdkafka(settings: dict[str, Any]) -> dict[str, Any]:
    """Overrides for the producer (dotted librdkafka names)."""
    return settings


def records_of(kafka: KafkaConfig, spec: TopicSpec, keys: set[bytes]) -> list[LogRecord]:
    return [r for r in read_to_end(kafka, [kafka.topic(spec.name)], timeout_s=30) if r.key in keys]


def test_a_videos_events_share_a_partition_and_keep_their_order(kafka: KafkaConfig) -> None:
    videos = [f"vid-{uuid.uuid4().hex[:8]}" for _ in range(8)]
    sent: list[Event] = []
    with EventProducer(kafka) as producer:
        for n in range(5):
            for video_id in videos:
                event = upload(video_id, n)
                producer.publish(event)
                sent.append(event)

    records = records_of(kafka, UPLOAD_COMPLETE_TOPIC, {v.encode() for v in videos})
    assert len(records) == len(sent)
    for video_id in videos:
        mine = [r for r in records if r.key == video_id.encode()]
        assert len({r.partition for r in mine}) == 1, f"{video_id} spread over partitions"
        decoded = [codec.decode(r.value or b"", None) for r in sorted(mine, key=lambda r: r.offset)]
        assert decoded == [e for e in sent if e.video_id == video_id]  # type: ignore[attr-defined]
    assert len({r.partition for r in records}) > 1  # the keys do spread the load


def test_every_writer_puts_a_video_in_the_same_partition_number(kafka: KafkaConfig) -> None:
    """Co-partitioning: one video is in partition p of every video topic, the partition that the
    Java client and Faust (murmur2) pick too, so one worker sees all of a video's events."""
    videos = [f"vid-{uuid.uuid4().hex[:8]}" for _ in range(6)]
    with EventProducer(kafka) as producer:
        for video_id in videos:
            producer.publish(upload(video_id))
            producer.publish(progress(video_id, 50.0))
            producer.publish(rendition(video_id))

    keys = {v.encode() for v in videos}
    where: dict[bytes, set[int]] = {k: set() for k in keys}
    for spec in (UPLOAD_COMPLETE_TOPIC, TRANSCODE_PROGRESS_TOPIC, RENDITION_READY_TOPIC):
        for record in records_of(kafka, spec, keys):
            assert record.key is not None
            where[record.key].add(record.partition)
    for key, partitions in where.items():
        assert partitions == {(murmur2(key) & 0x7FFFFFFF) % VIDEO_PARTITIONS}, key


def test_headers_and_raw_sends_arrive_as_given(kafka: KafkaConfig) -> None:
    key = f"vid-{uuid.uuid4().hex[:8]}".encode()
    with EventProducer(kafka) as producer:
        producer.send(UPLOAD_COMPLETE_TOPIC, b"raw bytes", key=key, headers=[("trace", b"t-1")])
        producer.publish(upload(key.decode()), headers=[("source", b"test")])

    first, second = sorted(records_of(kafka, UPLOAD_COMPLETE_TOPIC, {key}), key=lambda r: r.offset)
    assert (first.value, first.headers) == (b"raw bytes", (("trace", b"t-1"),))
    assert second.headers == (("source", b"test"),)


def test_a_full_local_queue_waits_for_room_instead_of_failing(kafka: KafkaConfig) -> None:
    key = f"vid-{uuid.uuid4().hex[:8]}".encode()
    with EventProducer(kafka, **librdkafka({"queue.buffering.max.messages": 5})) as producer:
        for n in range(200):
            producer.send(UPLOAD_COMPLETE_TOPIC, f"m{n}".encode(), key=key)

    values = [
        r.value for r in sorted(records_of(kafka, UPLOAD_COMPLETE_TOPIC, {key}), key=lambda r: r.offset)
    ]
    assert values == [f"m{n}".encode() for n in range(200)]


def test_an_invalid_event_is_refused_before_anything_is_sent(kafka: KafkaConfig) -> None:
    video_id = f"vid-{uuid.uuid4().hex[:8]}"
    bad = dataclasses.replace(upload(video_id), size_bytes="big")  # type: ignore[arg-type]
    with EventProducer(kafka) as producer:
        with pytest.raises(InvalidEventError, match="upload-complete"):
            producer.publish(bad)
        producer.publish(upload(video_id, 1))

    (record,) = records_of(kafka, UPLOAD_COMPLETE_TOPIC, {video_id.encode()})
    assert codec.decode(record.value or b"").size_bytes == 1


def test_a_topic_that_does_not_exist_is_a_delivery_error(kafka: KafkaConfig) -> None:
    """The broker creates no topics on its own (auto.create.topics.enable=false): the write fails."""
    missing = TopicSpec(
        name=f"no-such-topic-{uuid.uuid4().hex[:8]}",
        description="",
        key="",
        event_type=None,
        key_field=None,
        partitions=1,
    )
    producer = EventProducer(kafka, **librdkafka({"topic.metadata.propagation.max.ms": 200}))
    started = time.monotonic()
    with pytest.raises(DeliveryError, match=r"no-such-topic.*Unknown topic"), producer:
        producer.send(missing, b"x", key=b"k")
    assert time.monotonic() - started < 20


def test_an_unreachable_broker_is_a_delivery_error_after_the_delivery_timeout() -> None:
    nowhere = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}")
    producer = EventProducer(nowhere, **librdkafka({"delivery.timeout.ms": 500, "log_level": 0}))
    producer.publish(upload("vid-x"))
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="timed out"):
        producer.flush(timeout_s=20)
    assert time.monotonic() - started < 10
    producer.flush(timeout_s=1)  # the failure was reported once, not again


def test_an_error_in_the_block_is_not_masked_by_the_flush() -> None:
    nowhere = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}")
    producer = EventProducer(nowhere, **librdkafka({"delivery.timeout.ms": 500, "log_level": 0}))
    with pytest.raises(RuntimeError, match="the caller's own error"), producer:
        producer.publish(upload("vid-x"))
        raise RuntimeError("the caller's own error")
