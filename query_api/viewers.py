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

from aiohttp import web

from producers.collector.tokens import PlayerTokens
from producers.errors import InvalidPlayerTokenError, InvalidUploaderTokenError
from producers.uploads.auth import UploaderAuth
from query_api.errors import ApiError
from views.catalog import VideoRecord, Visibility

__all__ = ["VIEWER_AUTH", "UnauthorizedError", "ViewerAuth", "may_see", "viewer_of"]


class UnauthorizedError(ApiError):
    status = 401


class ViewerAuth:
    """Accepts a player token or an uploader token (either may be left out); the viewer is its ``sub``."""

    def __init__(self, *, player_tokens: PlayerTokens | None, uploader_auth: UploaderAuth | None) -> None:
        self._player_tokens = player_tokens
        self._uploader_auth = uploader_auth

    def viewer(self, token: str) -> str:
        reasons = []
        if self._player_tokens is not None:
            try:
                return self._player_tokens.verify(token).viewer_id
            except InvalidPlayerTokenError as exc:
                reasons.append(f"as a player token: {exc}")
        if self._uploader_auth is not None:
            try:
                return self._uploader_auth.verify(token)
            except InvalidUploaderTokenError as exc:
                reasons.append(f"as an upload token: {exc}")
        why = "; ".join(reasons) or "no tokens are accepted"
        raise UnauthorizedError(f"the bearer token is not valid here ({why})")


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
