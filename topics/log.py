"""Read topics from the beginning up to their current end: the replay primitive.

Rebuilding a view, checking a dead-letter topic, or tailing for an analyst
all need "every message written so far, then stop". The end is fixed when
reading starts (the high watermarks), so a busy topic still terminates.
No consumer group offsets are committed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition

from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError

__all__ = ["LogRecord", "read_partition", "read_to_end"]


@dataclass(frozen=True)
class LogRecord:
    topic: str  # the name on the cluster (namespace included)
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int


def read_to_end(
    config: KafkaConfig, topic_names: Sequence[str], *, timeout_s: float = 60.0
) -> Iterator[LogRecord]:
    """Yield every message of the named topics (cluster names), partition by partition in offset order.

    ``timeout_s`` bounds each wait for the broker, not the whole read: a replay
    of a big topic, or a caller that takes its time with each record, goes on
    as long as messages keep coming.
    """
    consumer = Consumer(
        config.client_config(
            **{
                "group.id": f"tubestream-reader-{uuid.uuid4()}",  # never committed
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
            }
        )
    )
    try:
        metadata = consumer.list_topics(timeout=timeout_s).topics
        assignment: list[TopicPartition] = []
        remaining: set[tuple[str, int]] = set()
        end: dict[tuple[str, int], int] = {}
        for name in topic_names:
            if name not in metadata or metadata[name].error is not None:
                continue
            for p in metadata[name].partitions:
                low, high = _watermarks(consumer, TopicPartition(name, p), timeout_s)
                if high > low:
                    assignment.append(TopicPartition(name, p, OFFSET_BEGINNING))
                    remaining.add((name, p))
                    end[(name, p)] = high
        if not assignment:
            return
        consumer.assign(assignment)
        deadline = time.monotonic() + timeout_s
        while remaining:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"reading {', '.join(topic_names)}: no message for {timeout_s:.0f}s before the end"
                )
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    remaining.discard((str(msg.topic()), int(msg.partition() or 0)))
                    continue
                raise BrokerUnavailableError(f"reading {msg.topic()}: {err}")
            record = _record(msg)
            tp = (record.topic, record.partition)
            if tp not in remaining or record.offset >= end[tp]:
                remaining.discard(tp)
                continue
            yield record
            deadline = time.monotonic() + timeout_s  # progress; the caller's time is not ours
            if record.offset + 1 >= end[tp]:
                remaining.discard(tp)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"reading {', '.join(topic_names)} at {config.bootstrap}: {exc}"
        ) from exc
    finally:
        consumer.close()


def read_partition(
    config: KafkaConfig,
    topic_name: str,
    partition: int,
    *,
    end_offset: int,
    start_offset: int = 0,
    timeout_s: float = 120.0,
) -> Iterator[LogRecord]:
    """Every message of one partition from ``start_offset`` (its beginning) up to ``end_offset`` (exclusive).

    How a view builder recovers its state after a restart: the log up to the
    offset its group committed, replayed, before it reads on. As for ``read_to_end``,
    ``timeout_s`` bounds each wait for the broker, not the whole replay.
    """
    if end_offset <= max(start_offset, 0):
        return
    consumer = Consumer(
        config.client_config(
            **{
                "group.id": f"tubestream-reader-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
    )
    try:
        consumer.assign([TopicPartition(topic_name, partition, start_offset or OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while True:
            if time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"replaying {topic_name}[{partition}]: no message for {timeout_s:.0f}s "
                    f"before offset {end_offset}"
                )
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    return
                raise BrokerUnavailableError(f"replaying {topic_name}[{partition}]: {err}")
            record = _record(msg)
            if record.offset >= end_offset:
                return
            yield record
            deadline = time.monotonic() + timeout_s
            if record.offset + 1 >= end_offset:
                return
    except KafkaException as exc:
        raise BrokerUnavailableError(f"replaying {topic_name}[{partition}]: {exc}") from exc
    finally:
        consumer.close()


_RETRIABLE = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError._TIMED_OUT}


def _watermarks(consumer: Consumer, tp: TopicPartition, timeout_s: float) -> tuple[int, int]:
    """Retried while leadership settles (a topic created a moment ago), up to the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=max(1.0, deadline - time.monotonic()))
            return int(low), int(high)
        except KafkaException as exc:
            if exc.args[0].code() not in _RETRIABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _record(msg: Message) -> LogRecord:
    raw_headers: list[tuple[str, bytes | str | None]] = list(msg.headers() or [])  # type: ignore[arg-type]
    headers = tuple((k, v.encode() if isinstance(v, str) else v or b"") for k, v in raw_headers)
    key, value = msg.key(), msg.value()
    return LogRecord(
        topic=str(msg.topic()),
        partition=int(msg.partition() or 0),
        offset=int(msg.offset() or 0),
        key=key.encode() if isinstance(key, str) else key,
        value=value.encode() if isinstance(value, str) else value,
        headers=headers,
        timestamp_ms=msg.timestamp()[1],
    )
