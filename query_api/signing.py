"""Signed media URLs for unlisted and private videos: an HMAC over (video, expiry), in the path. Pure.

A signed URL reads ``{media base}s/{expires}/{signature}/videos/{video}/...``:
the signature sits in the path, not the query, so every relative URL inside a
manifest (renditions, segments, storyboard sprites) resolves under the same
prefix and carries it, through a CDN too. It covers every file under
``videos/{video}/`` and nothing else: the video id is what is signed, and
a key is checked to name exactly one folder of that video before it is
served (no ``..``, no empty or dot segment, no backslash or percent sign that
a store might read as another separator).

Expiries are rounded up to ``granularity_s``: the URLs of a video's resource
stay the same for that long, so the encoded resource, players' and the CDN's
caches keep working between two roundings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from dataclasses import dataclass

__all__ = [
    "DEFAULT_GRANULARITY_S",
    "DEFAULT_TTL_S",
    "MIN_SECRET_BYTES",
    "SIGNED_PREFIX",
    "MediaSigner",
    "SignatureError",
    "video_of_key",
]

SIGNED_PREFIX = "s/"
DEFAULT_TTL_S = 6 * 3600
DEFAULT_GRANULARITY_S = 600
MIN_SECRET_BYTES = 32
_PUBLISHED = "videos"
_FORBIDDEN_IN_SEGMENTS = ("\\", "%", "\x00")


class SignatureError(Exception):
    """The signature of a media URL is expired, forged, or made for another video."""


def video_of_key(key: str) -> str:
    """The video whose published folder ``key`` is in; ``ValueError`` for any key that could leave it."""
    segments = key.split("/")
    if len(segments) < 3 or segments[0] != _PUBLISHED:
        raise ValueError(f"{key!r} is not a published video's file")
    for segment in segments:
        if segment in ("", ".", "..") or any(c in segment for c in _FORBIDDEN_IN_SEGMENTS):
            raise ValueError(f"{key!r} has a segment that could leave its video's folder")
    return segments[1]


@dataclass(frozen=True, kw_only=True)
class MediaSigner:
    """Signs and checks one deployment's media URLs with its secret."""

    secret: bytes
    ttl_s: int = DEFAULT_TTL_S
    granularity_s: int = DEFAULT_GRANULARITY_S

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the media signing secret must be at least {MIN_SECRET_BYTES} bytes")
        if self.ttl_s < 60 or self.granularity_s < 1:
            raise ValueError("signed media URLs last at least a minute, rounded to at least a second")

    def expiry(self, now: float) -> int:
        """When a URL signed at ``now`` expires: at least ``ttl_s`` ahead, rounded up."""
        return math.ceil((now + self.ttl_s) / self.granularity_s) * self.granularity_s

    def signature(self, video_id: str, expires: int) -> str:
        message = f"{video_id}\n{expires}".encode()
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def prefix(self, video_id: str, *, now: float) -> str:
        """``s/{expires}/{signature}/``: put between the media base and a key of ``video_id``."""
        expires = self.expiry(now)
        return f"{SIGNED_PREFIX}{expires}/{self.signature(video_id, expires)}/"

    def verify(self, *, expires: str, signature: str, key: str, now: float) -> str:
        """The video of ``key`` if the signature opens it at ``now``.

        ``ValueError``: the key could leave its video's folder; ``SignatureError``: the signature is
        malformed, expired, or not this deployment's for this video.
        """
        video_id = video_of_key(key)
        if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
            raise SignatureError("the signed URL's expiry is not a time")
        if int(expires) <= now:
            raise SignatureError("the signed URL has expired; fetch the video again for a fresh one")
        if int(expires) > now + self.ttl_s + self.granularity_s:  # not one of ours, however well signed
            raise SignatureError("the signed URL's expiry is further away than this deployment signs")
        expected = self.signature(video_id, int(expires))
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise SignatureError("the signed URL's signature does not match this video")
        return video_id
