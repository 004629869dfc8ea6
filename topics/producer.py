"""The one Kafka producer wrapper every writer uses.

Idempotent (``enable.idempotence``, so ``acks=all`` and no duplicates from
retries), keyed by the topic's key field so a video's or a session's events
stay ordered, delivery failures collected from the delivery callback and
raised on ``flush`` — a caller never believes an event was published when it
was not. Use it as a context manager: leaving the block flushes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas import codec
from schemas.registry import Event, event_type_of
from topics.catalogue import TopicSpec, topic_for_event_type
from topics.config import KafkaConfig
from topics.errors import DeliveryError

__all__ = ["EventProducer", "Headers"]

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]


class EventProducer:
    def __init__(self, config: KafkaConfig, *, client_id: str = "tubestream", **overrides: Any) -> None:
        self._config = config
        self._failures: list[str] = []
        settings = config.client_config(
            **{
                "client.id": client_id,
                "enable.idempotence": True,  # implies acks=all, bounded in-flight, retries without dupes
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "delivery.timeout.ms": 30_000,
                # the key → partition hash of the Java client and of Faust (aiokafka), not librdkafka's
                # CRC32 default: a video's events from every writer land in the same partition number
                "partitioner": "murmur2_random",
            }
        )
        settings.update(overrides)
        try:
            self._producer = Producer(settings)
        except KafkaException as exc:
            raise DeliveryError(f"cannot create a producer for {config.bootstrap}: {exc}") from exc

    def publish(self, event: Event, *, headers: Headers = ()) -> None:
        """Encode with the current schema and send to the event type's topic."""
        spec = topic_for_event_type(event_type_of(event))
        self.send(spec, codec.encode(event), key=spec.key_of(event), headers=headers)

    def send(self, spec: TopicSpec, value: bytes, *, key: bytes | None, headers: Headers = ()) -> None:
        """Send already-encoded bytes (dead letters, replays, old-schema producers)."""
        topic = self._config.topic(spec.name)
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=list(headers), on_delivery=self._on_delivery
                )
                break
            except BufferError:
                # local queue full: serve delivery callbacks until there is room
                log.debug("producer queue full, waiting for deliveries")
                self._producer.poll(0.5)
            except KafkaException as exc:
                raise DeliveryError(f"cannot produce to {topic}: {exc}") from exc
        self._producer.poll(0)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every message to be acknowledged; raise if any was not."""
        remaining = self._producer.flush(timeout_s)
        failures, self._failures = self._failures, []
        if remaining:
            failures.append(f"{remaining} message(s) still unacknowledged after {timeout_s:.0f}s")
        if failures:
            raise DeliveryError(
                "; ".join(failures[:5]) + (f" (+{len(failures) - 5} more)" if len(failures) > 5 else "")
            )

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            log.error("delivery to %s failed: %s", msg.topic(), err)
            self._failures.append(f"{msg.topic()}: {err.str()}")
        else:
            log.debug("delivered to %s [%s] @ %s", msg.topic(), msg.partition(), msg.offset())

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.flush()
        else:  # still try to get what was sent out, but do not mask the original error
            self._producer.flush(5.0)
