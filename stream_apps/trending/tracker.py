"""What the trending boards and the view counts need, kept up to date from minute rows (pure).

Why: a board is a function of, per (video, viewer), the minute of the viewer's
latest view in the window, and the search view's counts are sums of views per
(video, minute). Keeping exactly that, fed only the rows that changed, spares
the board holder a scan and a parse of a day (and a week) of rows every round.

Rows are whole-value upserts keyed by (video, minute, partition); an empty
document deletes one. To subtract what a replaced row had counted, the
tracker holds the rows that may still change ("open" rows). The caller
``seal``s the minutes that will not change again (the worker: those older
than the allowed lateness); a sealed row leaves only, per (video, viewer),
its latest sealed minute, and its views in the per-(video, minute) sums. So
memory is the window's (video, viewer) pairs, the (video, minute) view counts
of the longest count window, and the open rows.

A board from ``board`` is identical (order, scores to the bit, unique
viewers) to ``board_of(live_buckets(rows), ...)`` over the rows in the window,
and ``views`` to ``popularity_by_video``'s sums: rows of minutes at or after
``now`` wait until ``now`` passes them, as a read ending at ``now`` leaves
them out, and what ages out of the windows is forgotten.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from stream_apps.playback.rows import stats_from_document
from stream_apps.playback.time import epoch_ms, whole_ms
from stream_apps.trending.board import BOARD_SIZE, TrendingBoard
from stream_apps.trending.score import (
    TRENDING_WINDOWS,
    TrendingWindow,
    VideoTrend,
    decay_weight,
    top_trending,
    weighted_score,
)
from views.playback import MinuteRow

__all__ = ["TrendTracker"]

_RowKey = tuple[str, int, int]  # video, minute (epoch ms), partition
_Value = tuple[int, frozenset[str]]  # views, viewers
_NOTHING: _Value = (0, frozenset())


class TrendTracker:
    """Boards of ``windows`` and views over ``view_windows`` at ``now``, from the rows fed so far."""

    def __init__(
        self,
        *,
        now: datetime,
        windows: Sequence[TrendingWindow] = TRENDING_WINDOWS,
        view_windows: Sequence[timedelta] = (),
    ) -> None:
        if not windows:
            raise ValueError("a tracker needs at least one trending window")
        self._windows = {w.name: w for w in windows}
        self._span_ms = max(whole_ms(w.span) for w in windows)
        self._view_spans = tuple(whole_ms(span) for span in view_windows)
        if any(span <= 0 for span in self._view_spans):
            raise ValueError(f"view windows must be positive, not {view_windows}")
        self._now, self._now_ms = now, epoch_ms(now)
        self._sealed_ms: int | None = None  # rows before this minute are sealed
        self._open: dict[_RowKey, _Value] = {}
        self._open_of: dict[str, set[tuple[int, int]]] = {}  # video → (minute, partition) of its open rows
        self._pending: dict[_RowKey, _Value] = {}  # rows of minutes at or after now
        # trending: video → viewer → latest minute; minute → video → viewers latest then
        self._latest: dict[str, dict[str, int]] = {}
        self._sealed_latest: dict[str, dict[str, int]] = {}  # video → viewer → latest sealed minute
        self._at: dict[int, dict[str, set[str]]] = {}
        self._at_minutes: list[int] = []  # the keys of ``_at``, sorted
        # views: minute → video → views (every partition); totals per view window, video → views
        self._cells: dict[int, dict[str, int]] = {}
        self._cell_minutes: list[int] = []  # the keys of ``_cells``, sorted
        self._totals: tuple[dict[str, int], ...] = tuple({} for _ in self._view_spans)

    @property
    def now(self) -> datetime:
        return self._now

    def state_size(self) -> dict[str, int]:
        """How much is held: (video, viewer) pairs, (video, minute) view counts, open and pending rows."""
        return {
            "pairs": sum(len(v) for v in self._latest.values()),
            "view_cells": sum(len(c) for c in self._cells.values()),
            "open_rows": len(self._open),
            "pending_rows": len(self._pending),
        }

    def apply(self, rows: Iterable[MinuteRow]) -> None:
        """Take rows as upserts (an empty document deletes); ``ValueError`` for a row of a sealed minute."""
        for row in rows:
            if row.document:
                stats = stats_from_document(row.document)
                value = (stats.views, stats.viewers)
            else:
                value = _NOTHING
            self._put((row.video_id, epoch_ms(row.minute), row.partition), value)

    def advance(self, now: datetime) -> None:
        """Move the clock to ``now`` (never back): forget what left the windows, admit waiting rows."""
        now_ms = epoch_ms(now)
        if now_ms < self._now_ms:
            raise ValueError(f"time goes forward only: {now} is before the tracker's now")
        self._age_views(now_ms)
        self._now, self._now_ms = now, now_ms
        self._age_viewers()
        self._age_open()
        due = sorted(key for key in self._pending if key[1] < now_ms)
        for key in due:
            self._put(key, self._pending.pop(key))

    def seal(self, before: datetime) -> None:
        """Rows of minutes before ``before`` will not be fed again (until a new tracker): keep less."""
        before_ms = epoch_ms(before)
        if before_ms > self._now_ms:
            raise ValueError(f"cannot seal past the tracker's now: {before}")
        if self._sealed_ms is not None and before_ms <= self._sealed_ms:
            return
        self._sealed_ms = before_ms
        oldest = self._now_ms - self._span_ms
        for key in [k for k in self._open if k[1] < before_ms]:
            video, minute, partition = key
            _, viewers = self._open.pop(key)
            self._unindex_open(video, minute, partition)
            if minute >= oldest and viewers:
                sealed = self._sealed_latest.setdefault(video, {})
                for viewer in viewers:
                    if sealed.get(viewer, minute) <= minute:
                        sealed[viewer] = minute

    def board(self, window: TrendingWindow, *, size: int = BOARD_SIZE) -> TrendingBoard:
        """The board of ``window`` at ``now``: what ``board_of`` gives over the same rows."""
        if self._windows.get(window.name) != window:
            raise ValueError(f"this tracker does not keep the {window.name} window")
        now_ms = self._now_ms
        oldest = now_ms - whole_ms(window.span)
        weighted: dict[str, list[tuple[int, float]]] = {}
        viewers: dict[str, int] = {}
        for minute in self._at_minutes[bisect.bisect_left(self._at_minutes, oldest) :]:
            weight = decay_weight(timedelta(milliseconds=now_ms - minute), window.half_life)
            for video, who in self._at[minute].items():
                weighted.setdefault(video, []).append((len(who), weight))
                viewers[video] = viewers.get(video, 0) + len(who)
        trends = (
            VideoTrend(video_id=video, score=weighted_score(pairs), unique_viewers=viewers[video])
            for video, pairs in weighted.items()
        )
        return TrendingBoard(
            window=window.name, generated_at=self._now, videos=top_trending(trends, limit=size)
        )

    def views(self) -> dict[str, tuple[int, ...]]:
        """Each video with views in the longest view window: its views in each view window, in order."""
        if not self._totals:
            return {}
        longest = max(range(len(self._totals)), key=lambda i: self._view_spans[i])
        return {
            video: tuple(totals.get(video, 0) for totals in self._totals)
            for video, total in self._totals[longest].items()
            if total > 0
        }

    # -- rows

    def _put(self, key: _RowKey, value: _Value) -> None:
        video, minute, partition = key
        if minute >= self._now_ms:
            if value == _NOTHING:
                self._pending.pop(key, None)
            else:
                self._pending[key] = value
            return
        if minute < self._now_ms - self._horizon_ms():
            return  # out of every window
        if self._sealed_ms is not None and minute < self._sealed_ms:
            raise ValueError(f"a row of a sealed minute: {key}; a new tracker takes a full read")
        in_window = minute >= self._now_ms - self._span_ms
        views, viewers = value
        if not in_window:
            viewers = frozenset()
        old_views, old_viewers = self._open.get(key, _NOTHING)
        if (views, viewers) == _NOTHING:
            if key in self._open:
                del self._open[key]
                self._unindex_open(video, minute, partition)
        else:
            if key not in self._open:
                self._open_of.setdefault(video, set()).add((minute, partition))
            self._open[key] = (views, viewers)
        if views != old_views and self._view_spans:
            self._add_views(video, minute, views - old_views)
        if in_window:
            for viewer in viewers - old_viewers:
                self._see(video, viewer, minute)
            for viewer in old_viewers - viewers:
                if self._latest.get(video, {}).get(viewer) == minute:
                    self._recount(video, viewer)

    def _unindex_open(self, video: str, minute: int, partition: int) -> None:
        mine = self._open_of[video]
        mine.discard((minute, partition))
        if not mine:
            del self._open_of[video]

    def _horizon_ms(self) -> int:
        return max(self._span_ms, *self._view_spans) if self._view_spans else self._span_ms

    # -- viewers

    def _see(self, video: str, viewer: str, minute: int) -> None:
        seen = self._latest.setdefault(video, {})
        current = seen.get(viewer)
        if current is not None and current >= minute:
            return
        if current is not None:
            self._unplace(video, viewer, current)
        seen[viewer] = minute
        self._place(video, viewer, minute)

    def _recount(self, video: str, viewer: str) -> None:
        """``viewer``'s latest minute of ``video`` left a row: find the one before, sealed or open."""
        oldest = self._now_ms - self._span_ms
        best = self._sealed_latest.get(video, {}).get(viewer)
        if best is not None and best < oldest:
            best = None
        for minute, partition in self._open_of.get(video, ()):
            fresher = minute >= oldest and (best is None or minute > best)
            if fresher and viewer in self._open[(video, minute, partition)][1]:
                best = minute
        seen = self._latest[video]
        self._unplace(video, viewer, seen[viewer])
        if best is None:
            self._drop_pair(video, viewer)
        else:
            seen[viewer] = best
            self._place(video, viewer, best)

    def _place(self, video: str, viewer: str, minute: int) -> None:
        at = self._at.get(minute)
        if at is None:
            at = self._at[minute] = {}
            bisect.insort(self._at_minutes, minute)
        at.setdefault(video, set()).add(viewer)

    def _unplace(self, video: str, viewer: str, minute: int) -> None:
        at = self._at[minute]
        who = at[video]
        who.discard(viewer)
        if not who:
            del at[video]
            if not at:
                del self._at[minute]
                del self._at_minutes[bisect.bisect_left(self._at_minutes, minute)]

    def _drop_pair(self, video: str, viewer: str) -> None:
        seen = self._latest[video]
        del seen[viewer]
        if not seen:
            del self._latest[video]
        sealed = self._sealed_latest.get(video)
        if sealed is not None:
            sealed.pop(viewer, None)
            if not sealed:
                del self._sealed_latest[video]

    def _age_viewers(self) -> None:
        oldest = self._now_ms - self._span_ms
        cut = bisect.bisect_left(self._at_minutes, oldest)
        for minute in self._at_minutes[:cut]:
            for video, who in self._at.pop(minute).items():
                for viewer in who:
                    self._drop_pair(video, viewer)
        del self._at_minutes[:cut]

    def _age_open(self) -> None:
        """Open rows that left the trending window keep only their views, and none out of every window."""
        oldest, horizon = self._now_ms - self._span_ms, self._now_ms - self._horizon_ms()
        for key in [k for k, (_, viewers) in self._open.items() if k[1] < oldest and viewers]:
            views = self._open[key][0]
            if key[1] < horizon or not views:
                del self._open[key]
                self._unindex_open(*key)
            else:
                self._open[key] = (views, frozenset())
        for key in [k for k in self._open if k[1] < horizon]:
            del self._open[key]
            self._unindex_open(*key)

    # -- views

    def _add_views(self, video: str, minute: int, delta: int) -> None:
        cell = self._cells.get(minute)
        if cell is None:
            cell = self._cells[minute] = {}
            bisect.insort(self._cell_minutes, minute)
        count = cell.get(video, 0) + delta
        if count:
            cell[video] = count
        else:
            cell.pop(video, None)
            if not cell:
                del self._cells[minute]
                del self._cell_minutes[bisect.bisect_left(self._cell_minutes, minute)]
        for span, totals in zip(self._view_spans, self._totals, strict=True):
            if minute >= self._now_ms - span:
                _bump(totals, video, delta)

    def _age_views(self, now_ms: int) -> None:
        """Take out of each view window's totals the minutes that ``now_ms`` moves out of it."""
        for span, totals in zip(self._view_spans, self._totals, strict=True):
            start = bisect.bisect_left(self._cell_minutes, self._now_ms - span)
            stop = bisect.bisect_left(self._cell_minutes, now_ms - span)
            for minute in self._cell_minutes[start:stop]:
                for video, count in self._cells[minute].items():
                    _bump(totals, video, -count)
        if self._view_spans:
            cut = bisect.bisect_left(self._cell_minutes, now_ms - max(self._view_spans))
            for minute in self._cell_minutes[:cut]:
                del self._cells[minute]
            del self._cell_minutes[:cut]


def _bump(totals: dict[str, int], video: str, delta: int) -> None:
    count = totals.get(video, 0) + delta
    if count:
        totals[video] = count
    else:
        totals.pop(video, None)
