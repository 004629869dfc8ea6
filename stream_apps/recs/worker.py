"""The interactions fold: ``playback-event`` → the recs interactions view, exactly, like the analytics.

Its own consumer group (``tubestream-recs``), so it reads every event
whatever the analytics do, and the analytics worker's three rules:

1. rows are whole values per (viewer, video, partition), a pure function of a
   partition's distinct events up to an offset (``InteractionFold``);
2. offsets are committed only after the rows are in the store;
3. on (re)assignment a partition's state is rebuilt by replaying it from
   offset 0 to the committed offset.

The replay is the simple, honest cost: a restart reads each assigned
partition from the beginning (as the analytics do), which grows with the
topic; snapshots of the fold would bound it. Undecodable events are skipped
here: the analytics worker already parks them in ``playback-event.dlq``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import EventDecodeError
from stream_apps.playback.facts import PlaybackFact, decode_facts
from stream_apps.recs.fold import InteractionFold
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError
from topics.log import read_partition
from views.recs import RecsStore

__all__ = ["RECS_GROUP", "run_recs_worker"]

log = logging.getLogger(__name__)

RECS_GROUP = "tubestream-recs"
_REPLAY_CHUNK = 2000


async def run_recs_worker(
    kafka: KafkaConfig,
    store: RecsStore,
    *,
    stop: asyncio.Event,
    batch_size: int = 2000,
    poll_s: float = 0.2,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Consume until ``stop`` is set; every batch is written, then committed."""
    topic = kafka.topic(PLAYBACK_EVENT_TOPIC.name)
    fold = InteractionFold()
    consumer = Consumer(
        kafka.client_config(
            **{
                "group.id": kafka.group(RECS_GROUP),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": 10_000,
            }
        )
    )

    def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in c.committed(partitions, timeout=60):
            end = tp.offset if tp.offset != OFFSET_INVALID and tp.offset >= 0 else 0
            started = time.monotonic()
            count = fold.restore(tp.partition, _replay(kafka, topic, tp.partition, end))
            log.info(
                "recs: partition %d restored from %d event(s) in %.1fs",
                tp.partition,
                count,
                time.monotonic() - started,
            )
        c.incremental_assign(partitions)

    def on_revoke(c: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            fold.forget(tp.partition)
        c.incremental_unassign(partitions)

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    try:
        while not stop.is_set():
            messages: list[Message] = await asyncio.to_thread(consumer.consume, batch_size, poll_s)
            if not messages:
                continue
            offsets: dict[int, int] = {}
            readable: list[Message] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise BrokerUnavailableError(f"consuming {topic}: {error}")
                offsets[int(message.partition() or 0)] = int(message.offset() or 0) + 1
                readable.append(message)
            batch = [
                (int(message.partition() or 0), fact)
                for message, fact in zip(
                    readable, decode_facts([m.value() or b"" for m in readable]), strict=True
                )
                if not isinstance(fact, EventDecodeError)
            ]
            rows = fold.apply_batch(batch, now=datetime.now(UTC))
            await store.write(rows, offsets=offsets)
            consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in sorted(offsets.items())], asynchronous=False
            )
            if on_batch is not None:
                on_batch(len(messages))
    except KafkaException as exc:
        raise BrokerUnavailableError(f"recs worker: {exc}") from exc
    finally:
        consumer.close()


def _replay(kafka: KafkaConfig, topic: str, partition: int, end: int) -> Iterator[PlaybackFact]:
    """The partition's readable facts up to ``end``, decoded a chunk at a time."""
    chunk: list[bytes] = []
    for record in read_partition(kafka, topic, partition, end_offset=end):
        chunk.append(record.value or b"")
        if len(chunk) == _REPLAY_CHUNK:
            yield from _readable(chunk)
            chunk = []
    yield from _readable(chunk)


def _readable(values: list[bytes]) -> Iterator[PlaybackFact]:
    for fact in decode_facts(values):
        if not isinstance(fact, EventDecodeError):
            yield fact
