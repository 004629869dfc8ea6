"""Per-machine secrets for the embedded setup, so a fresh clone runs without configuring any.

Made once with ``secrets.token_urlsafe`` and kept (mode 0600) under
``$TUBESTREAM_HOME/secrets/``; deployments beyond one machine set them in
the environment instead, so every collector of a cluster shares them.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

__all__ = ["local_secret"]


def local_secret(home: Path, name: str, *, configured: str | None = None) -> str:
    """The secret ``name``, made on first use; every process racing to make it gets the same one.

    The value is written whole to a private temporary file, then linked into
    place: a link either appears complete or fails because another process
    won, never as an empty or half-written file.
    """
    if configured:
        return configured
    path = home / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        os.link(temp, path)
    except FileExistsError:
        return path.read_text().strip()  # another process made it first: theirs is complete
    finally:
        os.unlink(temp)
    return value
