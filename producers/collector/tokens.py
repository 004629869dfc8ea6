"""Player tokens: short-lived HS256 JWTs that the web app hands to its player.

The collector only accepts playback from a token it can verify, so nobody
can inflate a video's views with a script that knows the URL. The token's
``sub`` is the viewer (a user id, or an anonymous device id); it is
pseudonymized before anything reaches Kafka. Every per-viewer bound of the
collector counts by ``sub``, so a token must name someone (no empty
``sub``) and must not outlive ``MAX_LIFETIME_S``: a leaked token is worth
a day at most.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from producers.errors import InvalidPlayerTokenError

__all__ = ["MAX_LIFETIME_S", "PLAYER_AUDIENCE", "InvalidPlayerTokenError", "PlayerClaims", "PlayerTokens"]

PLAYER_AUDIENCE = "tubestream-player"
ALGORITHM = "HS256"
MAX_LIFETIME_S = 24 * 3600  # from now to exp; the issuer's default is 6 h


@dataclass(frozen=True)
class PlayerClaims:
    viewer_id: str
    expires_at: int


class PlayerTokens:
    def __init__(self, secret: str, *, leeway_s: float = 30.0) -> None:
        if len(secret.encode()) < 32:  # RFC 7518 3.2: an HS256 key has at least 256 bits
            raise ValueError("the player token secret must be at least 32 bytes")
        self._secret = secret
        self._leeway_s = leeway_s

    def issue(self, viewer_id: str, *, ttl_s: int = 6 * 3600, now: float | None = None) -> str:
        if not viewer_id.strip():
            raise ValueError("a player token names its viewer: viewer_id is empty")
        if ttl_s > MAX_LIFETIME_S:
            raise ValueError(f"a player token lives at most {MAX_LIFETIME_S} s, asked for {ttl_s}")
        issued = int(time.time() if now is None else now)
        claims = {"sub": viewer_id, "aud": PLAYER_AUDIENCE, "iat": issued, "exp": issued + ttl_s}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, *, now: float | None = None) -> PlayerClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=PLAYER_AUDIENCE,
                leeway=self._leeway_s,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidPlayerTokenError("the player token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidPlayerTokenError(f"invalid player token: {exc}") from exc
        subject, expires = claims["sub"], claims["exp"]
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidPlayerTokenError("invalid player token: its sub (the viewer) is empty")
        lifetime = expires - (time.time() if now is None else now)
        if lifetime > MAX_LIFETIME_S + self._leeway_s:
            raise InvalidPlayerTokenError(
                f"invalid player token: it expires in {lifetime / 3600:.0f} h, "
                f"more than the {MAX_LIFETIME_S // 3600} h a player token may live"
            )
        return PlayerClaims(viewer_id=subject, expires_at=int(expires))
