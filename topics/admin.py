"""Create and reconcile the catalogue's topics on a cluster; report their state.

``apply`` is idempotent: it creates missing topics, adds partitions where the
catalogue asks for more, and sets topic configs that differ. It never
deletes a topic or lowers a partition count (Kafka cannot), and says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from topics.catalogue import ALL_TOPICS, TopicSpec
from topics.config import KafkaConfig
from topics.errors import BrokerRefusedError, BrokerUnavailableError, TopicAdminError

__all__ = ["TopicChange", "TopicState", "apply_topics", "describe_topics", "wait_for_broker"]


@dataclass(frozen=True)
class TopicChange:
    topic: str
    action: str  # created | partitions | configs | unchanged | warning
    detail: str = ""


@dataclass(frozen=True)
class TopicState:
    topic: str
    exists: bool
    partitions: int
    end_offsets: tuple[int, ...]

    @property
    def messages(self) -> int:
        """Messages ever written (end offsets summed; retention may have removed some)."""
        return sum(self.end_offsets)


def _admin(config: KafkaConfig) -> AdminClient:
    return AdminClient(config.client_config())


def wait_for_broker(config: KafkaConfig, *, timeout_s: float = 30.0) -> None:
    """Block until the cluster answers a metadata request, or raise.

    A broker that refuses this client (wrong password, a certificate that does not
    verify) raises ``BrokerRefusedError`` within a second or so instead of at the
    deadline: librdkafka keeps retrying such errors quietly, and waiting cannot fix them.
    """
    errors: list[KafkaError] = []
    # its own log lines would repeat the refusal on stderr; the error callback reports it once, below
    admin = AdminClient(config.client_config(error_cb=errors.append, log_level=0))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=max(0.1, min(_REFUSAL_CHECK_S, deadline - time.monotonic())))
            return
        except KafkaException as exc:
            last: object = exc
        admin.poll(0)  # serves the error callback
        refusal = next((e for e in errors if e.code() in _REFUSALS), None)
        if refusal is not None:
            raise BrokerRefusedError(f"Kafka at {config.bootstrap} refused the connection: {refusal.str()}")
        if time.monotonic() >= deadline:
            reason = errors[-1].str() if errors else last
            raise BrokerUnavailableError(
                f"no Kafka broker answered at {config.bootstrap} within {timeout_s:.0f}s: {reason}"
            )


_REFUSAL_CHECK_S = 0.5
_REFUSALS = {KafkaError._AUTHENTICATION, KafkaError._SSL}


def apply_topics(
    config: KafkaConfig, specs: Sequence[TopicSpec] = ALL_TOPICS, *, timeout_s: float = 30.0
) -> list[TopicChange]:
    admin = _admin(config)
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise BrokerUnavailableError(f"cannot list topics at {config.bootstrap}: {exc}") from exc

    changes: list[TopicChange] = []
    to_create = [s for s in specs if config.topic(s.name) not in existing]
    if to_create:
        futures = admin.create_topics(
            [
                NewTopic(
                    config.topic(s.name),
                    num_partitions=s.partitions,
                    replication_factor=-1,
                    config=s.configs(),
                )
                for s in to_create
            ],
            operation_timeout=timeout_s,
        )
        for name, fut in futures.items():
            try:
                fut.result()
            except KafkaException as exc:
                if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":  # lost a race with another apply
                    raise TopicAdminError(f"creating {name}: {exc}") from exc
            changes.append(TopicChange(name, "created"))
        _wait_for_leaders(admin, [config.topic(s.name) for s in to_create], timeout_s)

    for spec in specs:
        name = config.topic(spec.name)
        if name not in existing:
            continue
        have = len(existing[name].partitions)
        if have < spec.partitions:
            _run(
                admin.create_partitions([NewPartitions(name, spec.partitions)]),
                f"adding partitions to {name}",
            )
            _wait_for_leaders(admin, [name], timeout_s, partitions=spec.partitions)
            changes.append(TopicChange(name, "partitions", f"{have} → {spec.partitions}"))
        elif have > spec.partitions:
            changes.append(
                TopicChange(
                    name,
                    "warning",
                    f"has {have} partitions, catalogue says {spec.partitions}; Kafka cannot shrink",
                )
            )
        diff = _config_diff(admin, name, spec.configs(), timeout_s)
        if diff:
            resource = ConfigResource(
                ConfigResource.Type.TOPIC,
                name,
                incremental_configs=[
                    ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in diff.items()
                ],
            )
            _run(admin.incremental_alter_configs([resource]), f"setting configs of {name}")
            _wait_for_configs(admin, name, diff, timeout_s)
            changes.append(TopicChange(name, "configs", ", ".join(f"{k}={v}" for k, v in diff.items())))
        if not any(c.topic == name for c in changes):
            changes.append(TopicChange(name, "unchanged"))
    return changes


def _wait_for_leaders(
    admin: AdminClient, names: Sequence[str], timeout_s: float, *, partitions: int = 1
) -> None:
    """New topics (or partitions) are usable once every partition has a leader; callers write right after."""
    deadline = time.monotonic() + timeout_s
    pending = set(names)
    while pending:
        metadata = admin.list_topics(timeout=timeout_s).topics
        for name in list(pending):
            topic = metadata.get(name)
            if (
                topic is not None
                and topic.error is None
                and len(topic.partitions) >= partitions
                and all(p.leader >= 0 and p.error is None for p in topic.partitions.values())
            ):
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TopicAdminError(f"no leader within {timeout_s:.0f}s for {', '.join(sorted(pending))}")
        if pending:
            time.sleep(0.1)


def _wait_for_configs(admin: AdminClient, name: str, wanted: dict[str, str], timeout_s: float) -> None:
    """Wait until the broker describes the values just set.

    It does so a moment after the controller accepts them (1 read in 20 came back stale on the
    local broker), and an ``apply`` right after this one would otherwise set them again.
    """
    deadline = time.monotonic() + timeout_s
    while _config_diff(admin, name, wanted, timeout_s):
        if time.monotonic() > deadline:
            raise TopicAdminError(f"configs of {name} still differ {timeout_s:.0f}s after they were set")
        time.sleep(0.05)


def _config_diff(admin: AdminClient, name: str, wanted: dict[str, str], timeout_s: float) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    try:
        current = admin.describe_configs([resource])[resource].result(timeout=timeout_s)
    except KafkaException as exc:
        raise TopicAdminError(f"describing configs of {name}: {exc}") from exc
    return {k: v for k, v in wanted.items() if k not in current or current[k].value != v}


def _run(futures: Mapping[Any, Future[Any]], what: str) -> None:
    for fut in futures.values():
        try:
            fut.result()
        except KafkaException as exc:
            raise TopicAdminError(f"{what}: {exc}") from exc


def describe_topics(
    config: KafkaConfig, specs: Sequence[TopicSpec] = ALL_TOPICS, *, timeout_s: float = 10.0
) -> list[TopicState]:
    """Partitions and end offsets of each catalogue topic (missing ones reported as such)."""
    from confluent_kafka import Consumer  # a consumer is the client that can ask for watermarks

    admin = _admin(config)
    try:
        metadata = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise BrokerUnavailableError(f"cannot list topics at {config.bootstrap}: {exc}") from exc
    consumer = Consumer(
        config.client_config(**{"group.id": config.group("tubestream-admin"), "enable.auto.commit": False})
    )
    try:
        states = []
        for spec in specs:
            name = config.topic(spec.name)
            if name not in metadata:
                states.append(TopicState(name, False, 0, ()))
                continue
            ends = []
            for p in sorted(metadata[name].partitions):
                _low, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=timeout_s)
                ends.append(high)
            states.append(TopicState(name, True, len(ends), tuple(ends)))
        return states
    except KafkaException as exc:
        raise BrokerUnavailableError(f"reading offsets at {config.bootstrap}: {exc}") from exc
    finally:
        consumer.close()
