"""The transcoder worker: ``transcode-requested`` in, ``rendition-ready`` / progress / failure out.

A consumer group (run more workers to share the partitions). While a job
encodes, the worker pauses its partitions and keeps polling, so a long
encode never gets it thrown out of the group; the offset is committed only
after the job's events are acknowledged, so a worker killed mid-job leaves
the job to the next owner, whose output overwrites the same keys.

One ``except`` per outcome, as the consumer examples do it:
- ``SourceError``: the source is not a video. Permanent: ``transcode-failed``
  with the reason, commit, go on.
- anything else (FFmpeg crashed, storage down): retried with backoff; after
  ``max_attempts`` a ``transcode-failed`` and the request to the dead-letter topic
  (with its original headers).

A failed video's reason is shown to its uploader, so ``transcode-failed``
carries a short line (``reason_for_users``); FFmpeg's stderr and the traceback
go to the log and the dead letter, where operators look.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from blobs.errors import BlobError, BlobNotFoundError
from blobs.store import BlobStore
from schemas import codec
from schemas.errors import EventDecodeError
from schemas.registry import TRANSCODE_REQUESTED
from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import TranscodeRequested
from topics.catalogue import TRANSCODE_REQUESTED_TOPIC, topic_for
from topics.config import KafkaConfig
from topics.dead_letter import dead_letter_headers
from topics.errors import BrokerUnavailableError
from topics.producer import EventProducer
from transcoder.encoders import choose_encoder
from transcoder.errors import DeadlineError, FfmpegError, JobCancelledError, SourceError
from transcoder.job import JobResult, run_job
from transcoder.ladder import LadderConfig, Rung
from transcoder.profiles import Speed

__all__ = ["TRANSCODER_GROUP", "WorkerOptions", "reason_for_users", "run_transcode_worker"]

log = logging.getLogger(__name__)

TRANSCODER_GROUP = "tubestream-transcoder"
DEAD_LETTERS = topic_for(TRANSCODE_REQUESTED_TOPIC.dead_letter or "")
REASON_CHARS = 300
_ADDRESS = re.compile(r"\s*@?\s*0x[0-9a-fA-F]{6,}")


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    encoder: str = "auto"
    speed: Speed = "balanced"
    max_attempts: int = 3
    backoff_s: float = 2.0
    progress_interval_s: float = 1.0
    workdir: Path | None = None


def run_transcode_worker(
    kafka: KafkaConfig, blobs: BlobStore, *, stop: threading.Event, options: WorkerOptions = WorkerOptions()
) -> None:
    topic = kafka.topic(TRANSCODE_REQUESTED_TOPIC.name)
    consumer = Consumer(
        kafka.client_config(
            **{
                "group.id": kafka.group(TRANSCODER_GROUP),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10_000,
            }
        )
    )
    consumer.subscribe([topic])
    producer = EventProducer(kafka, client_id="tubestream-transcoder")
    try:
        while not stop.is_set():
            message = consumer.poll(0.5)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise BrokerUnavailableError(f"consuming {topic}: {error}")
            if _handle(message, consumer, producer, blobs, stop, options):
                _commit(consumer, message)
    except KafkaException as exc:
        raise BrokerUnavailableError(f"transcoder worker: {exc}") from exc
    finally:
        consumer.close()
        producer.flush()


def _handle(
    message: Message,
    consumer: Consumer,
    producer: EventProducer,
    blobs: BlobStore,
    stop: threading.Event,
    options: WorkerOptions,
) -> bool:
    """Process one request; True when its offset may be committed."""
    try:
        request: TranscodeRequested = codec.decode(message.value() or b"", TRANSCODE_REQUESTED)
    except EventDecodeError as exc:
        _dead_letter(producer, message, str(exc), "rejected")
        producer.flush()
        return True
    last_error = ""
    published: set[str] = set()  # renditions announced while the job ran (the first part of the ladder)
    for attempt in range(1, options.max_attempts + 1):
        try:
            result = _while_polling(
                consumer,
                stop,
                lambda cancel: _transcode(request, blobs, producer, options, cancel, published),
            )
        except JobCancelledError:
            log.info("transcode %s cancelled by shutdown; left for the next worker", request.job_id)
            return False
        except SourceError as exc:
            log.warning("transcode %s: the source is not usable: %s", request.job_id, exc)
            producer.publish(_failed(request, reason_for_users(exc), permanent=True, attempts=attempt))
            producer.flush()
            return True
        except Exception as exc:  # transient or unknown: retry, then give up loudly
            last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "transcode %s attempt %d/%d failed: %s",
                request.job_id,
                attempt,
                options.max_attempts,
                last_error,
            )
            if attempt < options.max_attempts and not stop.wait(options.backoff_s * 2 ** (attempt - 1)):
                continue
            if stop.is_set():
                return False
            reason = f"{reason_for_users(exc)} (gave up after {attempt} attempts)"
            producer.publish(_failed(request, reason, permanent=False, attempts=attempt))
            _dead_letter(producer, message, f"{last_error}\n{traceback.format_exc(limit=3)}", "gave-up")
            producer.flush()
            return True
        for event in _renditions_ready(request, result):
            if event.name not in published:
                producer.publish(event)
        producer.flush()  # acknowledged before the offset moves on
        log.info("transcode %s: %d rendition(s) ready", request.job_id, len(result.renditions))
        return True
    return True


def _transcode(
    request: TranscodeRequested,
    blobs: BlobStore,
    producer: EventProducer,
    options: WorkerOptions,
    cancel: threading.Event,
    published: set[str],
) -> JobResult:
    """Run the job, announcing its first rendition as soon as it is playable (a ``rendition-ready``
    with the master that lists it), so the video can be watched while the rest of the ladder encodes."""
    last_sent = [0.0]
    encoders = ",".join(sorted({choose_encoder(p.codec, options.encoder) for p in request.ladder}))

    def on_progress(percent: float) -> None:
        now = time.monotonic()
        if percent < 100 and now - last_sent[0] < options.progress_interval_s:
            return  # throttled: the catalog needs a moving number, not every FFmpeg block
        last_sent[0] = now
        producer.publish(
            TranscodeProgress(
                event_id=str(uuid.uuid4()),
                occurred_at=datetime.now(UTC),
                job_id=request.job_id,
                video_id=request.video_id,
                percent=percent,
                encoder=encoders,
            )
        )

    rungs = [
        Rung(
            name=p.name,
            codec=p.codec,
            width=p.width,
            height=p.height,
            bitrate_kbps=p.bitrate_kbps,
            frame_rate=p.frame_rate,
        )
        for p in request.ladder
    ]

    def announce(partial: JobResult) -> None:
        for event in _renditions_ready(request, partial):
            producer.publish(event)
            published.add(event.name)
        producer.flush()  # delivered before the rest of the ladder is encoded

    return run_job(
        video_id=request.video_id,
        job_id=request.job_id,
        source_key=request.source_key,
        blobs=blobs,
        rungs=rungs or None,
        config=LadderConfig(segment_duration_s=request.segment_duration_s),
        encoder=options.encoder,
        speed=options.speed,
        workdir=options.workdir,
        on_progress=on_progress,
        cancel=cancel,
        on_playable=announce,
    )


def _while_polling(
    consumer: Consumer, stop: threading.Event, work: Callable[[threading.Event], JobResult]
) -> JobResult:
    """Run ``work`` in a thread with the partitions paused, polling so the group keeps us."""
    cancel = threading.Event()
    assignment = consumer.assignment()
    consumer.pause(assignment)
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="transcode") as pool:
            future: Future[JobResult] = pool.submit(work, cancel)
            while not future.done():
                consumer.poll(0.5)  # paused: returns nothing, but serves heartbeats and rebalances
                if stop.is_set():
                    cancel.set()
            return future.result()
    finally:
        live = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        consumer.resume([tp for tp in assignment if (tp.topic, tp.partition) in live])


def _renditions_ready(request: TranscodeRequested, result: JobResult) -> list[RenditionReady]:
    now = datetime.now(UTC)
    return [
        RenditionReady(
            event_id=str(uuid.uuid4()),
            occurred_at=now,
            job_id=request.job_id,
            video_id=request.video_id,
            name=r.rendition.rung.name,
            codec=r.rendition.rung.codec,
            width=r.rendition.rung.width,
            height=r.rendition.rung.height,
            bitrate_kbps=r.rendition.rung.bitrate_kbps,
            segment_duration_s=result.package.segment_duration_s,
            encoder=r.rendition.encoder,
            manifest_key=r.manifest_key,
            init_key=r.init_key,
            segment_keys=r.segment_keys,
            hls_master_key=result.hls_master_key,
            dash_manifest_key=result.dash_manifest_key,
            average_bitrate_kbps=round(r.rendition.average_bps / 1000),
            peak_bitrate_kbps=round(r.rendition.peak_bps / 1000),
            duration_ms=round(r.rendition.duration_s * 1000),
            poster_key=result.poster_key,
            storyboard_key=result.storyboard_key,
        )
        for r in result.renditions
    ]


def reason_for_users(exc: BaseException) -> str:
    """Why a video failed, in a line its uploader can read: no stderr dump, address or path of ours."""
    if isinstance(exc, SourceError):
        text = exc.reason
    elif isinstance(exc, BlobNotFoundError):
        text = "the uploaded source is missing from storage"
    elif isinstance(exc, BlobError):
        text = "storage could not be reached"
    elif isinstance(exc, DeadlineError):
        text = "transcoding took too long"
    elif isinstance(exc, FfmpegError):
        text = "the encoder failed"
    else:
        text = "an internal error"
    return _ADDRESS.sub("", text)[:REASON_CHARS]


def _failed(request: TranscodeRequested, reason: str, *, permanent: bool, attempts: int) -> TranscodeFailed:
    return TranscodeFailed(
        event_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        job_id=request.job_id,
        video_id=request.video_id,
        reason=reason[:2000],
        permanent=permanent,
        attempts=attempts,
    )


def _dead_letter(producer: EventProducer, message: Message, reason: str, error: str) -> None:
    headers = dead_letter_headers(
        original=_original_headers(message),
        reason=reason,
        error=error,
        topic=str(message.topic()),
        partition=int(message.partition() or 0),
        offset=int(message.offset() or 0),
        app="transcoder",
        failed_at=datetime.now(UTC),
    )
    producer.send(DEAD_LETTERS, message.value() or b"", key=message.key(), headers=headers)


def _original_headers(message: Message) -> list[tuple[str, bytes]]:
    raw: list[tuple[str, bytes | str | None]] = list(message.headers() or [])  # type: ignore[arg-type]
    return [(k, v.encode() if isinstance(v, str) else v or b"") for k, v in raw]


def _commit(consumer: Consumer, message: Message) -> None:
    tp = TopicPartition(str(message.topic()), int(message.partition() or 0), int(message.offset() or 0) + 1)
    try:
        consumer.commit(offsets=[tp], asynchronous=False)
    except KafkaException as exc:  # the partition moved during the job: its new owner redoes it
        log.warning("commit of %s failed (%s); the job will be redone by the partition's owner", tp, exc)
