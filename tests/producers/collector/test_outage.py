"""The collector through a Kafka outage, on a broker of this module's own (the suite's is left alone).

While the broker is down, batches are refused with 503 and Retry-After in
well under a second, and /healthz says why; when it is back, every batch a
player retried is on the topic, and every event that got a 202 is there.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from deploy.local_kafka import LocalKafka
from deploy.settings import Settings
from producers.collector.app import create_collector_app
from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from schemas import codec
from topics.admin import apply_topics
from topics.async_producer import AsyncEventProducer
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig
from topics.log import read_to_end

from harness import free_port_pair

pytestmark = pytest.mark.kafka

TOKENS = PlayerTokens("test-secret-of-32-characters-long")
PSEUDONYMS = Pseudonymizer(b"k" * 32)
FAST_S = 1.0  # what "at once" means for a refusal


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    home: Path = tmp_path_factory.mktemp("own-kafka")
    libs = Settings.from_env().kafka_home / "libs"
    if libs.is_dir():  # the jars the project fetched already; otherwise this broker fetches its own
        (home / "libs").symlink_to(libs)
    broker = LocalKafka(home, port=free_port_pair())
    broker.start(timeout_s=120.0)
    try:
        yield broker
    finally:
        broker.stop()


class Player:
    """One viewer's session, POSTed a batch at a time; a refused batch is sent again until accepted."""

    def __init__(self, client: TestClient[Any, Any], batches: int, size: int) -> None:
        self.client, self.session = client, f"s-{uuid.uuid4()}"
        now = datetime.now(UTC).isoformat()
        self.pending: list[list[dict[str, Any]]] = [
            [
                {
                    "event_id": str(uuid.uuid4()),
                    "session_id": self.session,
                    "video_id": "vid-outage",
                    "kind": "start" if b == i == 0 else "heartbeat",
                    "position_ms": (b * size + i) * 1000,
                    "occurred_at": now,
                }
                for i in range(size)
            ]
            for b in range(batches)
        ]
        self.accepted: list[str] = []
        self.posted: Counter[str] = Counter()
        self.answers: list[
            tuple[float, float, int, str | None]
        ] = []  # (sent at, seconds, status, Retry-After)

    async def post_next(self) -> int:
        batch = self.pending[0]
        self.posted.update(e["event_id"] for e in batch)
        sent = time.monotonic()
        auth = {"Authorization": f"Bearer {TOKENS.issue('viewer-outage')}"}
        async with self.client.post("/v1/playback/events", json=batch, headers=auth) as response:
            self.answers.append(
                (sent, time.monotonic() - sent, response.status, response.headers.get("Retry-After"))
            )
            if response.status == 202:
                assert (await response.json()) == {"accepted": len(batch)}
                self.accepted += [e["event_id"] for e in self.pending.pop(0)]
            return response.status

    async def play(self, stop: asyncio.Event) -> None:
        while self.pending and not stop.is_set():
            await self.post_next()
            await asyncio.sleep(0.1)


async def _health(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    async with client.get("/healthz") as response:
        return response.status, await response.json()


async def _until(probe: Any, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await probe():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        await asyncio.sleep(0.05)


async def test_while_kafka_is_down_batches_are_refused_at_once_and_nothing_accepted_is_lost(
    broker: LocalKafka,
) -> None:
    kafka = KafkaConfig(bootstrap=broker.bootstrap, namespace=f"t{uuid.uuid4().hex[:8]}-")
    apply_topics(kafka, [PLAYBACK_EVENT_TOPIC])
    producer = AsyncEventProducer(kafka)
    app = create_collector_app(producer=producer, tokens=TOKENS, pseudonyms=PSEUDONYMS)
    async with TestClient(TestServer(app)) as client:
        player = Player(client, batches=12, size=5)
        for _ in range(3):
            assert await player.post_next() == 202
        stop = asyncio.Event()
        playing = asyncio.create_task(player.play(stop))  # mid-stream from here on

        stopping_at = time.monotonic()
        await asyncio.to_thread(broker.stop)  # SIGTERM: the broker shuts down in about half a second
        down_at = time.monotonic()
        await _until(lambda: _is(client, 503), timeout_s=5.0, what="/healthz to say 503")
        _, health = await _health(client)
        assert health["status"] == "unavailable" and broker.bootstrap in health["reason"]
        await asyncio.sleep(2.0)  # the player keeps posting into the outage
        restarting = asyncio.create_task(asyncio.to_thread(broker.start, timeout_s=120.0))
        await asyncio.sleep(1.0)
        refused = [a for a in player.answers if a[0] > down_at]
        caught = [a for a in player.answers if stopping_at < a[0] + a[1] and a[0] <= down_at]
        await restarting
        await _until(lambda: _is(client, 200), timeout_s=30.0, what="/healthz to say 200 again")
        await asyncio.wait_for(playing, timeout=60.0)
        await producer.close()

    assert len(refused) >= 10, player.answers
    assert all(status == 503 and retry_after for _, _, status, retry_after in refused), refused
    assert max(seconds for _, seconds, _, _ in refused) < FAST_S, refused
    # a batch in flight as the broker went away waits for librdkafka to notice and one probe, not 30 s
    assert all(seconds < 2 * FAST_S and status in (202, 503) for _, seconds, status, _ in caught), caught
    assert not player.pending  # every batch accepted in the end
    records = [
        codec.decode(r.value or b"")
        for r in read_to_end(kafka, [kafka.topic(PLAYBACK_EVENT_TOPIC.name)])
        if r.key == player.session.encode()
    ]
    on_topic = Counter(e.event_id for e in records)
    assert set(on_topic) == set(player.accepted) and len(player.accepted) == 60  # all there, exactly
    assert all(on_topic[event_id] <= player.posted[event_id] for event_id in on_topic)  # copies: retries only


async def _is(client: TestClient[Any, Any], status: int) -> bool:
    return (await _health(client))[0] == status


async def test_a_collector_started_while_kafka_is_down_says_so_and_refuses_at_once() -> None:
    nobody = KafkaConfig(bootstrap=f"127.0.0.1:{free_port_pair()}")  # nothing listens there
    producer = AsyncEventProducer(nobody)
    app = create_collector_app(producer=producer, tokens=TOKENS, pseudonyms=PSEUDONYMS)
    async with TestClient(TestServer(app)) as client:
        await _until(lambda: _is(client, 503), timeout_s=5.0, what="/healthz to say 503")
        player = Player(client, batches=1, size=2)
        assert await player.post_next() == 503
        _, seconds, _, retry_after = player.answers[0]
        assert seconds < FAST_S and retry_after == "5"
        async with client.ws_connect(f"/v1/playback/ws?token={TOKENS.issue('viewer-ws')}") as ws:
            await ws.send_json(player.pending[0])
            answer = await ws.receive_json()
            assert (answer["error"]["status"], answer["error"]["retry_after_s"]) == (503, 5)
    await producer.close()
