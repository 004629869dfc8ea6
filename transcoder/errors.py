"""Errors of the transcoder.

    TranscoderError
    ├── SourceError        the source is not a playable video: ffprobe cannot read it, it has no
    │                      video stream, or it ends early when decoded (a truncated upload);
    │                      permanent: retrying cannot help, the video ends as failed with the reason
    │                      (``reason``: one line fit for users; ``detail``: FFmpeg's own words)
    ├── FfmpegError        FFmpeg exited non-zero (or could not start); carries the tail of its
    │                      stderr; treated as transient by the worker and retried
    ├── DeadlineError      FFmpeg or ffprobe ran past its deadline and was killed (a stalled read, a
    │                      source built to be slow); transient like ``FfmpegError``
    └── JobCancelledError  the job was stopped (worker shutting down); the job is left to be redone

Blob store errors (``blobs.errors``) pass through: they are transient and retried.
"""

from __future__ import annotations

__all__ = ["DeadlineError", "FfmpegError", "JobCancelledError", "SourceError", "TranscoderError"]


class TranscoderError(Exception):
    """Base of every error raised by ``transcoder``."""


class SourceError(TranscoderError):
    """The source itself is the problem: ``reason`` says why in a line, ``detail`` is FFmpeg's stderr."""

    def __init__(self, reason: str, *, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class FfmpegError(TranscoderError):
    """FFmpeg failed on a source that probed fine: the reason is in ``stderr_tail``."""

    def __init__(self, message: str, *, returncode: int, stderr_tail: str) -> None:
        super().__init__(f"{message} (exit {returncode}): {stderr_tail}".strip())
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class DeadlineError(TranscoderError):
    """The process was killed at its deadline; nothing it wrote is used."""


class JobCancelledError(TranscoderError):
    """The FFmpeg process was killed on request; nothing it wrote is uploaded."""
