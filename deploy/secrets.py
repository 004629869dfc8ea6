"""Per-machine secrets for the embedded setup, so a fresh clone runs without configuring any.

Made once with ``secrets.token_urlsafe`` and kept (mode 0600) under
``$TUBESTREAM_HOME/secrets/``; deployments beyond one machine set them in
the environment instead, so every collector of a cluster shares them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["local_secret"]


def local_secret(home: Path, name: str, *, configured: str | None = None) -> str:
    if configured:
        return configured
    path = home / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value
