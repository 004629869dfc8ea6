"""Reading topics to their end on the real broker: the replay every view rebuild relies on."""

from __future__ import annotations

import time
import uuid
from itertools import groupby

import pytest
from confluent_kafka import Producer

import topics.log
from topics.admin import apply_topics
from topics.catalogue import TopicSpec
from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError
from topics.log import LogRecord, read_partition, read_to_end

from harness import free_port

pytestmark = pytest.mark.kafka

Sent = tuple[int, bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]


def make_topic(kafka: KafkaConfig, partitions: int) -> str:
    spec = TopicSpec(
        name=f"log-{uuid.uuid4().hex[:8]}",
        description="a topic of this test",
        key="anything",
        event_type=None,
        key_field=None,
        partitions=partitions,
    )
    apply_topics(kafka, [spec])
    return kafka.topic(spec.name)


def produce(kafka: KafkaConfig, topic: str, messages: list[Sent]) -> None:
    producer = Producer(kafka.client_config(**{"enable.idempotence": True}))
    for partition, key, value, headers in messages:
        producer.produce(topic, value=value, key=key, partition=partition, headers=list(headers))
    assert producer.flush(10) == 0


@pytest.fixture(scope="module")
def written(kafka: KafkaConfig) -> tuple[str, list[Sent]]:
    """A three-partition topic: 5 messages in 0, none in 1, 3 in 2 (a keyless one, a tombstone, headers)."""
    topic = make_topic(kafka, 3)
    messages: list[Sent] = [(0, f"k{i}".encode(), f"zero-{i}".encode(), ()) for i in range(5)]
    messages += [
        (2, None, b"keyless", ()),
        (2, b"gone", None, ()),
        (2, b"k", b"with headers", (("trace", b"abc"), ("trace", b"def"), ("empty", b""))),
    ]
    produce(kafka, topic, messages)
    return topic, messages


def by_partition(records: list[LogRecord]) -> dict[int, list[LogRecord]]:
    ordered = sorted(records, key=lambda r: r.partition)  # stable: offsets keep their read order
    return {p: list(rs) for p, rs in groupby(ordered, key=lambda r: r.partition)}


def test_every_message_comes_back_once_in_offset_order_per_partition(
    kafka: KafkaConfig, written: tuple[str, list[Sent]]
) -> None:
    topic, sent = written
    started = time.monotonic()

    records = list(read_to_end(kafka, [topic], timeout_s=30))

    assert time.monotonic() - started < 15  # stops at the end instead of waiting for more
    got = by_partition(records)
    assert sorted(got) == [0, 2]
    for partition, rs in got.items():
        assert [r.offset for r in rs] == list(range(len(rs)))
        expected = [(k, v, h) for p, k, v, h in sent if p == partition]
        assert [(r.key, r.value, r.headers) for r in rs] == expected
    assert all(r.topic == topic and r.timestamp_ms > 0 for r in records)


def test_the_end_is_fixed_when_reading_starts(kafka: KafkaConfig) -> None:
    """A busy topic still terminates: what is written during the read is left for the next one."""
    topic = make_topic(kafka, 2)
    produce(kafka, topic, [(p, b"k", f"before-{p}-{i}".encode(), ()) for p in (0, 1) for i in range(3)])

    reading = read_to_end(kafka, [topic], timeout_s=30)
    first = next(reading)
    produce(kafka, topic, [(p, b"k", f"during-{p}".encode(), ()) for p in (0, 1)])
    rest = list(reading)

    values = sorted(r.value or b"" for r in [first, *rest])
    assert values == sorted(f"before-{p}-{i}".encode() for p in (0, 1) for i in range(3))
    assert len(list(read_to_end(kafka, [topic], timeout_s=30))) == 8


def test_several_topics_are_read_together_and_missing_or_empty_ones_give_nothing(
    kafka: KafkaConfig, written: tuple[str, list[Sent]]
) -> None:
    topic, sent = written
    other = make_topic(kafka, 1)
    empty = make_topic(kafka, 2)
    produce(kafka, other, [(0, b"o", b"other", ())])

    records = list(read_to_end(kafka, [topic, other, empty, kafka.topic("no-such-topic")], timeout_s=30))

    assert sorted(r.topic for r in records) == sorted([topic] * len(sent) + [other])
    assert list(read_to_end(kafka, [empty, kafka.topic("no-such-topic")], timeout_s=30)) == []


def test_a_slow_reader_is_not_timed_out(
    kafka: KafkaConfig, written: tuple[str, list[Sent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timeout is for the broker: a rebuild that spends minutes storing rows must not fail."""
    topic, sent = written
    clock = _Clock()
    monkeypatch.setattr(topics.log, "time", clock)

    seen = 0
    for _ in read_to_end(kafka, [topic], timeout_s=5):
        seen += 1
        clock.now += 60  # a minute of work on each record, as the caller's clock sees it

    assert seen == len(sent)


class _Clock:
    """Stands in for ``time`` in topics.log: real time plus whatever the test adds with ``now``."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.now  # real time still runs: a broker that hangs still times out

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def test_read_partition_replays_one_partition_up_to_an_offset(
    kafka: KafkaConfig, written: tuple[str, list[Sent]]
) -> None:
    topic, sent = written
    zero = [v for p, _, v, _ in sent if p == 0]

    upto = list(read_partition(kafka, topic, 0, end_offset=3, timeout_s=30))
    assert [(r.offset, r.value) for r in upto] == [(0, zero[0]), (1, zero[1]), (2, zero[2])]
    assert list(read_partition(kafka, topic, 0, end_offset=0)) == []
    beyond = list(read_partition(kafka, topic, 0, end_offset=100, timeout_s=30))  # stops at the end
    assert [r.value for r in beyond] == zero
    assert {r.partition for r in read_partition(kafka, topic, 2, end_offset=100, timeout_s=30)} == {2}
    # from an offset on: what a worker replays after loading a snapshot taken there
    after = list(read_partition(kafka, topic, 0, start_offset=1, end_offset=3, timeout_s=30))
    assert [(r.offset, r.value) for r in after] == [(1, zero[1]), (2, zero[2])]
    assert list(read_partition(kafka, topic, 0, start_offset=3, end_offset=3)) == []


def test_an_unreachable_broker_is_a_broker_unavailable_error() -> None:
    nowhere = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="reading"):
        list(read_to_end(nowhere, ["anything"], timeout_s=0.5))
    assert time.monotonic() - started < 10
