"""A producer for asyncio servers: ``await`` means the broker has the event (acks=all).

confluent-kafka's own asyncio example: one thread serves delivery callbacks
(``poll``) and resolves asyncio futures on the loop. A full local queue is
not waited out here; it raises ``ProducerBusyError`` at once, so an HTTP
collector can answer 429 with Retry-After instead of buffering without bound
or dropping events.

Neither is an outage waited out. librdkafka retries an unreachable cluster
until ``delivery.timeout.ms`` (30 s) and says nothing to the caller
meanwhile, so the producer watches the cluster itself: librdkafka's
``error_cb`` reporting every broker down, or a batch unacknowledged after a
second, makes a metadata probe (0.5 s timeout) run; if it fails, the cluster
is unreachable: ``send_batch`` raises ``BrokerUnavailableError`` at once,
batches still waiting fail with it, and the probe runs again until the
cluster answers. Messages already queued stay queued (bounded by the queue
and the delivery timeout) and go out when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from topics.catalogue import TopicSpec
from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError, DeliveryError, LogError

__all__ = ["AsyncEventProducer", "ProducerBusyError", "Reachability"]

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 0.5  # a metadata answer from a healthy broker takes milliseconds
SUSPECT_AFTER_S = 1.0  # a batch unacknowledged this long makes the cluster suspect: probe it


class ProducerBusyError(LogError):
    """The local queue is full: the broker is not keeping up. Retry later.

    ``sent`` (from ``send_batch``) settles when the part of the batch that was
    queued before the queue filled up is acknowledged.
    """

    def __init__(self, message: str, *, sent: asyncio.Future[None] | None = None) -> None:
        super().__init__(message)
        self.sent = sent


@dataclass(frozen=True)
class Reachability:
    """Whether the cluster answered the producer's last look, and if not, why and since when."""

    reachable: bool
    reason: str = ""
    since: float = 0.0  # time.time() of the last change


