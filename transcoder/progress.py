"""FFmpeg's ``-progress`` output → percent done. Pure.

FFmpeg writes ``key=value`` lines and ends each block with
``progress=continue`` (or ``end``); ``out_time_us`` is how far the output has
got. Percent is clamped to 0..100 (FFmpeg can overshoot the probed duration).
"""

from __future__ import annotations

__all__ = ["ProgressParser"]


class ProgressParser:
    """Feed it FFmpeg's stdout line by line; it keeps the furthest ``out_time`` seen."""

    def __init__(self, duration_s: float) -> None:
        self._duration_us = max(duration_s, 0.001) * 1_000_000
        self._out_time_us = 0
        self.finished = False

    def feed(self, line: str) -> float | None:
        """One line; returns the percent at the end of each block, else ``None``."""
        key, _, value = line.strip().partition("=")
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds, for historical reasons
            if value.strip().lstrip("-").isdigit():
                self._out_time_us = max(self._out_time_us, int(value))
        elif key == "progress":
            if value.strip() == "end":
                self.finished = True
                return 100.0
            return self.percent
        return None

    @property
    def out_time_s(self) -> float:
        """How far the output has got, in seconds: less than the duration means the input ended early."""
        return self._out_time_us / 1_000_000

    @property
    def percent(self) -> float:
        return round(min(100.0, max(0.0, 100.0 * self._out_time_us / self._duration_us)), 1)
