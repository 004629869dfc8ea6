"""A producer for asyncio servers: ``await`` means the broker has the event (acks=all).

confluent-kafka's own asyncio example: one thread serves delivery callbacks
(``poll``) and resolves asyncio futures on the loop. A full local queue is
not waited out here; it raises ``ProducerBusyError`` at once, so an HTTP
collector can answer 429 with Retry-After instead of buffering without bound
or dropping events.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from topics.catalogue import TopicSpec
from topics.config import KafkaConfig
from topics.errors import DeliveryError, LogError

__all__ = ["AsyncEventProducer", "ProducerBusyError"]


class ProducerBusyError(LogError):
    """The local queue is full: the broker is not keeping up. Retry later."""


class AsyncEventProducer:
    def __init__(
        self,
        config: KafkaConfig,
        *,
        client_id: str = "tubestream-async",
        max_queued_messages: int = 100_000,
        **overrides: Any,
    ) -> None:
        self._config = config
        settings = config.client_config(
            **{
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
                "delivery.timeout.ms": 30_000,
                "queue.buffering.max.messages": max_queued_messages,
            }
        )
        settings.update(overrides)
        try:
            self._producer = Producer(settings)
        except KafkaException as exc:
            raise DeliveryError(f"cannot create a producer for {config.bootstrap}: {exc}") from exc
        self._closing = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-delivery", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(0.1)

    def send(
        self,
        spec: TopicSpec,
        value: bytes,
        *,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> asyncio.Future[None]:
        """Queue one message; the future resolves when it is acknowledged, or fails with DeliveryError."""
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[None] = loop.create_future()
        topic = self._config.topic(spec.name)

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            loop.call_soon_threadsafe(_settle, delivered, err, topic)

        try:
            self._producer.produce(
                topic, value=value, key=key, headers=list(headers), on_delivery=on_delivery
            )
        except BufferError as exc:
            raise ProducerBusyError(f"the producer queue for {topic} is full") from exc
        except KafkaException as exc:
            raise DeliveryError(f"cannot produce to {topic}: {exc}") from exc
        return delivered

    def queued(self) -> int:
        """Messages waiting for the broker's acknowledgement."""
        return len(self._producer)

    async def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        remaining = await asyncio.to_thread(self._producer.flush, timeout_s)
        self._closing.set()
        await asyncio.to_thread(self._poller.join)
        self._producer.close()  # its broker threads end now, not whenever it is collected
        if remaining:
            raise DeliveryError(f"{remaining} message(s) still unacknowledged after {timeout_s:.0f}s")


def _settle(future: asyncio.Future[None], err: KafkaError | None, topic: str) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(DeliveryError(f"delivery to {topic} failed: {err.str()}"))
