"""The board holder's rounds: one full read of the minute rows, then only the minutes that can still change.

Why: reading and parsing a day of minute rows (and a week, for the search
view's counts) every round costs what the history costs, however little
changed. On-time events change only the minutes of the last
``allowed_lateness`` and a minute, so between full reads a round reads those
(from the previous round's ``now`` less that) and feeds them to a
``TrendTracker``, sealing what is older; ``BEHIND`` more absorbs the delay
from the collector to a written row. A backfill, counted in an older minute
up to the backfill horizon, reaches the boards at the next full read, every
``full_every``; a store that dropped rows is seen then too. A worker that
writes rows of events received longer than ``BEHIND`` ago (a backlog, a
replay after a restart) calls ``reread``: its rows may be in minutes the
rounds no longer read, so the next round reads everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from stream_apps.playback.aggregates import DEFAULT_ALLOWED_LATENESS
from stream_apps.playback.time import MINUTE
from stream_apps.trending.board import board_row
from stream_apps.trending.score import TRENDING_WINDOWS
from stream_apps.trending.tracker import TrendTracker
from views.playback import PlaybackStore

__all__ = ["BEHIND", "FULL_EVERY", "BoardKeeper"]

FULL_EVERY = timedelta(minutes=10)
BEHIND = timedelta(minutes=1)  # from an event's arrival at the collector to its row in the store


class BoardKeeper:
    """Writes every window's board each round; keeps the views of ``view_windows`` for the round's tasks."""

    def __init__(
        self,
        store: PlaybackStore,
        *,
        full_every: timedelta = FULL_EVERY,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        view_windows: Sequence[timedelta] = (),
    ) -> None:
        if full_every <= timedelta(0):
            raise ValueError(f"full reads must come at a positive interval, not {full_every}")
        self._store = store
        self._full_every = full_every
        self._reopen = allowed_lateness + MINUTE + BEHIND  # minutes this recent may still change on time
        self._view_windows = tuple(view_windows)
        self._span = max([w.span for w in TRENDING_WINDOWS] + list(self._view_windows))  # of a full read
        self._tracker: TrendTracker | None = None
        self._full_at: datetime | None = None
        self._reread = False
        self.full_reads = 0  # how many rounds read everything (for tests and logs)

    async def refresh(self, now: datetime) -> None:
        """Bring the tracker to ``now`` (a full read when due) and write every window's board."""
        tracker = self._tracker
        due = self._full_at is None or not self._full_at <= now < self._full_at + self._full_every
        if tracker is None or due or self._reread or now < tracker.now:
            self._reread = False  # cleared before the read: a call during it asks for another
            rows = await self._store.all_minutes(start=now - self._span, end=now)
            tracker = TrendTracker(now=now, windows=TRENDING_WINDOWS, view_windows=self._view_windows)
            tracker.apply(rows)
            self._tracker, self._full_at = tracker, now
            self.full_reads += 1
        else:
            rows = await self._store.all_minutes(start=tracker.now - self._reopen, end=now)
            tracker.advance(now)
            tracker.apply(rows)
        tracker.seal(now - self._reopen)  # the next round reads from there
        for window in TRENDING_WINDOWS:
            await self._store.write_board(board_row(tracker.board(window)))

    def views(self, now: datetime) -> dict[str, tuple[int, ...]] | None:
        """Each video's views in ``view_windows`` at ``now``; ``None`` unless the round of ``now`` read."""
        if self._tracker is None or self._tracker.now != now:
            return None
        return self._tracker.views()

    def reread(self) -> None:
        """Rows may have been written in minutes the rounds no longer read: read everything next round."""
        self._reread = True

    def forget(self) -> None:
        """Drop the tracker: the next round reads everything (after partition 0 moved, say)."""
        self._tracker, self._full_at = None, None
