"""Cross-origin access for browsers, for the HTTP services of the platform: the collector, the upload
service and (above them in the flow) the query API.

The web page is served by the query API; its player posts playback to the
collector and its upload page calls the upload service (and, with the local
blob store, PUTs parts to it), each on its own port, so each is another
origin; players on other sites read the API and its media. The allowed
origins come from one setting (``TUBESTREAM_CORS_ORIGINS``). The preflight
``OPTIONS`` is answered before routing; every other answer, errors and
prepared responses included, gets its ``Access-Control-Allow-Origin`` when it
is prepared, so a browser can read a 429's ``Retry-After`` or a part's ``ETag``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["CorsPolicy", "allow_cors"]

PREFLIGHT_MAX_AGE_S = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, kw_only=True)
class CorsPolicy:
    """``origins``: exact origins (``https://app.example``) or ``*`` for any."""

    origins: Collection[str]
    methods: str
    headers: str = "Content-Type, Authorization"
    exposed: str = "Retry-After"

    def allowed(self, origin: str | None) -> str | None:
        if origin is None:
            return None
        if "*" in self.origins:
            return "*"
        return origin if origin.rstrip("/") in self.origins else None


def allow_cors(app: web.Application, policy: CorsPolicy) -> None:
    """Answer preflights first (before any other middleware) and mark every answer for allowed origins."""
    app.middlewares.insert(0, _preflight(policy))

    async def mark(request: web.Request, response: web.StreamResponse) -> None:
        origin = policy.allowed(request.headers.get("Origin"))
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = policy.exposed
        if "*" not in policy.origins:
            response.headers["Vary"] = "Origin"

    app.on_response_prepare.append(mark)


def _preflight(policy: CorsPolicy) -> Middleware:
    @web.middleware
    async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return await handler(request)
        if policy.allowed(request.headers.get("Origin")) is None:
            body = {"error": {"status": 403, "message": "this origin may not call this service"}}
            return web.json_response(body, status=403)
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = policy.methods
        response.headers["Access-Control-Allow-Headers"] = policy.headers
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
        return response

    return preflight
