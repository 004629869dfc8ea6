"""``topics apply`` and ``topics list`` against the real broker."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

from topics.admin import apply_topics, describe_topics, wait_for_broker
from topics.catalogue import ALL_TOPICS, DAY_MS, EVENT_TOPICS, TopicSpec
from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError

from harness import free_port, wait_for

pytestmark = pytest.mark.kafka


def scratch(partitions: int = 1, **fields: object) -> TopicSpec:
    spec = TopicSpec(
        name=f"scratch-{uuid.uuid4().hex[:8]}",
        description="a topic of this test",
        key="anything",
        event_type=None,
        key_field=None,
        partitions=partitions,
        retention_ms=7 * DAY_MS,
    )
    return dataclasses.replace(spec, **fields)  # type: ignore[arg-type]


def topic_configs(kafka: KafkaConfig, name: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    admin = AdminClient(kafka.client_config())  # kept referenced until the answer is in
    entries = admin.describe_configs([resource])[resource].result(timeout=10)
    return {k: v.value for k, v in entries.items()}


def retention_is(kafka: KafkaConfig, name: str, value: str) -> Callable[[], bool]:
    return lambda: topic_configs(kafka, name)["retention.ms"] == value


def test_a_second_apply_changes_nothing(kafka: KafkaConfig) -> None:
    """The fixture applied the catalogue once; running it again (every deploy does) is a no-op."""
    changes = apply_topics(kafka)
    assert sorted(c.topic for c in changes) == sorted(kafka.topic(s.name) for s in ALL_TOPICS)
    assert {c.action for c in changes} == {"unchanged"}, [c for c in changes if c.action != "unchanged"]


def test_apply_creates_the_catalogue_in_its_namespace_only(kafka_bootstrap: str) -> None:
    fresh = KafkaConfig(bootstrap=kafka_bootstrap, namespace=f"t{uuid.uuid4().hex[:8]}-")
    spec = scratch(partitions=3, cleanup_policy="compact")

    created = apply_topics(fresh, [spec])

    assert [(c.topic, c.action) for c in created] == [(fresh.topic(spec.name), "created")]
    (state,) = describe_topics(fresh, [spec])
    assert (state.topic, state.exists, state.partitions) == (fresh.topic(spec.name), True, 3)
    configs = topic_configs(fresh, fresh.topic(spec.name))
    assert (configs["retention.ms"], configs["cleanup.policy"]) == (str(7 * DAY_MS), "compact")
    (elsewhere,) = describe_topics(KafkaConfig(bootstrap=kafka_bootstrap, namespace="other-"), [spec])
    assert not elsewhere.exists
    assert [c.action for c in apply_topics(fresh, [spec])] == ["unchanged"]


def test_a_config_changed_by_hand_is_set_back(kafka: KafkaConfig) -> None:
    spec = scratch()
    apply_topics(kafka, [spec])
    name = kafka.topic(spec.name)
    admin = AdminClient(kafka.client_config())
    for drift in ("60000", "120000", "180000", "240000", "300000"):  # the broker answers stale now and then
        drifted = ConfigResource(
            ConfigResource.Type.TOPIC,
            name,
            incremental_configs=[
                ConfigEntry("retention.ms", drift, incremental_operation=AlterConfigOpType.SET)
            ],
        )
        for fut in admin.incremental_alter_configs([drifted]).values():
            fut.result(timeout=10)
        wait_for(retention_is(kafka, name, drift), timeout_s=10, what="the drift to be visible")

        (change,) = apply_topics(kafka, [spec])

        assert (change.topic, change.action, change.detail) == (name, "configs", f"retention.ms={7 * DAY_MS}")
        assert topic_configs(kafka, name)["retention.ms"] == str(7 * DAY_MS)
        assert [c.action for c in apply_topics(kafka, [spec])] == ["unchanged"]


def test_a_changed_catalogue_entry_is_reconciled(kafka: KafkaConfig) -> None:
    spec = scratch(partitions=1)
    apply_topics(kafka, [spec])
    name = kafka.topic(spec.name)
    grown = dataclasses.replace(spec, partitions=3, retention_ms=-1)

    changes = {c.action: c.detail for c in apply_topics(kafka, [grown])}

    assert changes == {"partitions": "1 → 3", "configs": "retention.ms=-1"}
    (state,) = describe_topics(kafka, [grown])
    assert state.partitions == 3
    assert topic_configs(kafka, name)["retention.ms"] == "-1"


def test_fewer_partitions_in_the_catalogue_is_a_warning_not_a_change(kafka: KafkaConfig) -> None:
    spec = scratch(partitions=2)
    apply_topics(kafka, [spec])

    (change,) = apply_topics(kafka, [dataclasses.replace(spec, partitions=1)])

    assert change.action == "warning"
    assert "has 2 partitions, catalogue says 1" in change.detail
    assert describe_topics(kafka, [spec])[0].partitions == 2


def test_list_shows_partitions_and_end_offsets(kafka: KafkaConfig) -> None:
    spec = scratch(partitions=3)
    apply_topics(kafka, [spec])
    name = kafka.topic(spec.name)
    producer = Producer(kafka.client_config())
    for partition, count in ((0, 2), (2, 5)):
        for i in range(count):
            producer.produce(name, value=f"m{i}".encode(), partition=partition)
    assert producer.flush(10) == 0

    (state,) = describe_topics(kafka, [spec])

    assert (state.exists, state.partitions, state.end_offsets, state.messages) == (True, 3, (2, 0, 5), 7)


def test_list_covers_the_whole_catalogue_and_reports_missing_topics(kafka: KafkaConfig) -> None:
    states = describe_topics(kafka)
    assert [s.topic for s in states] == [kafka.topic(s.name) for s in ALL_TOPICS]
    assert all(s.exists for s in states)
    by_name = {s.topic: s for s in states}
    for spec in EVENT_TOPICS:
        assert by_name[kafka.topic(spec.name)].partitions == spec.partitions

    (missing,) = describe_topics(kafka, [scratch()])
    assert (missing.exists, missing.partitions, missing.end_offsets, missing.messages) == (False, 0, (), 0)


def test_no_broker_is_a_broker_unavailable_error() -> None:
    nowhere = KafkaConfig(bootstrap=f"127.0.0.1:{free_port()}")
    with pytest.raises(BrokerUnavailableError, match="no Kafka broker answered"):
        wait_for_broker(nowhere, timeout_s=1.0)
    with pytest.raises(BrokerUnavailableError):
        apply_topics(nowhere, [scratch()], timeout_s=0.5)
    with pytest.raises(BrokerUnavailableError):
        describe_topics(nowhere, [scratch()], timeout_s=0.5)
