"""Player tokens: short-lived HS256 JWTs that the web app hands to its player.

The collector only accepts playback from a token it can verify, so nobody
can inflate a video's views with a script that knows the URL. The token's
``sub`` is the viewer (a user id, or an anonymous device id); it is
pseudonymized before anything reaches Kafka.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from producers.errors import InvalidPlayerTokenError

__all__ = ["PLAYER_AUDIENCE", "InvalidPlayerTokenError", "PlayerClaims", "PlayerTokens"]

PLAYER_AUDIENCE = "tubestream-player"
ALGORITHM = "HS256"


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
        issued = int(time.time() if now is None else now)
        claims = {"sub": viewer_id, "aud": PLAYER_AUDIENCE, "iat": issued, "exp": issued + ttl_s}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> PlayerClaims:
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
        return PlayerClaims(viewer_id=str(claims["sub"]), expires_at=int(claims["exp"]))
