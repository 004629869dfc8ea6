"""The playback collector: players send events over HTTP or a WebSocket, Kafka gets ``playback-event``s.

An answer of 202 means the broker has every event of the batch (acks=all):
a player may drop its copy. When Kafka cannot keep up the collector answers
429 with Retry-After, and while Kafka is unreachable 503 with Retry-After,
at once rather than after librdkafka's retries; the player retries the same
batch, and events carry player-made ids, so a retry that overlaps what was
already written is deduplicated downstream. A batch for another viewer's
session is refused with 403, one past a rate bound with 429 naming it
(``guard``). Errors are JSON: ``{"error": {"status", "message"}}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from producers.collector.guard import SessionGuard
from producers.collector.intake import DEFAULT_BACKFILL_HORIZON, InvalidPlaybackError, parse_playback_batch
from producers.collector.openapi import openapi_document
from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import InvalidPlayerTokenError, PlayerTokens
from producers.cors import CorsPolicy, allow_cors
from producers.errors import PastBackfillHorizonError, PlaybackRateLimitError, SessionOwnedError
from producers.http_headers import plain_headers
from schemas.errors import InvalidEventError
from schemas.registry import PLAYBACK_EVENT
from schemas.wire_batch import encode_wire_batch
from topics.async_producer import AsyncEventProducer, ProducerBusyError
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.errors import BrokerUnavailableError, DeliveryError

__all__ = ["MAX_BODY_BYTES", "RETRY_AFTER_S", "UNAVAILABLE_RETRY_AFTER_S", "create_collector_app"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
RETRY_AFTER_S = 1  # Kafka's local queue is full: it drains in moments
UNAVAILABLE_RETRY_AFTER_S = 5  # Kafka is unreachable: an outage lasts seconds to minutes

PRODUCER = web.AppKey("producer", AsyncEventProducer)
TOKENS = web.AppKey("tokens", PlayerTokens)
PSEUDONYMS = web.AppKey("pseudonyms", Pseudonymizer)
GUARD = web.AppKey("guard", SessionGuard)
Clock = Callable[[], datetime]
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
BACKFILL_HORIZON = web.AppKey("backfill_horizon", timedelta)
REFUSALS = web.AppKey("refusals", dict[str, int])  # refused batches and events by reason, in /healthz


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "message": self.message}}


def create_collector_app(
    *,
    producer: AsyncEventProducer,
    tokens: PlayerTokens,
    pseudonyms: Pseudonymizer,
    guard: SessionGuard | None = None,
    clock: Clock = lambda: datetime.now(UTC),
    cors_origins: Collection[str] = ("*",),
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> web.Application:
    """``cors_origins``: the browser origins (the web app's) whose players may post here."""
    app = web.Application(middlewares=[_json_errors], client_max_size=MAX_BODY_BYTES)
    app[PRODUCER], app[TOKENS], app[PSEUDONYMS], app[CLOCK] = producer, tokens, pseudonyms, clock
    app[BACKFILL_HORIZON] = backfill_horizon
    app[REFUSALS] = {"past_backfill_horizon_batches": 0, "past_backfill_horizon_events": 0}
    app[GUARD] = guard or SessionGuard()
    app.router.add_post("/v1/playback/events", post_events)
    app.router.add_get("/v1/playback/ws", stream_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi)
    app.on_response_prepare.append(plain_headers)
    allow_cors(app, CorsPolicy(origins=cors_origins, methods="GET, POST, OPTIONS"))
    return app


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


async def post_events(request: web.Request) -> web.Response:
    viewer = _viewer(request, request.headers.get("Authorization"))
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise _Refused(400, f"the body is not JSON: {exc}") from exc
    accepted = await _accept(request, body, viewer)
    return web.json_response({"accepted": accepted}, status=202)


async def stream_events(request: web.Request) -> web.WebSocketResponse:
    """One JSON batch per text message; each gets an answer in order: accepted count or an error."""
    header = request.headers.get("Authorization")
    viewer = _viewer(
        request, header or (f"Bearer {request.query['token']}" if "token" in request.query else None)
    )
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_BODY_BYTES)
    await ws.prepare(request)
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            if message.type == WSMsgType.BINARY:
                await ws.send_json(_Refused(400, "send JSON text messages").body())
            continue
        try:
            body = orjson.loads(message.data)
            accepted = await _accept(request, body, viewer)
        except orjson.JSONDecodeError as exc:
            await ws.send_json(_Refused(400, f"the message is not JSON: {exc}").body())
        except _Refused as refused:
            answer = refused.body()
            if "Retry-After" in refused.headers:
                answer["error"]["retry_after_s"] = int(refused.headers["Retry-After"])
            await ws.send_json(answer)
        else:
            await ws.send_json({"accepted": accepted})
    return ws


