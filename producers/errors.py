"""Errors of the write side's services and clients.

    ProducerError
    ├── UploadError                the upload service or storage refused (the client's view)
    ├── InvalidUploaderTokenError  uploader token missing, expired, tampered, other audience: 401
    ├── InvalidTicketError         a part URL of the local store that is not ours or has expired
    ├── InvalidPlayerTokenError    player token missing, expired, tampered, other audience: 401
    ├── InvalidPlaybackError       a playback batch that cannot be accepted: 400 (also a ValueError)
    │   └── PastBackfillHorizonError   an event older than the analytics would count: 400, counted
    ├── SessionOwnedError          a playback event for another viewer's session: 403
    └── PlaybackRateLimitError     a playback batch past a rate bound: 429 with Retry-After

Kafka's delivery errors stay the log's (``topics.errors``); storage errors stay
``blobs.errors``: each is translated into an HTTP answer at the service's edge.
"""

from __future__ import annotations

__all__ = [
    "InvalidMetadataError",
    "InvalidPlaybackError",
    "InvalidPlayerTokenError",
    "InvalidTicketError",
    "InvalidUploaderTokenError",
    "PastBackfillHorizonError",
    "PlaybackRateLimitError",
    "ProducerError",
    "SessionOwnedError",
    "UploadError",
]


class ProducerError(Exception):
    """Base of every error raised by ``producers``."""


class UploadError(ProducerError):
    """The service or storage refused; the message is theirs."""


class InvalidUploaderTokenError(ProducerError):
    """Missing, expired, tampered or for another audience: 401."""


class InvalidTicketError(ProducerError):
    """An upload id that is not ours, or no longer valid."""


class InvalidMetadataError(ProducerError, ValueError):
    """The message names the field first (``title ...``, ``tag 3 ...``), for a 400."""


class InvalidPlayerTokenError(ProducerError):
    """Missing, expired, tampered, or for another audience: the request gets 401."""


class InvalidPlaybackError(ProducerError, ValueError):
    """The body cannot be accepted; the message says which event and field, for a 400."""


class PastBackfillHorizonError(InvalidPlaybackError):
    """An event whose minute is past the analytics' backfill horizon: it would count nowhere, so 400."""


class SessionOwnedError(ProducerError):
    """A playback event for a session another viewer owns: 403."""


class PlaybackRateLimitError(ProducerError):
    """A playback batch past a rate bound: 429, to retry after ``retry_after_s``."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
