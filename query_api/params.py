"""Query-string parameters, parsed strictly: a value the API cannot use is a 400 that says why.

Strict means ASCII digits only: ``str.isdigit`` also accepts ``²`` and
Arabic-Indic digits, and ``int`` refuses strings over 4300 digits, which
would otherwise surface as 500s.
"""

from __future__ import annotations

import re

from query_api.errors import BadRequestError

__all__ = ["bounded_int"]

_DIGITS = re.compile(r"[0-9]{1,9}")


def bounded_int(raw: str | None, *, name: str, default: int, low: int, high: int) -> int:
    """``raw`` as an integer in ``low..high``; ``default`` when absent or empty."""
    if raw is None or raw == "":
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or not low <= value <= high:
        raise BadRequestError(f"{name} must be an integer from {low} to {high}, got {raw[:40]!r}")
    return value
