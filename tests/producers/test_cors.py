"""CORS for the write side's services: preflights answered, every answer marked for allowed origins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from producers.cors import CorsPolicy, allow_cors

PAGE = "http://127.0.0.1:8080"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _app(origins: tuple[str, ...]) -> web.Application:
    async def busy(request: web.Request) -> web.Response:
        return web.json_response({"error": "busy"}, status=429, headers={"Retry-After": "2"})

    async def part(request: web.Request) -> web.Response:
        return web.Response(headers={"ETag": '"abc"'})

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return web.json_response({"error": "no route"}, status=404)

    app = web.Application(middlewares=[errors])
    app.router.add_post("/events", busy)
    app.router.add_put("/part", part)
    allow_cors(app, CorsPolicy(origins=origins, methods="POST, PUT, OPTIONS", exposed="ETag, Retry-After"))
    return app


async def test_a_preflight_from_an_allowed_origin_is_answered_before_routing() -> None:
    async with TestClient(TestServer(_app((PAGE,)))) as client:
        ask = {
            "Origin": PAGE,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization",
        }
        response = await client.options("/part", headers=ask)
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == PAGE
        assert response.headers["Access-Control-Allow-Methods"] == "POST, PUT, OPTIONS"
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert response.headers["Vary"] == "Origin"
        other = await client.options("/part", headers=ask | {"Origin": "https://evil.example"})
        assert other.status == 403 and "Access-Control-Allow-Origin" not in other.headers


async def test_errors_and_parts_carry_what_the_page_must_read() -> None:
    async with TestClient(TestServer(_app(("*",)))) as client:
        busy = await client.post("/events", headers={"Origin": PAGE})
        assert busy.status == 429
        assert busy.headers["Access-Control-Allow-Origin"] == "*"
        assert "Retry-After" in busy.headers["Access-Control-Expose-Headers"]
        part = await client.put("/part", headers={"Origin": PAGE})
        assert "ETag" in part.headers["Access-Control-Expose-Headers"]
        missing = await client.get("/nowhere", headers={"Origin": PAGE})
        assert missing.status == 404 and missing.headers["Access-Control-Allow-Origin"] == "*"
        same_origin = await client.post("/events")
        assert "Access-Control-Allow-Origin" not in same_origin.headers
