"""Answers as JSON bytes, encoded once per version of what they are made from.

Building a video's resource and encoding it cost more than reading its row.
Each answer is kept with the data it was made from (the ``VideoRecord``, the
stats route's minute rows): a request reads the store as before and reuses
the bytes only while what it read is equal to what they were made from. No
event, version field or expiry has to reach the cache, and a changed row is
never answered from memory, whichever writer changed it. Memory is bounded:
the oldest entry goes when a memo is full.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import orjson
from aiohttp import web

from query_api.resources import video_resource
from query_api.signing import MediaSigner
from views.catalog import VideoRecord, Visibility

__all__ = ["EncodedVideos", "Memo", "dumps", "json_answer"]

K = TypeVar("K", bound=Hashable)

DEFAULT_ENTRIES = 4096


def dumps(value: Any) -> bytes:
    """JSON bytes by orjson (several times faster than ``json``), by ``json`` where orjson refuses.

    orjson refuses a lone surrogate (``json`` writes it escaped) and an integer past 64 bits.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value).encode()


def json_answer(body: bytes, *, status: int = 200) -> web.Response:
    """An encoded JSON body, with the content type ``web.json_response`` gives."""
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


class Memo(Generic[K]):
    """Encoded answers by key, each good while the data it was made from is unchanged."""

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        self._entries = entries
        self._known: dict[K, tuple[object, bytes]] = {}

    def get(self, key: K, source: object) -> bytes | None:
        """The bytes kept for ``key`` if they were made from data equal to ``source``."""
        known = self._known.get(key)
        if known is None or not (known[0] is source or known[0] == source):
            return None
        return known[1]

    def put(self, key: K, source: object, body: bytes) -> bytes:
        if len(self._known) >= self._entries and key not in self._known:
            with contextlib.suppress(StopIteration, KeyError):
                del self._known[next(iter(self._known))]  # the oldest entry
        self._known[key] = (source, body)
        return body


class EncodedVideos:
    """Each video's resource as JSON bytes, for one media base URL.

    An unlisted or private video's URLs are signed (``query_api.signing``): its
    bytes are kept with the signed base they were made with, which changes once
    per rounding of the expiry, so they are encoded again that often and no more.
    """

    def __init__(
        self, *, media_base_url: str, signer: MediaSigner | None = None, entries: int = DEFAULT_ENTRIES
    ) -> None:
        """``signer``: none, a secret of this instance alone (its URLs open nothing elsewhere)."""
        self._base = media_base_url
        self._signer = signer or MediaSigner(secret=secrets.token_bytes(32))
        self._memo: Memo[str] = Memo(entries)

    def media_base(self, video: VideoRecord, *, now: float | None = None) -> str:
        """The plain media base for a public video, the signed one for any other."""
        if video.visibility is Visibility.PUBLIC:
            return self._base
        signed = self._signer.prefix(video.video_id, now=time.time() if now is None else now)
        return self._base.rstrip("/") + "/" + signed

    def __call__(self, video: VideoRecord, *, now: float | None = None) -> bytes:
        at = time.time() if now is None else now
        # a public video's bytes depend on its row alone; a signed one's on the expiry too, so the
        # signature is computed only when the bytes are made again
        source: object = video if video.visibility is Visibility.PUBLIC else (video, self._signer.expiry(at))
        body = self._memo.get(video.video_id, source)
        if body is None:
            base = self.media_base(video, now=at)
            body = self._memo.put(video.video_id, source, dumps(video_resource(video, media_base_url=base)))
        return body
