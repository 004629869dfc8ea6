"""How strongly a viewer is into a video, from their watch facts; the user-by-item matrix (pure).

A play is weak evidence and a finish is strong evidence; coming back is
stronger still, but the tenth return says little more than the third; and a
viewer who jumps around a video (many seeks, little watched) was looking for
something and did not find it. ``interaction_weight`` turns a viewer's totals
for one video into one number saying that:

    fraction = min(1, watched_ms / duration_ms)            (duration unknown: watched / 5 min, capped at 1)
    base     = fraction + completion_bonus                 (the bonus only if one session watched 90%)
    repeat   = 1 + repeat_gain * log2(sessions)            (sessions with watch time: 1 → 1, 2 → 1.5, 4 → 2)
    focus    = min(1, skim_seeks_per_min / seeks_per_min)  (seeks per minute watched, over at least 30 s)
    weight   = base * repeat * focus                       (0 when nothing was watched)

With the defaults a full watch once weighs 1.5, half a video once 0.5, and a
skim of 10 seeks in 40 s of a 10-minute video 0.01. Watch time is the session
fold's (``stream_apps.playback.sessions``), so the recommender and the
analytics agree on what a second watched is.

The model takes these weights as implicit-feedback confidences (``AlsParams.alpha``
scales them); ``build_matrix`` lays them out as a CSR matrix with sorted, stable
id maps.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from schemas.playback_event import PlaybackKind
from stream_apps.playback.aggregates import copy_rank
from stream_apps.playback.facts import PlaybackFact
from stream_apps.playback.sessions import fold_session, session_owner
from stream_apps.recs.errors import InvalidInteractionError

__all__ = [
    "DEFAULT_WEIGHTING",
    "InteractionMatrix",
    "WatchTotals",
    "Weighting",
    "build_matrix",
    "interaction_weight",
    "watch_totals",
    "weighted_interactions",
]

MINUTE_MS = 60_000


@dataclass(frozen=True, kw_only=True)
class Weighting:
    """The constants of ``interaction_weight``; the module docstring has the formula."""

    completion_fraction: float = 0.9  # a session that watched this much of the video completed it
    completion_bonus: float = 0.5
    repeat_gain: float = 0.5  # per doubling of the sessions
    skim_seeks_per_min: float = 2.0  # up to this rate seeking costs nothing
    min_skim_window_ms: int = 30_000  # seek rates are taken over at least this much watch time
    unknown_duration_ms: int = 5 * MINUTE_MS  # counts as a full watch when the duration is unknown

    def __post_init__(self) -> None:
        if not 0 < self.completion_fraction <= 1:
            raise ValueError("completion_fraction must be in (0, 1]")
        if self.completion_bonus < 0 or self.repeat_gain < 0:
            raise ValueError("completion_bonus and repeat_gain must not be negative")
        if self.skim_seeks_per_min <= 0 or self.min_skim_window_ms <= 0 or self.unknown_duration_ms <= 0:
            raise ValueError(
                "skim_seeks_per_min, min_skim_window_ms and unknown_duration_ms must be positive"
            )


DEFAULT_WEIGHTING = Weighting()


@dataclass(frozen=True, kw_only=True)
class WatchTotals:
    """What one viewer did with one video, over all their sessions of it."""

    watched_ms: int
    duration_ms: int | None  # the video's, when a player reported it
    sessions: int  # sessions with watch time
    completed_sessions: int  # sessions that watched ``completion_fraction`` of the video
    seeks: int


def interaction_weight(totals: WatchTotals, weighting: Weighting = DEFAULT_WEIGHTING) -> float:
    """The strength of one viewer's interest in one video (0 when nothing was watched)."""
    if totals.watched_ms <= 0 or totals.sessions <= 0:
        return 0.0
    full_ms = totals.duration_ms if totals.duration_ms else weighting.unknown_duration_ms
    fraction = min(1.0, totals.watched_ms / full_ms)
    base = fraction + (weighting.completion_bonus if totals.completed_sessions > 0 else 0.0)
    repeat = 1.0 + weighting.repeat_gain * math.log2(totals.sessions)
    window_min = max(totals.watched_ms, weighting.min_skim_window_ms) / MINUTE_MS
    seeks_per_min = totals.seeks / window_min
    focus = min(1.0, weighting.skim_seeks_per_min / seeks_per_min) if seeks_per_min > 0 else 1.0
    return base * repeat * focus


