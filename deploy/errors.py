"""Errors of running the platform's servers and processes.

    DeployError
    ├── ToolMissingError      java, mvn or ffmpeg is not installed
    ├── FetchError            a server could not be fetched from its registry
    └── ServerStartError      a server did not become ready before its deadline (carries its log tail)

The CLI prints these as one line and exits non-zero; nothing else catches them.
"""

from __future__ import annotations

__all__ = ["DeployError", "FetchError", "ServerStartError", "ToolMissingError"]


class DeployError(Exception):
    """Base of every error raised by ``deploy``."""


class ToolMissingError(DeployError):
    """A program the platform needs is not on PATH."""


class FetchError(DeployError):
    """Downloading a server's artifacts failed."""


class ServerStartError(DeployError):
    """A server exited or did not answer before the deadline."""
