"""Exact time arithmetic for playback analytics: aware datetimes ↔ epoch milliseconds, minutes.

Everything is done on integer milliseconds, so bucket boundaries and
lateness comparisons never suffer float rounding, and naive datetimes are
refused instead of being read silently as local time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    "MINUTE",
    "MINUTE_MS",
    "epoch_ms",
    "floor_minute",
    "minute_ms_of",
    "utc_from_ms",
    "whole_ms",
]

MINUTE = timedelta(minutes=1)
MINUTE_MS = 60_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (floored); raises ``ValueError`` for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: playback times must be timezone-aware")
    return (moment - _EPOCH) // _ONE_MS


def whole_ms(span: timedelta) -> int:
    """A duration in whole milliseconds (floored)."""
    return span // _ONE_MS


def utc_from_ms(ms: int) -> datetime:
    """The aware UTC datetime ``ms`` milliseconds after the epoch."""
    return _EPOCH + timedelta(milliseconds=ms)


def minute_ms_of(ms: int) -> int:
    """Start of the minute holding ``ms``, in epoch milliseconds."""
    return ms - ms % MINUTE_MS


def floor_minute(moment: datetime) -> datetime:
    """Start of the UTC minute holding ``moment``."""
    return utc_from_ms(minute_ms_of(epoch_ms(moment)))