def watch_totals(
    facts: Iterable[PlaybackFact], weighting: Weighting = DEFAULT_WEIGHTING
) -> dict[tuple[str, str], WatchTotals]:
    """``(user_pseudonym, video_id)`` → totals, from playback facts in any order, copies included.

    Copies of an event are deduplicated as the analytics do (``copy_rank``), and each
    session is folded once with the analytics' fold, for its owner (the viewer of its
    first event): another viewer's events for it count for nobody. Late events count:
    lateness is about minute buckets, and a viewer's taste has no deadline.
    """
    canonical: dict[str, PlaybackFact] = {}
    for fact in facts:
        kept = canonical.get(fact.event_id)
        if kept is None or copy_rank(fact) < copy_rank(kept):
            canonical[fact.event_id] = fact
    sessions: defaultdict[tuple[str, str], list[PlaybackFact]] = defaultdict(list)
    for fact in canonical.values():
        sessions[(fact.video_id, fact.session_id)].append(fact)

    sums: dict[tuple[str, str], list[int]] = {}  # watched, duration (-1 unknown), sessions, completed, seeks
    for (video_id, _), events in sessions.items():
        fold = fold_session(events)  # the session's owner's events; other viewers' are set apart
        final = fold.final
        user = session_owner(events)
        seeks = sum(1 for event, _ in fold.steps if event.kind is PlaybackKind.SEEK)
        duration = final.video_duration_ms
        completed = bool(duration) and final.watched_ms >= weighting.completion_fraction * (duration or 0)
        entry = sums.setdefault((user, video_id), [0, -1, 0, 0, 0])
        entry[0] += final.watched_ms
        entry[1] = max(entry[1], duration or -1)
        entry[2] += 1 if final.watched_ms > 0 else 0
        entry[3] += 1 if completed else 0
        entry[4] += seeks
    return {
        key: WatchTotals(
            watched_ms=watched,
            duration_ms=duration if duration > 0 else None,
            sessions=count,
            completed_sessions=completed,
            seeks=seeks,
        )
        for key, (watched, duration, count, completed, seeks) in sums.items()
    }


def weighted_interactions(
    totals: Mapping[tuple[str, str], WatchTotals], weighting: Weighting = DEFAULT_WEIGHTING
) -> list[tuple[str, str, float]]:
    """``(user, item, weight)`` for every pair with a positive weight, sorted by user then item."""
    weighted = ((user, item, interaction_weight(t, weighting)) for (user, item), t in totals.items())
    return sorted(row for row in weighted if row[2] > 0)


@dataclass(frozen=True, kw_only=True, eq=False)
class InteractionMatrix:
    """A users-by-items CSR matrix of weights; row ``u`` is ``user_ids[u]``, column ``i`` ``item_ids[i]``."""

    user_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    csr: sp.csr_matrix

    def __post_init__(self) -> None:
        if self.csr.shape != (len(self.user_ids), len(self.item_ids)):
            raise ValueError(f"csr is {self.csr.shape}, ids are {len(self.user_ids)} by {len(self.item_ids)}")

    @cached_property
    def user_index(self) -> dict[str, int]:
        return {user: index for index, user in enumerate(self.user_ids)}

    @cached_property
    def item_index(self) -> dict[str, int]:
        return {item: index for index, item in enumerate(self.item_ids)}

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.user_ids), len(self.item_ids))


def build_matrix(
    rows: Iterable[tuple[str, str, float]],
    *,
    user_ids: Sequence[str] | None = None,
    item_ids: Sequence[str] | None = None,
) -> InteractionMatrix:
    """The matrix of ``(user, item, weight)`` rows; repeated pairs add up, zero weights are left out.

    Ids are sorted, so the same rows give the same matrix in any order. Given
    ``user_ids`` or ``item_ids`` (say a model's, or a whole catalogue), those are
    the rows or columns, in that order, and a row naming another id is dropped.
    A negative, NaN or infinite weight is ``InvalidInteractionError``.
    """
    users: list[str] = []
    items: list[str] = []
    weights: list[float] = []
    for user, item, weight in rows:
        if not math.isfinite(weight) or weight < 0:
            raise InvalidInteractionError(
                f"weight of ({user!r}, {item!r}) is {weight!r}: not a finite value >= 0"
            )
        if weight > 0:
            users.append(user)
            items.append(item)
            weights.append(weight)
    user_order = tuple(sorted(set(users))) if user_ids is None else tuple(user_ids)
    item_order = tuple(sorted(set(items))) if item_ids is None else tuple(item_ids)
    user_index = {user: index for index, user in enumerate(user_order)}
    item_index = {item: index for index, item in enumerate(item_order)}
    if len(user_index) != len(user_order) or len(item_index) != len(item_order):
        raise ValueError("user_ids and item_ids must not repeat an id")
    kept = [
        (user_index[user], item_index[item], weight)
        for user, item, weight in zip(users, items, weights, strict=True)
        if user in user_index and item in item_index
    ]
    row_index = np.fromiter((r for r, _, _ in kept), dtype=np.int32, count=len(kept))
    col_index = np.fromiter((c for _, c, _ in kept), dtype=np.int32, count=len(kept))
    data = np.fromiter((w for _, _, w in kept), dtype=np.float32, count=len(kept))
    csr = sp.csr_matrix((data, (row_index, col_index)), shape=(len(user_order), len(item_order)))
    csr.sum_duplicates()
    return InteractionMatrix(user_ids=user_order, item_ids=item_order, csr=csr)
