"""Errors the API answers with, and the middleware that turns every failure into a JSON body.

    ApiError                 an answer with a status and a message for the client
    ├── BadRequestError      400: a parameter is wrong; the message says which and why
    ├── ForbiddenError       403: a signed media URL that is expired, forged or for another video
    └── NotFoundError        404: no such resource (or one the viewer may not know of)

aiohttp's own HTTP errors (unknown route, wrong method), a store that
cannot serve (503, with ``Retry-After``: a locked or missing database may
pass) and unexpected exceptions (500, logged, no details leaked) get the same
``{"error": {"status", "message"}}`` shape, so a client parses one format.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from views.errors import StoreUnavailableError

__all__ = ["ApiError", "BadRequestError", "ForbiddenError", "NotFoundError", "error_response", "json_errors"]

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5


class ApiError(Exception):
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(ApiError):
    status = 400


class ForbiddenError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


def error_response(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """The one error body every route answers with."""
    return web.json_response(
        {"error": {"status": status, "message": message}}, status=status, headers=headers
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message)
    except StoreUnavailableError as exc:
        log.warning("store unavailable on %s %s: %s", request.method, request.path, exc)
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        return error_response(503, "a store behind the API is unavailable; retry later", headers=retry)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
        if exc.status == 404:
            message = f"no route for {request.method} {request.path}"
        elif exc.status == 405:
            allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
            message = f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(exc.status, message, headers=headers)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal error; the server log has the details")
