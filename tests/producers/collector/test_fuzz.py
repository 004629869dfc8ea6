"""The collector attacked from its own OpenAPI document and with the reviewer's inputs: no 5xx, every
refusal the JSON error body, and a WebSocket that answers a bad batch instead of dropping."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from producers.collector.openapi import openapi_document
from producers.collector.tokens import PlayerTokens
from topics.config import KafkaConfig

from harness import Platform, free_port, http_json

pytestmark = pytest.mark.kafka

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture(scope="module")
def collector(kafka: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("fuzz-collector")
    platform = Platform(
        kafka=kafka, home=home, catalog_url=f"sqlite:///{home / 'c.db'}", api_port=free_port()
    )
    platform.extra_env["TUBESTREAM_PLAYER_TOKEN_SECRET"] = SECRET
    platform.start("collector", "collector")
    url = f"http://127.0.0.1:{platform.collector_port}"
    try:
        platform.wait_for(lambda: http_json(f"{url}/healthz")[0] == 200, what="the collector")
        yield url
    finally:
        platform.stop()


def _token() -> str:
    return PlayerTokens(SECRET).issue(f"viewer-{uuid.uuid4().hex[:8]}")


def _json_error_body(ctx: Any, response: Any, case: Any) -> bool:
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert body["error"]["status"] == response.status_code and body["error"]["message"], body
    return True


def test_the_document_names_every_route(collector: str) -> None:
    with urllib.request.urlopen(f"{collector}/openapi.json", timeout=10) as response:
        served = json.loads(response.read())
    assert served == openapi_document()
    assert set(served["paths"]) == {"/v1/playback/events", "/v1/playback/ws", "/healthz", "/openapi.json"}
    assert response.headers["Server"] == "tubestream"  # no aiohttp or Python version
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@schema.include(path="/v1/playback/events").parametrize()
@FUZZ
def test_generated_batches_never_get_a_server_error(collector: str, case: Any) -> None:
    case.call_and_validate(
        base_url=collector,
        headers={"Authorization": f"Bearer {_token()}"},
        checks=[not_a_server_error, _json_error_body],
    )


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "session_id": f"s-{uuid.uuid4().hex[:8]}",
        "video_id": "v1",
        "kind": "start",
        "position_ms": 0,
        "occurred_at": "2026-12-01T12:00:00Z",
        **overrides,
    }


HOSTILE: list[dict[str, Any]] = [
    {"occurred_at": 10**15},
    {"occurred_at": "9999-12-31T23:59:59-14:00"},
    {"occurred_at": "0001-01-01T00:00:00+23:59"},
    {"occurred_at": 10**400},
    {"position_ms": 2**63 - 1},
    {"duration_ms": -1},
    {"session_id": "\ud800"},
    {"video_id": "x" * 5000},
    {"kind": "\u017ftart"},
]


@pytest.mark.parametrize("overrides", HOSTILE, ids=[str(next(iter(h.items())))[:40] for h in HOSTILE])
def test_extreme_values_are_a_400_over_http(collector: str, overrides: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{collector}/v1/playback/events",
        data=json.dumps([_event(**overrides)]).encode("utf-8", "surrogatepass"),
        headers={"Authorization": f"Bearer {_token()}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read())
        exc.close()
        assert exc.code == 400 and body["error"]["status"] == 400, body
    else:
        raise AssertionError(f"accepted {overrides}")


def test_deep_nesting_and_huge_numbers_are_a_400(collector: str) -> None:
    for raw in (b"[" * 100_000 + b"]" * 100_000, b"[" + b"9" * 5000 + b"]"):
        request = urllib.request.Request(
            f"{collector}/v1/playback/events",
            data=raw,
            headers={"Authorization": f"Bearer {_token()}"},
            method="POST",
        )
        try:
            urllib.request.urlopen(request, timeout=10).close()
        except urllib.error.HTTPError as exc:
            exc.close()
            assert exc.code in (400, 413)
        else:
            raise AssertionError("accepted")


def test_the_websocket_answers_extreme_values_and_stays_open(collector: str) -> None:
    async def run() -> list[dict[str, Any]]:
        answers = []
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{collector.replace('http', 'ws')}/v1/playback/ws?token={_token()}") as ws,
        ):
            for overrides in HOSTILE[:4]:
                await ws.send_str(json.dumps([_event(**overrides)]))
                answers.append(await ws.receive_json(timeout=10))
            await ws.send_str(json.dumps([_event()]))
            answers.append(await ws.receive_json(timeout=10))
        return answers

    *refused, accepted = asyncio.run(run())
    assert all(a["error"]["status"] == 400 for a in refused), refused
    assert accepted == {"accepted": 1}
