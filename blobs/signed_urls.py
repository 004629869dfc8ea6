"""HMAC-signed, expiring URLs for the local blob store: S3's pre-signing, for our own endpoints. Pure.

The signature covers the method, the path and every query parameter but the
signature itself, so changing any of them (another part number, a later
expiry) makes the URL invalid; an expired URL is refused even when intact.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from blobs.errors import BlobError

__all__ = ["ExpiredUrlError", "TamperedUrlError", "UrlSigner"]


class TamperedUrlError(BlobError):
    """A signature that does not match: the URL was not made by us, or was changed."""


class ExpiredUrlError(BlobError):
    """A genuine URL past its expiry."""


class UrlSigner:
    def __init__(self, secret: bytes, base_url: str) -> None:
        if len(secret) < 32:
            raise ValueError("the URL signing secret must be at least 32 bytes")
        self._secret = secret
        self.base_url = base_url.rstrip("/")

    def sign(
        self, method: str, path: str, params: Mapping[str, str], *, expires_s: int, now: float | None = None
    ) -> str:
        expires = int((time.time() if now is None else now) + expires_s)
        query = {**params, "expires": str(expires)}
        query["signature"] = self._mac(method, path, query)
        return f"{self.base_url}{path}?{urlencode(sorted(query.items()))}"

    def verify(self, method: str, path: str, query: Mapping[str, str], *, now: float | None = None) -> None:
        given = query.get("signature", "")
        unsigned = {k: v for k, v in query.items() if k != "signature"}
        # bytes: compare_digest refuses a str with non-ASCII characters (a TypeError, not a mismatch)
        expected = self._mac(method, path, unsigned).encode()
        if not given or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected):
            raise TamperedUrlError("the URL's signature does not match: it was changed or not signed by us")
        expires = unsigned.get("expires", "")
        # ASCII digits only: "²".isdigit() is true and int("²") raises
        if not (expires.isascii() and expires.isdigit()) or int(expires) < (
            time.time() if now is None else now
        ):
            raise ExpiredUrlError("the URL has expired: ask for a new one")

    def _mac(self, method: str, path: str, query: Mapping[str, str]) -> str:
        canonical = "\n".join([method.upper(), path, urlencode(sorted(query.items()))])
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()
