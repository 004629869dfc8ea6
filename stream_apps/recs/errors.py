"""Errors of the recommendations core.

    RecsError
    ├── InvalidInteractionError     a weight that is negative, NaN or infinite; an empty matrix
    ├── InteractionFileError        a line of an interactions (or tags) file that cannot be read
    ├── UnknownIdError              a user or item the model was not trained on (also a ``KeyError``)
    └── ArtifactError               a model artifact that cannot be loaded
        ├── CorruptArtifactError        not an artifact, truncated, or a checksum that does not match
        └── UnsupportedArtifactError    a well-formed artifact of a format version this code cannot read

A corrupt artifact is never half-loaded: ``RecsModel.from_bytes`` checks the
whole artifact's digest before it parses anything.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ArtifactError",
    "CorruptArtifactError",
    "InteractionFileError",
    "InvalidInteractionError",
    "RecsError",
    "UnknownIdError",
    "UnsupportedArtifactError",
]


class RecsError(Exception):
    """Base of every error raised by ``stream_apps.recs``."""


class InvalidInteractionError(RecsError, ValueError):
    """Interactions that no model can be built from."""


class InteractionFileError(RecsError):
    """A line of an interactions file that cannot be read; ``path`` and ``line`` (1-based) say where."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path} line {line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class UnknownIdError(RecsError, KeyError):
    """A user or item id the model has no factors for."""

    def __str__(self) -> str:  # KeyError's str() quotes its argument; the message is already a sentence
        return str(self.args[0]) if self.args else ""


class ArtifactError(RecsError):
    """A model artifact that cannot be loaded."""


class CorruptArtifactError(ArtifactError):
    """The bytes are not a whole, intact artifact (wrong magic, truncated, digest mismatch, bad contents)."""


class UnsupportedArtifactError(ArtifactError):
    """An intact artifact written in a format version this code does not read."""
