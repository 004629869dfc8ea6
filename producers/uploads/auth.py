"""Who may upload: a bearer JWT from the platform's identity service, verified here.

HS256 with a shared secret (one machine) or RS256 with the identity
service's public key (beyond it); the uploader id is the token's ``sub``.
"""

from __future__ import annotations

import time

import jwt

from producers.errors import InvalidUploaderTokenError

__all__ = ["MAX_LIFETIME_S", "UPLOAD_AUDIENCE", "InvalidUploaderTokenError", "UploaderAuth"]

UPLOAD_AUDIENCE = "tubestream-upload"
MAX_LIFETIME_S = 7 * 24 * 3600  # a token expiring later than this from now was made to be stolen


class UploaderAuth:
    def __init__(self, *, hs256_secret: str | None = None, rs256_public_key: str | None = None) -> None:
        if bool(hs256_secret) == bool(rs256_public_key):
            raise ValueError("configure exactly one of an HS256 secret or an RS256 public key")
        if hs256_secret is not None and len(hs256_secret.encode()) < 32:
            raise ValueError("the HS256 upload secret must be at least 32 bytes")
        self._key = hs256_secret or rs256_public_key or ""
        self._algorithm = "HS256" if hs256_secret else "RS256"

    def verify(self, token: str) -> str:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=UPLOAD_AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidUploaderTokenError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidUploaderTokenError(f"invalid token: {exc}") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise InvalidUploaderTokenError("invalid token: its sub (the uploader) is empty")
        if not isinstance(claims["exp"], int) or claims["exp"] > time.time() + MAX_LIFETIME_S:
            raise InvalidUploaderTokenError(
                f"invalid token: it expires more than {MAX_LIFETIME_S // 86_400} days from now"
            )
        return subject

    def issue(self, uploader_id: str, *, ttl_s: int = 24 * 3600, now: float | None = None) -> str:
        """For the embedded setup and tests (HS256 only: the private RS256 key is not ours)."""
        if not uploader_id.strip() or ttl_s > MAX_LIFETIME_S:
            raise ValueError(
                f"an uploader token names someone and lasts at most {MAX_LIFETIME_S // 86_400} days"
            )
        if self._algorithm != "HS256":
            raise ValueError("tokens are issued by the identity service when RS256 is configured")
        issued = int(time.time() if now is None else now)
        claims = {"sub": uploader_id, "aud": UPLOAD_AUDIENCE, "iat": issued, "exp": issued + ttl_s}
        return jwt.encode(claims, self._key, algorithm="HS256")
