"""``playback-event`` facts → whole interaction rows per (viewer, video, partition) (pure).

The state of a partition is its distinct events grouped by session, as the
analytics keep theirs: the rows a batch touches are recomputed from every
event of their sessions with ``watch_totals`` (dedup by ``event_id``, the
session fold, the session's owner), so a row is a pure function of the
distinct events up to an offset and writing it twice is writing it once.
A session whose owner changes (an earlier event arrives late) rewrites both
the old and the new owner's rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from stream_apps.playback.aggregates import copy_rank
from stream_apps.playback.facts import PlaybackFact
from stream_apps.playback.sessions import session_owner
from stream_apps.recs.interactions import WatchTotals, watch_totals
from views.recs import InteractionRow

__all__ = ["InteractionFold"]

SessionKey = tuple[str, str]  # (video_id, session_id)
Pair = tuple[str, str]  # (viewer, video_id)


@dataclass
class _Partition:
    events: dict[SessionKey, dict[str, PlaybackFact]] = field(default_factory=dict)
    owner_of: dict[SessionKey, Pair] = field(default_factory=dict)
    sessions_of: defaultdict[Pair, set[SessionKey]] = field(default_factory=lambda: defaultdict(set))


class InteractionFold:
    """The fold of every assigned partition; ``apply_batch`` returns the rows to write."""

    def __init__(self) -> None:
        self._partitions: dict[int, _Partition] = {}

    def restore(self, partition: int, facts: Iterable[PlaybackFact]) -> int:
        """Rebuild a partition's state from its replayed facts; no rows (they were written before)."""
        state = self._partitions[partition] = _Partition()
        count = 0
        touched: set[SessionKey] = set()
        for fact in facts:
            touched.add(self._add(state, fact))
            count += 1
        self._reown(state, touched)
        return count

    def forget(self, partition: int) -> None:
        self._partitions.pop(partition, None)

    def apply_batch(
        self, batch: Sequence[tuple[int, PlaybackFact]], *, now: datetime
    ) -> list[InteractionRow]:
        """Fold ``(partition, fact)`` pairs in; every touched (viewer, video, partition) row, whole."""
        touched: defaultdict[int, set[SessionKey]] = defaultdict(set)
        for partition, fact in batch:
            state = self._partitions.setdefault(partition, _Partition())
            touched[partition].add(self._add(state, fact))
        rows: list[InteractionRow] = []
        for partition, sessions in sorted(touched.items()):
            state = self._partitions[partition]
            for pair in sorted(self._reown(state, sessions)):
                rows.append(_row(pair, partition, self._totals(state, pair), now))
        return rows

    @staticmethod
    def _add(state: _Partition, fact: PlaybackFact) -> SessionKey:
        key = (fact.video_id, fact.session_id)
        events = state.events.setdefault(key, {})
        kept = events.get(fact.event_id)
        if kept is None or copy_rank(fact) < copy_rank(kept):
            events[fact.event_id] = fact
        return key

    @staticmethod
    def _reown(state: _Partition, sessions: Iterable[SessionKey]) -> set[Pair]:
        """Re-derive the owners of ``sessions``; the pairs whose rows change."""
        changed: set[Pair] = set()
        for key in sessions:
            old = state.owner_of.get(key)
            new = (session_owner(list(state.events[key].values())), key[0])
            if old is not None and old != new:
                state.sessions_of[old].discard(key)
                changed.add(old)
            state.owner_of[key] = new
            state.sessions_of[new].add(key)
            changed.add(new)
        return changed

    @staticmethod
    def _totals(state: _Partition, pair: Pair) -> WatchTotals:
        facts = [fact for key in state.sessions_of[pair] for fact in state.events[key].values()]
        return watch_totals(facts).get(pair) or WatchTotals(
            watched_ms=0, duration_ms=None, sessions=0, completed_sessions=0, seeks=0
        )


def _row(pair: Pair, partition: int, totals: WatchTotals, now: datetime) -> InteractionRow:
    return InteractionRow(
        viewer=pair[0],
        video_id=pair[1],
        partition=partition,
        watched_ms=totals.watched_ms,
        duration_ms=totals.duration_ms,
        sessions=totals.sessions,
        completed_sessions=totals.completed_sessions,
        seeks=totals.seeks,
        updated_at=now,
    )
