"""Cross-origin access for browsers: the JSON API and media, for the origins the settings allow.

Players on another origin (a CDN's page, a partner's site) fetch manifests and
segments with ``Range`` and ``If-None-Match``; the browser first asks with a
preflight ``OPTIONS``, which is answered here for every route, before routing
would call it a 405.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["ALLOWED_HEADERS", "cors_middleware"]

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = "Range, If-None-Match, If-Modified-Since, Content-Type, Authorization"
EXPOSED_HEADERS = "Content-Length, Content-Range, Accept-Ranges, ETag, Retry-After"
PREFLIGHT_MAX_AGE_S = 600

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def cors_middleware(origins: Collection[str]) -> Middleware:
    """``origins``: exact origins (``https://app.example``), or ``*`` for any."""
    any_origin = "*" in origins

    def allowed(origin: str | None) -> str | None:
        if origin is None:
            return None
        return "*" if any_origin else origin if origin in origins else None

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = allowed(request.headers.get("Origin"))
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if origin is None:
                raise web.HTTPForbidden(text="this origin may not call this API")
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
        else:
            response = await handler(request)
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if not any_origin:
            response.headers["Vary"] = "Origin"
        return response

    return cors
