"""Errors of the stream apps.

    StreamAppError
    ├── RejectedMessageError    a message no view can use; it goes to the dead-letter topic
    │   ├── (wraps schemas.EventDecodeError)  undecodable bytes
    │   └── (wraps schemas.InvalidEventError) a decoded event that breaks a rule of the view
    └── NoArchivesError         a batch recomputation from archives found none for its range

Store errors (``views.errors.ViewStoreError``) are *not* rejections: the
message is fine and is retried, never dead-lettered.
"""

from __future__ import annotations

__all__ = ["NoArchivesError", "RejectedMessageError", "StreamAppError"]


class StreamAppError(Exception):
    """Base of every error raised by ``stream_apps``."""


class RejectedMessageError(StreamAppError):
    """The message cannot be applied to any view; ``reason`` says why, for the dead-letter headers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoArchivesError(StreamAppError):
    """No hourly archive covers the range: comparing nothing with the live view would report every
    live minute as different."""
