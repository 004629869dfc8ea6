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
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from topics.catalogue import TopicSpec
from topics.config import KafkaConfig
from topics.errors import DeliveryError, LogError

__all__ = ["AsyncEventProducer", "ProducerBusyError"]


class ProducerBusyError(LogError):
    """The local queue is full: the broker is not keeping up. Retry later.

    ``sent`` (from ``send_batch``) settles when the part of the batch that was
    queued before the queue filled up is acknowledged.
    """

    def __init__(self, message: str, *, sent: asyncio.Future[None] | None = None) -> None:
        super().__init__(message)
        self.sent = sent


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
                # Fewer, larger produce requests: at 25 ms the broker spent a third of the CPU per
                # event it spent at 5 ms (benchmarks/playback.py), for 20 ms more latency.
                "linger.ms": 25,
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

    def send_batch(
        self, spec: TopicSpec, messages: Iterable[tuple[bytes | None, bytes]]
    ) -> asyncio.Future[None]:
        """Queue ``(key, value)`` messages; one future for all of them: acknowledged, or the first failure.

        One future per batch rather than per message: waking the event loop
        from the delivery thread for every message cost more than producing it.
        When the local queue fills up midway, ``ProducerBusyError`` is raised;
        its ``sent`` future settles once the messages queued before that are
        acknowledged, so a caller can wait for them before answering 429.
        """
        loop = asyncio.get_running_loop()
        topic = self._config.topic(spec.name)
        batch = _BatchDelivery(loop, topic)
        produce = self._producer.produce
        on_delivery = batch.on_delivery
        queued = 0
        try:
            for key, value in messages:
                produce(topic, value=value, key=key, on_delivery=on_delivery)
                queued += 1
        except BufferError as exc:
            batch.seal(queued)
            raise ProducerBusyError(f"the producer queue for {topic} is full", sent=batch.future) from exc
        except KafkaException as exc:
            batch.seal(queued)
            raise DeliveryError(f"cannot produce to {topic}: {exc}") from exc
        batch.seal(queued)
        return batch.future

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


class _BatchDelivery:
    """Counts a batch's acknowledgements on the delivery thread; settles one future on the loop."""

    __slots__ = ("_acked", "_error", "_expected", "_lock", "_loop", "_topic", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop, topic: str) -> None:
        self._loop, self._topic = loop, topic
        self.future: asyncio.Future[None] = loop.create_future()
        self._lock = threading.Lock()
        self._acked = 0
        self._expected: int | None = None  # known once every message is queued
        self._error: KafkaError | None = None

    def on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        with self._lock:
            self._acked += 1
            if err is not None and self._error is None:
                self._error = err
            done = self._acked == self._expected
        if done:
            self._loop.call_soon_threadsafe(_settle, self.future, self._error, self._topic)

    def seal(self, expected: int) -> None:
        with self._lock:
            self._expected = expected
            done = self._acked == expected
        if done:  # everything acknowledged already, or nothing was queued
            _settle(self.future, self._error, self._topic)


def _settle(future: asyncio.Future[None], err: KafkaError | None, topic: str) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(DeliveryError(f"delivery to {topic} failed: {err.str()}"))
