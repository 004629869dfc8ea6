"""Headers every answer of the write side's HTTP services carries: no server version for a scanner to
match against known flaws, and no content sniffing of what players and uploaders are sent."""

from __future__ import annotations

from aiohttp import web

__all__ = ["SERVER_NAME", "plain_headers"]

SERVER_NAME = "tubestream"


async def plain_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: errors, WebSocket upgrades and files included."""
    response.headers["Server"] = SERVER_NAME
    response.headers["X-Content-Type-Options"] = "nosniff"