async def healthz(request: web.Request) -> web.Response:
    """200 while Kafka answers, 503 with the reason while it does not (the collector refuses batches)."""
    producer = request.app[PRODUCER]
    reachability = producer.reachability()
    if not reachability.reachable:
        since = datetime.fromtimestamp(reachability.since, UTC).isoformat()
        body = {"status": "unavailable", "reason": reachability.reason, "since": since}
        return web.json_response(
            body | {"queued": producer.queued(), "refused": request.app[REFUSALS]}, status=503
        )
    return web.json_response({"status": "ok", "queued": producer.queued(), "refused": request.app[REFUSALS]})


def _refuse_while_unreachable(producer: AsyncEventProducer) -> None:
    reachability = producer.reachability()
    if not reachability.reachable:
        raise _Refused(503, f"{reachability.reason}; retry the batch later", _unavailable())


def _unavailable() -> dict[str, str]:
    return {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}


def _viewer(request: web.Request, authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise _Refused(401, "a player token is required: Authorization: Bearer <token>", _challenge())
    try:
        return request.app[TOKENS].verify(authorization.removeprefix("Bearer ").strip()).viewer_id
    except InvalidPlayerTokenError as exc:
        raise _Refused(401, str(exc), _challenge()) from exc


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="tubestream-player"'}


async def _accept(request: web.Request, body: Any, viewer: str) -> int:
    app = request.app
    _refuse_while_unreachable(app[PRODUCER])
    try:
        events = parse_playback_batch(
            body,
            viewer_id=viewer,
            client_ip=request.remote or "",
            pseudonyms=app[PSEUDONYMS],
            received_at=app[CLOCK](),
            backfill_horizon=app[BACKFILL_HORIZON],
        )
    except PastBackfillHorizonError as exc:  # counted: nothing past the horizon disappears unseen
        refusals = app[REFUSALS]
        refusals["past_backfill_horizon_batches"] += 1
        refusals["past_backfill_horizon_events"] += _batch_length(body)
        log.warning("playback batch refused: %s", exc)
        raise _Refused(400, str(exc)) from exc
    except InvalidPlaybackError as exc:
        raise _Refused(400, str(exc)) from exc
    guard = app[GUARD]
    try:
        admission = guard.admit(events[0]["user_pseudonym"], events, events[0]["received_at"])
    except SessionOwnedError as exc:
        raise _Refused(403, str(exc)) from exc
    except PlaybackRateLimitError as exc:
        raise _Refused(429, str(exc), {"Retry-After": str(exc.retry_after_s)}) from exc
    try:
        await _produce(app[PRODUCER], events)
    except _Refused:
        guard.give_back(admission)  # the player retries the batch: it should not pay twice
        raise
    return len(events)


def _batch_length(body: Any) -> int:
    items = body.get("events") if isinstance(body, dict) and "events" in body else body
    return len(items) if isinstance(items, list) else 1


async def _produce(producer: AsyncEventProducer, events: list[dict[str, Any]]) -> None:
    try:
        values = encode_wire_batch(PLAYBACK_EVENT, events)
        messages = [(e["session_id"].encode(), value) for e, value in zip(events, values, strict=True)]
        delivered = producer.send_batch(PLAYBACK_EVENT_TOPIC, messages)
    except InvalidEventError as exc:  # the intake's checks should make this impossible
        raise _Refused(400, str(exc)) from exc
    except BrokerUnavailableError as exc:
        raise _Refused(503, f"{exc}; retry the batch later", _unavailable()) from exc
    except ProducerBusyError as exc:
        if exc.sent is not None:
            await asyncio.gather(exc.sent, return_exceptions=True)  # what was queued still goes out
        raise _Refused(429, f"{exc}; retry the batch", {"Retry-After": str(RETRY_AFTER_S)}) from exc
    try:
        await delivered
    except BrokerUnavailableError as exc:  # found unreachable while waiting: what is queued stays queued
        raise _Refused(503, f"{exc}; retry it later", _unavailable()) from exc
    except DeliveryError as exc:
        log.error("playback delivery failed: %s", exc)
        raise _Refused(503, f"Kafka did not acknowledge the batch ({exc}); retry it", _unavailable()) from exc


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _Refused as refused:
        return web.json_response(refused.body(), status=refused.status, headers=refused.headers)
    except web.HTTPRequestEntityTooLarge:
        message = f"the body is larger than {MAX_BODY_BYTES} bytes; send smaller batches"
        return web.json_response(_Refused(413, message).body(), status=413)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return web.json_response(
            _Refused(exc.status, f"{exc.reason}: {request.method} {request.path}").body(), status=exc.status
        )
    except DeliveryError as exc:
        return web.json_response(_Refused(503, str(exc)).body(), status=503, headers=_unavailable())
