"""The collector against the real broker: what a player sends, what Kafka holds, what is refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from producers.collector.app import create_collector_app
from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from schemas import codec
from schemas.playback_event import PlaybackEvent, PlaybackKind
from topics.async_producer import AsyncEventProducer
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig
from topics.log import read_to_end

pytestmark = pytest.mark.kafka

TOKENS = PlayerTokens("test-secret-of-32-characters-long")
STRANGER = PlayerTokens("another-secret-of-32-characters-too")
PSEUDONYMS = Pseudonymizer(b"k" * 32)


PLAYED_AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def _events(session: str, video: str, n: int = 3) -> list[dict[str, Any]]:
    kinds = ["start"] + ["heartbeat"] * (n - 2) + ["end"]
    return [
        {
            "event_id": str(uuid.uuid4()),
            "session_id": session,
            "video_id": video,
            "kind": kind,
            "position_ms": i * 10_000,
            "occurred_at": PLAYED_AT.isoformat(),
            "rendition": "720p",
            "client": "test-player/1.0",
        }
        for i, kind in enumerate(kinds)
    ]


def _on_topic(kafka: KafkaConfig, session: str) -> list[PlaybackEvent]:
    records = read_to_end(kafka, [kafka.topic(PLAYBACK_EVENT_TOPIC.name)])
    out = []
    for record in records:
        if record.key == session.encode():
            assert record.value is not None
            assert b"127.0.0.1" not in record.value  # no raw IP on the log
            assert b"viewer-1" not in record.value  # nor the viewer's id
            out.append(codec.decode(record.value))
    return out


@pytest.fixture
async def client(kafka: KafkaConfig) -> AsyncIterator[TestClient[Any, Any]]:
    producer = AsyncEventProducer(kafka)
    app = create_collector_app(producer=producer, tokens=TOKENS, pseudonyms=PSEUDONYMS)
    async with TestClient(TestServer(app)) as c:
        yield c
    await producer.close()


def _auth(viewer: str = "viewer-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.issue(viewer)}"}


async def test_a_batch_is_on_kafka_when_accepted(client: TestClient[Any, Any], kafka: KafkaConfig) -> None:
    session = f"s-{uuid.uuid4()}"
    before = datetime.now(UTC).replace(microsecond=0)
    sent = _events(session, "vid-1", n=4)

    response = await client.post("/v1/playback/events", json={"events": sent}, headers=_auth())

    assert response.status == 202
    assert await response.json() == {"accepted": 4}
    stored = _on_topic(kafka, session)  # 202 means acknowledged: no polling needed
    assert [e.event_id for e in stored] == [e["event_id"] for e in sent]  # one key, one partition, in order
    first = stored[0]
    assert first.kind is PlaybackKind.START
    assert first.user_pseudonym == PSEUDONYMS.user("viewer-1")
    assert first.ip_pseudonym == PSEUDONYMS.ip("127.0.0.1")
    assert first.received_at >= before
    assert first.occurred_at == PLAYED_AT


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "player token is required"),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid player token"),
        ({"Authorization": f"Bearer {TOKENS.issue('v', ttl_s=-3600)}"}, "expired"),
        (
            {"Authorization": f"Bearer {STRANGER.issue('v')}"},
            "signature",
        ),
    ],
)
async def test_a_bad_token_is_refused(
    client: TestClient[Any, Any], headers: dict[str, str], reason: str
) -> None:
    response = await client.post("/v1/playback/events", json=_events("s", "v"), headers=headers)

    assert response.status == 401
    assert reason in (await response.json())["error"]["message"].lower()
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_malformed_event_refuses_the_batch_with_the_reason(
    client: TestClient[Any, Any], kafka: KafkaConfig
) -> None:
    session = f"s-{uuid.uuid4()}"
    batch = _events(session, "vid-1")
    batch[1]["position_ms"] = -5

    response = await client.post("/v1/playback/events", json=batch, headers=_auth())

    assert response.status == 400
    message = (await response.json())["error"]["message"]
    assert "event #2" in message and "position_ms" in message
    assert _on_topic(kafka, session) == []  # nothing of the batch was written


async def test_a_body_that_is_not_json_is_a_400(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/playback/events", data=b"{nope", headers=_auth())
    assert response.status == 400
    assert "not JSON" in (await response.json())["error"]["message"]


async def test_a_websocket_streams_batches_and_survives_a_bad_one(
    client: TestClient[Any, Any], kafka: KafkaConfig
) -> None:
    session = f"s-{uuid.uuid4()}"
    good = _events(session, "vid-2", n=3)
    async with client.ws_connect(f"/v1/playback/ws?token={TOKENS.issue('viewer-1')}") as ws:
        await ws.send_json(good[:2])
        assert await ws.receive_json() == {"accepted": 2}
        await ws.send_str("[{]")
        assert (await ws.receive_json())["error"]["status"] == 400
        await ws.send_json(good[2:])
        assert await ws.receive_json() == {"accepted": 1}

    assert [e.event_id for e in _on_topic(kafka, session)] == [e["event_id"] for e in good]


async def test_a_websocket_without_a_token_is_refused(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/playback/ws")
    assert response.status == 401


async def test_when_kafka_cannot_keep_up_the_answer_is_429_with_retry_after(kafka: KafkaConfig) -> None:
    producer = AsyncEventProducer(kafka, max_queued_messages=5)
    app = create_collector_app(producer=producer, tokens=TOKENS, pseudonyms=PSEUDONYMS)
    async with TestClient(TestServer(app)) as client:
        response = await client.post(
            "/v1/playback/events", json=_events(f"s-{uuid.uuid4()}", "v", n=50), headers=_auth()
        )
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        assert "retry" in (await response.json())["error"]["message"]
    await producer.close()


async def test_another_viewers_session_is_refused_with_403(
    client: TestClient[Any, Any], kafka: KafkaConfig
) -> None:
    session = f"s-{uuid.uuid4()}"
    owner = _events(session, "vid-3", n=3)
    assert (await client.post("/v1/playback/events", json=owner[:2], headers=_auth("viewer-1"))).status == 202

    response = await client.post("/v1/playback/events", json=owner[2:], headers=_auth("viewer-2"))

    assert response.status == 403
    assert "belongs to another viewer" in (await response.json())["error"]["message"]
    assert [e.event_id for e in _on_topic(kafka, session)] == [e["event_id"] for e in owner[:2]]
    response = await client.post("/v1/playback/events", json=owner[2:], headers=_auth("viewer-1"))
    assert response.status == 202


async def test_240_new_sessions_in_one_post_are_refused_with_429_naming_the_bound(
    client: TestClient[Any, Any], kafka: KafkaConfig
) -> None:
    """The incident: one token, 240 sessions, each a start and a heartbeat 11 s later."""
    prefix = f"bot-{uuid.uuid4().hex[:6]}"
    batch = []
    for n in range(240):
        start, heartbeat = _events(f"{prefix}-{n}", "vid-4", n=2)
        heartbeat.update(kind="heartbeat", position_ms=11_000)
        heartbeat["occurred_at"] = (PLAYED_AT + timedelta(seconds=11)).isoformat()
        batch += [start, heartbeat]

    response = await client.post("/v1/playback/events", json=batch, headers=_auth("bot"))

    assert response.status == 429
    assert "at most 20 new sessions per viewer per minute" in (await response.json())["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert _on_topic(kafka, f"{prefix}-0") == []


async def test_healthz_says_ok_while_kafka_answers(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_a_batch_past_the_backfill_horizon_is_refused_with_400_and_counted(
    client: TestClient[Any, Any], kafka: KafkaConfig
) -> None:
    session = f"s-{uuid.uuid4()}"
    batch = _events(session, "vid-1", n=3)
    batch[2]["occurred_at"] = (datetime.now(UTC) - timedelta(days=8)).isoformat()  # the horizon: 7 days

    response = await client.post("/v1/playback/events", json=batch, headers=_auth())

    assert response.status == 400
    message = (await response.json())["error"]["message"]
    assert "event #3" in message and "past the backfill horizon" in message
    assert _on_topic(kafka, session) == []
    health = await (await client.get("/healthz")).json()
    assert health["refused"] == {"past_backfill_horizon_batches": 1, "past_backfill_horizon_events": 3}
    batch[2]["occurred_at"] = (datetime.now(UTC) - timedelta(days=6)).isoformat()  # within: a backfill
    assert (await client.post("/v1/playback/events", json=batch, headers=_auth())).status == 202
    assert len(_on_topic(kafka, session)) == 3


async def test_a_websocket_batch_for_another_viewers_session_is_refused_and_the_socket_goes_on(
    client: TestClient[Any, Any],
) -> None:
    session = f"s-{uuid.uuid4()}"
    mine, theirs = _events(session, "vid-5", n=2), _events(f"s-{uuid.uuid4()}", "vid-5", n=2)
    assert (await client.post("/v1/playback/events", json=mine, headers=_auth("viewer-1"))).status == 202
    async with client.ws_connect(f"/v1/playback/ws?token={TOKENS.issue('viewer-2')}") as ws:
        await ws.send_json(_events(session, "vid-5", n=2))
        assert (await ws.receive_json())["error"]["status"] == 403
        await ws.send_json(theirs)
        assert await ws.receive_json() == {"accepted": 2}