class AsyncEventProducer:
    def __init__(
        self,
        config: KafkaConfig,
        *,
        client_id: str = "tubestream-async",
        max_queued_messages: int = 100_000,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        suspect_after_s: float = SUSPECT_AFTER_S,
        **overrides: Any,
    ) -> None:
        self._config = config
        settings = config.client_config(
            **{
                "client.id": client_id,
                "error_cb": self._on_error,
                # librdkafka backs off up to 10 s between reconnects by default: a cluster that is back
                # would stay unused that long
                "reconnect.backoff.max.ms": 1_000,
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
        self._probe_timeout_s, self._suspect_after_s = probe_timeout_s, suspect_after_s
        self._reachability = Reachability(True, since=time.time())
        self._fatal = False
        # Batches not acknowledged yet, failed at once when the cluster turns out unreachable. Added on
        # the loop, discarded on the delivery thread, copied on the prober's: each a single set operation.
        self._waiting: set[_BatchDelivery] = set()
        self._closing = threading.Event()
        self._suspect = threading.Event()  # wakes the prober
        self._suspect.set()  # one look at start: a cluster down from the outset says nothing else
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-delivery", daemon=True)
        self._prober = threading.Thread(target=self._probe_loop, name="kafka-probe", daemon=True)
        self._poller.start()
        self._prober.start()

    def _poll_loop(self) -> None:
        while not self._closing.is_set():
            self._producer.poll(0.1)

    def _on_error(self, error: KafkaError) -> None:
        """librdkafka's error_cb, on the delivery thread: all brokers down or a fatal error."""
        if error.fatal():
            log.error("kafka producer: fatal error, restart the process: %s", error.str())
            self._fatal = True
            self._mark(Reachability(False, f"the producer failed for good: {error.str()}", time.time()))
        elif error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._suspect.set()
        else:
            log.debug("kafka producer: %s", error.str())

    def _probe_loop(self) -> None:
        """Wait for a suspicion, then ask for metadata until the cluster answers."""
        while not self._closing.is_set():
            self._suspect.wait()
            if self._closing.is_set():
                return
            self._suspect.clear()
            started = time.monotonic()
            try:
                self._producer.list_topics(timeout=self._probe_timeout_s)
            except KafkaException as exc:
                if self._reachability.reachable:
                    log.warning("kafka producer: the cluster at %s is unreachable", self._config.bootstrap)
                    self._mark(Reachability(False, self._unanswered(exc), time.time()))
                self._suspect.set()  # look again until it answers, every probe_timeout_s
                self._closing.wait(max(0.0, self._probe_timeout_s - (time.monotonic() - started)))
            else:
                if not self._reachability.reachable and not self._fatal:
                    log.warning("kafka producer: the cluster at %s answers again", self._config.bootstrap)
                    self._mark(Reachability(True, since=time.time()))

    def _unanswered(self, exc: KafkaException) -> str:
        error = exc.args[0] if exc.args else None
        detail = error.str() if isinstance(error, KafkaError) else str(exc)
        return f"Kafka at {self._config.bootstrap} did not answer within {self._probe_timeout_s}s ({detail})"

    def _mark(self, reachability: Reachability) -> None:
        self._reachability = reachability
        if not reachability.reachable:
            for batch in list(self._waiting):
                batch.fail(BrokerUnavailableError(f"{reachability.reason}; the batch was not acknowledged"))

    def reachability(self) -> Reachability:
        """The cluster as the producer last saw it; new batches are refused while it is unreachable."""
        return self._reachability

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
        reachability = self._reachability
        if not reachability.reachable:
            raise BrokerUnavailableError(reachability.reason)
        loop = asyncio.get_running_loop()
        topic = self._config.topic(spec.name)
        batch = _BatchDelivery(loop, topic, self._waiting)
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
        if not batch.future.done():
            loop.call_later(self._suspect_after_s, self._check, batch)
        return batch.future

    def _check(self, batch: _BatchDelivery) -> None:
        """A second after sending: a batch still unacknowledged makes the cluster suspect."""
        if batch.future.done():
            return
        reachability = self._reachability
        if reachability.reachable:
            self._suspect.set()
        else:  # queued just as the cluster was found unreachable, after the waiting batches were failed
            batch.fail(BrokerUnavailableError(f"{reachability.reason}; the batch was not acknowledged"))

    def queued(self) -> int:
        """Messages waiting for the broker's acknowledgement."""
        return len(self._producer)

    async def close(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        remaining = await asyncio.to_thread(self._producer.flush, timeout_s)
        self._closing.set()
        self._suspect.set()
        await asyncio.to_thread(self._poller.join)
        await asyncio.to_thread(self._prober.join)
        self._producer.close()  # its broker threads end now, not whenever it is collected
        if remaining:
            raise DeliveryError(f"{remaining} message(s) still unacknowledged after {timeout_s:.0f}s")


class _BatchDelivery:
    """Counts a batch's acknowledgements on the delivery thread; settles one future on the loop."""

    __slots__ = ("_acked", "_error", "_expected", "_lock", "_loop", "_topic", "_waiting", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop, topic: str, waiting: set[_BatchDelivery]) -> None:
        self._loop, self._topic, self._waiting = loop, topic, waiting
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
            self._waiting.discard(self)
            self._loop.call_soon_threadsafe(_settle, self.future, self._error, self._topic)

    def seal(self, expected: int) -> None:
        self._waiting.add(self)  # before the count is known, so the last acknowledgement can discard it
        with self._lock:
            self._expected = expected
            done = self._acked == expected
        if done:  # everything acknowledged already, or nothing was queued
            self._waiting.discard(self)
            _settle(self.future, self._error, self._topic)

    def fail(self, error: LogError) -> None:
        """Settle now with ``error``, from any thread; acknowledgements still to come change nothing."""
        self._waiting.discard(self)
        self._loop.call_soon_threadsafe(_fail, self.future, error)


def _settle(future: asyncio.Future[None], err: KafkaError | None, topic: str) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    else:
        future.set_exception(DeliveryError(f"delivery to {topic} failed: {err.str()}"))


def _fail(future: asyncio.Future[None], error: LogError) -> None:
    if not future.done():
        future.set_exception(error)
