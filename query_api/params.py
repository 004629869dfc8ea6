"""Query-string parameters, parsed strictly: a value the API cannot use is a 400 that says why.

Strict means ASCII digits only: ``str.isdigit`` also accepts ``²`` and
Arabic-Indic digits, and ``int`` refuses strings over 4300 digits, which
would otherwise surface as 500s.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from query_api.errors import BadRequestError

__all__ = ["EARLIEST", "LATEST", "bounded_int", "iso_time", "path_id"]

# Times outside these are no playback time, and near datetime's own limits a minute's arithmetic
# overflows: refused with a 400 instead of a 500.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)
MAX_ID_LENGTH = 128

_DIGITS = re.compile(r"[0-9]{1,9}")


def bounded_int(raw: str | None, *, name: str, default: int, low: int, high: int) -> int:
    """``raw`` as an integer in ``low..high``; ``default`` when absent or empty."""
    if raw is None or raw == "":
        return default
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or not low <= value <= high:
        raise BadRequestError(f"{name} must be an integer from {low} to {high}, got {raw[:40]!r}")
    return value


def iso_time(raw: str | None, name: str, *, default: datetime) -> datetime:
    """An ISO-8601 time with a zone, in UTC, from 1970 to the year 3000; ``default`` when absent."""
    if not raw:
        return default
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
        if parsed.tzinfo is None:
            raise BadRequestError(f"{name} must carry a zone (e.g. Z), got {raw[:40]!r}")
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 at +23:59, say
        raise BadRequestError(f"{name} must be an ISO-8601 time with a zone, got {raw[:40]!r}") from None
    if not EARLIEST <= parsed < LATEST:
        raise BadRequestError(f"{name} must be from {EARLIEST.year} to {LATEST.year}, got {raw[:40]!r}")
    return parsed


def path_id(raw: str, name: str) -> str:
    """An id from the path: at most 128 characters of valid Unicode (a lone surrogate is not)."""
    if len(raw) > MAX_ID_LENGTH:
        raise BadRequestError(f"{name} is longer than {MAX_ID_LENGTH} characters")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError(f"{name} is not valid Unicode") from None
    return raw
