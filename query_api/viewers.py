"""Who is asking: the viewer named by an ``Authorization: Bearer`` token, for private videos' rules.

The API takes the tokens the platform already hands out rather than a new
kind: a page's player token (the collector's, ``aud`` tubestream-player) or
an uploader's token (the upload service's, ``aud`` tubestream-upload). Both
name a person in ``sub``, and a private video is its uploader's, so either
opens it to the one who uploaded it. No token is an anonymous viewer; a token
that is present but invalid is a 401 (a client that meant to sign in hears
why), never silently anonymous.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web

from query_api.errors import ApiError
from views.catalog import VideoRecord, Visibility

__all__ = ["VIEWER_AUTH", "UnauthorizedError", "ViewerAuth", "may_see", "viewer_of"]

Verifier = Callable[[str], str]  # a token → the person it names; raises on any token it does not accept


class UnauthorizedError(ApiError):
    status = 401


class ViewerAuth:
    """Accepts a token any of ``verifiers`` accepts."""

    def __init__(self, verifiers: Sequence[Verifier]) -> None:
        self._verifiers = tuple(verifiers)

    def viewer(self, token: str) -> str:
        reasons = []
        for verify in self._verifiers:
            try:
                return verify(token)
            except Exception as exc:  # each verifier has its own error type; any refusal is a refusal
                reasons.append(str(exc))
        raise UnauthorizedError(
            "the bearer token is not valid here: " + ("; ".join(reasons) or "no verifier")
        )


VIEWER_AUTH = web.AppKey("viewer_auth", ViewerAuth)


def viewer_of(request: web.Request) -> str | None:
    """The viewer the request's bearer token names; ``None`` when it carries none."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("Authorization must be 'Bearer <token>'")
    auth = request.app.get(VIEWER_AUTH)
    if auth is None:
        raise UnauthorizedError("this API is not configured to accept tokens")
    return auth.viewer(token.strip())


def may_see(request: web.Request, video: VideoRecord) -> bool:
    """Public and unlisted videos: anyone with the id; private ones: their uploader only.

    The token is read only for a private video, so a public read costs nothing more.
    """
    if video.visibility is not Visibility.PRIVATE:
        return True
    return bool(video.uploader_id) and viewer_of(request) == video.uploader_id
