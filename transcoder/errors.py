"""Errors of the transcoder.

    TranscoderError
    ├── SourceError        the source is not a playable video (corrupt, truncated, no video stream);
    │                      permanent: retrying cannot help, the video ends as failed with the reason
    ├── FfmpegError        FFmpeg exited non-zero; carries the tail of its stderr
    └── JobCancelledError  the job was stopped (worker shutting down)

Blob store errors (``blobs.errors``) pass through: they are transient and retried.
"""

from __future__ import annotations

__all__ = ["FfmpegError", "JobCancelledError", "SourceError", "TranscoderError"]


class TranscoderError(Exception):
    """Base of every error raised by ``transcoder``."""


class SourceError(TranscoderError):
    pass


class FfmpegError(TranscoderError):
    def __init__(self, message: str, *, returncode: int, stderr_tail: str) -> None:
        super().__init__(f"{message} (exit {returncode}): {stderr_tail}".strip())
        self.returncode = returncode
        self.stderr_tail = stderr_tail


class JobCancelledError(TranscoderError):
    pass
