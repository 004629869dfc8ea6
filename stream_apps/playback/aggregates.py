"""Playback events → exact per-video, per-minute aggregates, in real time or in one batch (pure).

Both paths compute a function of the *set* of distinct events, never of the
order they came in, so a live worker, a replay after a crash and the batch
recomputation from the archives agree to the last millisecond:

- dedup by ``event_id``. When copies differ (a player retried a POST and the
  collector stamped it twice), the canonical copy is the one received first
  (``copy_rank``), whichever arrives first here.
- bucket = the video and the UTC minute of the event's client time, clamped to
  its server time (a player clock running fast cannot plant events in the future).
- lateness is judged against the collector's clock, which every event carries:
  a bucket closes ``allowed_lateness`` after its minute ends, and an event whose
  ``received_at`` is at or after its bucket's close is late: a *backfill*. It is
  folded into its session and counted in its own bucket like any other (and in
  ``late_events`` too); only its watch time is credited by the player's clock
  (``sessions.advance``). An event received ``backfill_horizon`` or more after
  its minute ended has *expired*: counted in ``expired_events``, nothing else.
  Because the watermarks travel with the event, neither call depends on when or
  in which order a worker reads it.
- an event with a value past the bounds (``schemas.playback_event``: a
  position or duration over a day, a stall over ten minutes) is *invalid*:
  counted in ``invalid_events``, nothing else.
- a session belongs to the viewer of its first event (``sessions.owner_key``);
  on-time events of other viewers for it are counted in ``foreign_events``,
  nothing else.
- every other metric is a sum of ``SessionStep``s (see ``playback_sessions``)
  over the owner's on-time events of each session; a view belongs to the minute
  of the event that made it qualify.

``aggregate_playback`` folds everything at once. ``PlaybackAggregator`` takes
one event at a time and returns the buckets it touched, with their new values:
an event that lands in the middle of a session (out of order) refolds that
session from there on, retracting what the old fold had added. Aggregates of
disjoint sets of sessions (e.g. one per partition) combine with ``merge_buckets``.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.playback_event import MAX_MEDIA_MS, MAX_STALL_MS, PlaybackEvent, PlaybackKind
from stream_apps.playback.facts import PlaybackFact, fact_of
from stream_apps.playback.sessions import (
    DEFAULT_ALLOWED_LATENESS_MS,
    INITIAL_STATE,
    NO_STEP,
    OrderKey,
    OwnerKey,
    SessionKey,
    SessionState,
    SessionStep,
    advance,
    fold_session,
    is_backfill,
    owner_key,
    session_key,
    session_order_key,
)
from stream_apps.playback.time import MINUTE_MS, epoch_ms, minute_ms_of, utc_from_ms, whole_ms

__all__ = [
    "DEFAULT_ALLOWED_LATENESS",
    "DEFAULT_BACKFILL_HORIZON",
    "EMPTY_STATS",
    "BucketKey",
    "PlaybackAggregator",
    "PlaybackStats",
    "aggregate_playback",
    "bucket_closes_at",
    "bucket_expires_at",
    "bucket_key",
    "copy_rank",
    "is_expired",
    "is_late",
    "merge_buckets",
    "out_of_bounds",
]

# Players POST batches every few seconds and back off on 429 Retry-After; five
# minutes covers that with a wide margin: later than that an event is a backfill.
DEFAULT_ALLOWED_LATENESS = timedelta(milliseconds=DEFAULT_ALLOWED_LATENESS_MS)
# How long after its minute an event still counts: a phone offline for days, a long collector outage.
# The collector refuses older events (400), so none disappears unseen; after it a minute is final.
DEFAULT_BACKFILL_HORIZON = timedelta(days=7)

AnyEvent = PlaybackEvent | PlaybackFact


@dataclass(frozen=True, order=True)
class BucketKey:
    """One video's one UTC minute (``minute`` is its start, aware UTC)."""

    video_id: str
    minute: datetime


_Bucket = tuple[str, int]  # (video_id, minute start in epoch ms): BucketKey inside the hot path


@dataclass(frozen=True, kw_only=True)
class PlaybackStats:
    """Aggregates of one bucket, or of several merged; every field adds up, ``viewers`` unions.

    ``viewers`` are the pseudonyms of users with a view counted here, so
    unique viewers over a range is the size of the union, not a sum of counts.
    """

    views: int = 0
    viewers: frozenset[str] = frozenset()
    watch_ms: int = 0
    rebuffer_ms: int = 0
    rebuffers: int = 0
    quality_switches: int = 0
    rendition_ms: tuple[tuple[str, int], ...] = ()  # watch time per rendition, sorted by rendition
    events: int = 0  # distinct events folded into their session (on time or backfilled)
    late_events: int = 0  # of ``events``, those received after their bucket closed (backfills)
    invalid_events: int = 0  # distinct unexpired events with a value past the bounds; nowhere else
    foreign_events: int = 0  # distinct unexpired events for a session another viewer owns; nowhere else
    expired_events: int = 0  # distinct events received past the backfill horizon; nowhere else

    @property
    def unique_viewers(self) -> int:
        return len(self.viewers)

    @property
    def avg_view_duration_ms(self) -> float | None:
        """Watch time per view (YouTube's definition); ``None`` without views."""
        return self.watch_ms / self.views if self.views else None

    @property
    def rebuffer_ratio(self) -> float | None:
        """Share of the time spent stalled among time playing or stalled; ``None`` when both are 0."""
        total = self.watch_ms + self.rebuffer_ms
        return self.rebuffer_ms / total if total else None

    @property
    def rendition_mix(self) -> dict[str, int]:
        """Watch time (ms) per rendition; the values add up to ``watch_ms``."""
        return dict(self.rendition_ms)

    @property
    def is_empty(self) -> bool:
        return not (self.events or self.invalid_events or self.foreign_events or self.expired_events)

    def merge(self, other: PlaybackStats) -> PlaybackStats:
        """Combine two aggregates of disjoint sessions; commutative and associative."""
        return PlaybackStats.merge_all((self, other))

    @classmethod
    def merge_all(cls, parts: Iterable[PlaybackStats]) -> PlaybackStats:
        total = _Accumulator()
        for part in parts:
            total.add_stats(part)
        return total.snapshot()


EMPTY_STATS = PlaybackStats()


def copy_rank(event: AnyEvent) -> tuple[int, int, str, int, str, int, str, str, str, str]:
    """Order among copies of one ``event_id``: the smallest is canonical (first received, then any field)."""
    fact = fact_of(event)
    return (
        fact.received_ms,
        fact.occurred_ms,
        fact.kind.value,
        fact.position_ms,
        fact.rendition or "",
        -1 if fact.duration_ms is None else fact.duration_ms,
        fact.video_id,
        fact.session_id,
        fact.user_pseudonym,
        fact.client,
    )


def _bucket(fact: PlaybackFact) -> _Bucket:
    at_ms = fact.occurred_ms if fact.occurred_ms < fact.received_ms else fact.received_ms
    return (fact.video_id, at_ms - at_ms % MINUTE_MS)


def _public(bucket: _Bucket) -> BucketKey:
    return BucketKey(bucket[0], utc_from_ms(bucket[1]))


def bucket_key(event: AnyEvent) -> BucketKey:
    """The event's video and the minute of its client time, clamped to its server time."""
    return _public(_bucket(fact_of(event)))


def bucket_closes_at(minute: datetime, allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS) -> datetime:
    """Server time from which events of ``minute`` are late: the minute's end plus the lateness."""
    return utc_from_ms(minute_ms_of(epoch_ms(minute)) + MINUTE_MS + whole_ms(allowed_lateness))


def bucket_expires_at(minute: datetime, horizon: timedelta = DEFAULT_BACKFILL_HORIZON) -> datetime:
    """Server time from which events of ``minute`` are past the backfill horizon, and it is final."""
    return utc_from_ms(minute_ms_of(epoch_ms(minute)) + MINUTE_MS + whole_ms(horizon))


def _expired(bucket: _Bucket, fact: PlaybackFact, horizon_ms: int) -> bool:
    """Had ``fact``'s minute passed the backfill horizon when the collector received it?"""
    return fact.received_ms >= bucket[1] + MINUTE_MS + horizon_ms


def is_late(event: AnyEvent, allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS) -> bool:
    """Was the event received at or after its bucket closed (a backfill, unless it expired too)?"""
    return is_backfill(fact_of(event), whole_ms(allowed_lateness))


def is_expired(event: AnyEvent, horizon: timedelta = DEFAULT_BACKFILL_HORIZON) -> bool:
    """Was the event received past its minute's backfill horizon (counted in ``expired_events`` only)?"""
    fact = fact_of(event)
    return _expired(_bucket(fact), fact, whole_ms(horizon))


def _horizon_ms(allowed_lateness: timedelta, backfill_horizon: timedelta) -> tuple[int, int]:
    lateness_ms, horizon_ms = whole_ms(allowed_lateness), whole_ms(backfill_horizon)
    if not 0 <= lateness_ms <= horizon_ms:
        raise ValueError(
            f"the backfill horizon ({backfill_horizon}) must be at least "
            f"the allowed lateness ({allowed_lateness})"
        )
    return lateness_ms, horizon_ms


_REBUFFER, _SEEK = PlaybackKind.REBUFFER, PlaybackKind.SEEK


def out_of_bounds(event: AnyEvent) -> bool:
    """A value no player sends: a position or video duration outside [0, a day], a stall outside
    [0, ten minutes], a seek longer than a day either way, another kind's duration outside [0, a day].

    The collector refuses such events; this catches those that reached the
    topic another way (an older collector, ``tubestream publish``), before
    2^63 - 1 ms of stall can reach a sum.
    """
    fact = fact_of(event)
    if not 0 <= fact.position_ms <= MAX_MEDIA_MS:
        return True
    duration = fact.duration_ms
    if duration is not None:
        kind = fact.kind
        if kind is _REBUFFER:
            if not 0 <= duration <= MAX_STALL_MS:
                return True
        elif not (-MAX_MEDIA_MS if kind is _SEEK else 0) <= duration <= MAX_MEDIA_MS:
            return True
    video_duration = fact.video_duration_ms
    return video_duration is not None and not 0 <= video_duration <= MAX_MEDIA_MS


def aggregate_playback(
    events: Iterable[AnyEvent],
    *,
    allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> dict[BucketKey, PlaybackStats]:
    """All buckets of ``events`` at once (the batch path): duplicates and any order allowed."""
    lateness_ms, horizon_ms = _horizon_ms(allowed_lateness, backfill_horizon)
    canonical: dict[str, PlaybackFact] = {}
    for fact in map(fact_of, events):
        seen = canonical.get(fact.event_id)
        if seen is None or copy_rank(fact) < copy_rank(seen):
            canonical[fact.event_id] = fact
    accumulators: defaultdict[_Bucket, _Accumulator] = defaultdict(_Accumulator)
    sessions: defaultdict[SessionKey, list[PlaybackFact]] = defaultdict(list)
    for fact in canonical.values():
        if _expired(_bucket(fact), fact, horizon_ms):
            accumulators[_bucket(fact)].expired_events += 1
        elif out_of_bounds(fact):
            accumulators[_bucket(fact)].invalid_events += 1
        else:
            sessions[session_key(fact)].append(fact)
    for session_events in sessions.values():
        fold = fold_session(session_events, lateness_ms=lateness_ms)
        for fact, step in fold.steps:
            accumulator = accumulators[_bucket(fact)]
            accumulator.add_step(fact, step, 1)
            if is_backfill(fact, lateness_ms):
                accumulator.late_events += 1
        for fact in fold.foreign:
            accumulators[_bucket(fact)].foreign_events += 1
    return {_public(key): accumulators[key].snapshot() for key in sorted(accumulators)}


def merge_buckets(parts: Iterable[Mapping[BucketKey, PlaybackStats]]) -> dict[BucketKey, PlaybackStats]:
    """Combine aggregates of disjoint sets of sessions (e.g. one per partition) bucket by bucket."""
    merged: defaultdict[BucketKey, _Accumulator] = defaultdict(_Accumulator)
    for part in parts:
        for key, stats in part.items():
            merged[key].add_stats(stats)
    return {key: merged[key].snapshot() for key in sorted(merged) if not merged[key].is_empty}


class PlaybackAggregator:
    """The real-time path: the aggregates so far, updated one event at a time.

    ``apply`` returns every bucket the event touched with its value *now*
    (``EMPTY_STATS`` when nothing is left in it), so a store that upserts those
    rows by key is idempotent. After any sequence of ``apply`` calls,
    ``buckets()`` equals ``aggregate_playback`` over the same events.
    State grows with the distinct events seen (dedup needs their ids).
    """

    def __init__(
        self,
        *,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
    ) -> None:
        self._allowed_lateness = allowed_lateness
        self._backfill_horizon = backfill_horizon
        self._lateness_ms, self._horizon_ms = _horizon_ms(allowed_lateness, backfill_horizon)
        self._canonical: dict[str, PlaybackFact] = {}
        self._sessions: dict[SessionKey, _SessionTrack] = {}
        self._accumulators: dict[_Bucket, _Accumulator] = {}
        self.duplicates = 0  # copies seen of an event id already seen; an operational counter

    @property
    def allowed_lateness(self) -> timedelta:
        return self._allowed_lateness

    @property
    def backfill_horizon(self) -> timedelta:
        return self._backfill_horizon

    def apply(self, event: AnyEvent) -> dict[BucketKey, PlaybackStats]:
        """Take one event (maybe a duplicate, maybe out of order); return the touched buckets' values."""
        return self.apply_all((event,))

    def touch(self, event: AnyEvent) -> set[BucketKey]:
        """``apply`` without building the values."""
        touched: set[_Bucket] = set()
        self._take(fact_of(event), touched)
        return {_public(b) for b in touched}

    def apply_all(self, events: Iterable[AnyEvent]) -> dict[BucketKey, PlaybackStats]:
        """Apply each event; return the final values of every bucket touched along the way.

        Each touched bucket's value is built once, after the last event: a
        worker applying a batch pays for the buckets it writes, not per event.
        """
        touched: set[_Bucket] = set()
        take = self._take
        for event in events:
            take(event if isinstance(event, PlaybackFact) else fact_of(event), touched)
        return {_public(b): self._value(b) for b in sorted(touched)}

    def bucket(self, key: BucketKey) -> PlaybackStats:
        return self._value((key.video_id, epoch_ms(key.minute)))

    def buckets(self) -> dict[BucketKey, PlaybackStats]:
        """Every non-empty bucket, sorted by key."""
        return {_public(b): self._accumulators[b].snapshot() for b in sorted(self._accumulators)}

    def _value(self, bucket: _Bucket) -> PlaybackStats:
        accumulator = self._accumulators.get(bucket)
        return EMPTY_STATS if accumulator is None else accumulator.snapshot()

    def _take(self, fact: PlaybackFact, touched: set[_Bucket]) -> None:
        seen = self._canonical.get(fact.event_id)
        if seen is not None:
            self.duplicates += 1
            if copy_rank(fact) >= copy_rank(seen):
                return
            self._withdraw(seen, touched)
        self._canonical[fact.event_id] = fact
        self._admit(fact, touched)

    def _admit(self, fact: PlaybackFact, touched: set[_Bucket]) -> None:
        bucket = _bucket(fact)
        touched.add(bucket)
        if _expired(bucket, fact, self._horizon_ms):
            self._accumulator(bucket).expired_events += 1
            return
        if out_of_bounds(fact):
            self._accumulator(bucket).invalid_events += 1
            return
        skey = (fact.video_id, fact.session_id)
        track = self._sessions.get(skey)
        if track is None:
            track = self._sessions[skey] = _SessionTrack(self._lateness_ms)
        step = track.append(fact)
        if step is None:  # out of order, or another viewer's: refold the session from there
            self._book(track.insert(fact), touched)
        else:  # the common case, booked without building the list of changes
            accumulator = self._accumulator(bucket)
            accumulator.add_step(fact, step, 1)
            if fact.received_ms >= bucket[1] + MINUTE_MS + self._lateness_ms:  # a backfill
                accumulator.late_events += 1

    def _withdraw(self, fact: PlaybackFact, touched: set[_Bucket]) -> None:
        expired = _expired(_bucket(fact), fact, self._horizon_ms)
        if expired or out_of_bounds(fact):
            bucket = _bucket(fact)
            accumulator = self._accumulator(bucket)
            if expired:
                accumulator.expired_events -= 1
            else:
                accumulator.invalid_events -= 1
            self._drop_if_empty(bucket)
            touched.add(bucket)
            return
        skey = session_key(fact)
        track = self._sessions[skey]
        changes = track.remove(fact)
        if not track:
            del self._sessions[skey]
        self._book(changes, touched)

    def _book(self, changes: list[_Change], touched: set[_Bucket]) -> None:
        retracted = False
        for sign, fact, step in changes:
            bucket = _bucket(fact)
            if step is None:
                self._accumulator(bucket).foreign_events += sign
            else:
                accumulator = self._accumulator(bucket)
                accumulator.add_step(fact, step, sign)
                if fact.received_ms >= bucket[1] + MINUTE_MS + self._lateness_ms:  # a backfill
                    accumulator.late_events += sign
            touched.add(bucket)
            retracted = retracted or sign < 0
        if retracted:  # only a retraction can empty a bucket
            for sign, fact, _ in changes:
                if sign < 0:
                    self._drop_if_empty(_bucket(fact))

    def _accumulator(self, bucket: _Bucket) -> _Accumulator:
        accumulator = self._accumulators.get(bucket)
        if accumulator is None:
            accumulator = self._accumulators[bucket] = _Accumulator()
        return accumulator

    def _drop_if_empty(self, bucket: _Bucket) -> None:
        accumulator = self._accumulators.get(bucket)
        if accumulator is not None and accumulator.is_empty:
            del self._accumulators[bucket]


_Change = tuple[int, PlaybackFact, SessionStep | None]  # (+1 add / -1 retract, event, its step or
# None for another viewer's event, which counts in foreign_events only)


class _SessionTrack:
    """One session's on-time events: its owner's in fold order, with the state and step after each,
    and the other viewers' (foreign) apart.

    Inserting or removing an owner's event refolds from there on and stops as
    soon as the state after some later event is what it was before: from that
    event on, nothing changes. Events arriving in order therefore cost O(1)
    refolding. When the first event (``owner_key``) changes hands, which
    only another viewer's event received first or a withdrawn first copy
    can do, the session is refolded whole for its new owner.
    """

    __slots__ = ("_events", "_first", "_foreign", "_keys", "_lateness_ms", "_owner", "_states", "_steps")

    def __init__(self, lateness_ms: int) -> None:
        self._lateness_ms = lateness_ms
        self._keys: list[OrderKey] = []
        self._events: list[PlaybackFact] = []
        self._states: list[SessionState] = []
        self._steps: list[SessionStep] = []
        self._foreign: list[PlaybackFact] = []
        self._owner = ""
        self._first: OwnerKey = (0, (0, 0, 0, ""))  # owner_key of the first event, once there is one

    def __bool__(self) -> bool:
        return bool(self._events)  # the owner has an event whenever anyone has

    def append(self, event: PlaybackFact) -> SessionStep | None:
        """Take an owner's event that comes after all the others and return its step; ``None`` if not."""
        key = session_order_key(event)
        keys = self._keys
        if keys:
            if event.user_pseudonym != self._owner or key <= keys[-1]:
                return None
            if event.received_ms < self._first[0]:  # still the owner's: first in server time now
                self._first = (event.received_ms, key)
            state = self._states[-1]
        else:
            self._owner, self._first = event.user_pseudonym, (event.received_ms, key)
            state = INITIAL_STATE
        state, step = advance(state, event, self._lateness_ms)
        keys.append(key)
        self._events.append(event)
        self._states.append(state)
        self._steps.append(step)
        return step

    def insert(self, event: PlaybackFact) -> list[_Change]:
        step = self.append(event)
        if step is not None:  # in order: nothing to refold
            return [(1, event, step)]
        first = owner_key(event)
        if event.user_pseudonym != self._owner:
            if first < self._first:  # it came first: the session is this viewer's
                return self._reown(self._events + self._foreign + [event])
            self._foreign.append(event)
            return [(1, event, None)]
        self._first = min(self._first, first)
        keys = self._keys
        key = first[1]
        at = bisect.bisect_left(keys, key)
        old_states, old_steps = self._states[at:], self._steps[at:]
        keys.insert(at, key)
        self._events.insert(at, event)
        del self._states[at:], self._steps[at:]
        return self._refold(at, 1, old_states, old_steps)

    def remove(self, event: PlaybackFact) -> list[_Change]:
        if event.user_pseudonym != self._owner:
            for at, foreign in enumerate(self._foreign):
                if foreign is event:
                    del self._foreign[at]
                    return [(-1, event, None)]
            raise KeyError(f"event {event.event_id} is not in this session")
        at = bisect.bisect_left(self._keys, session_order_key(event))
        if at == len(self._events) or self._events[at] is not event:
            raise KeyError(f"event {event.event_id} is not in this session")
        if owner_key(event) == self._first:  # the first event goes: whose is the session now?
            return self._reown([e for e in self._events + self._foreign if e is not event])
        changes: list[_Change] = [(-1, event, self._steps[at])]
        old_states, old_steps = self._states[at + 1 :], self._steps[at + 1 :]
        del self._keys[at], self._events[at]
        del self._states[at:], self._steps[at:]
        return changes + self._refold(at, 0, old_states, old_steps)

    def _reown(self, events: list[PlaybackFact]) -> list[_Change]:
        """Retract everything, then take ``events`` afresh: the owner of the first, folded; the rest apart."""
        changes: list[_Change] = [(-1, e, step) for e, step in zip(self._events, self._steps, strict=True)]
        changes += [(-1, e, None) for e in self._foreign]
        self._keys, self._events, self._states, self._steps, self._foreign = [], [], [], [], []
        if not events:
            return changes
        self._first = min(map(owner_key, events))
        self._owner = min(events, key=owner_key).user_pseudonym
        state = INITIAL_STATE
        for event in sorted(events, key=session_order_key):
            if event.user_pseudonym != self._owner:
                self._foreign.append(event)
                changes.append((1, event, None))
                continue
            state, step = advance(state, event, self._lateness_ms)
            self._keys.append(session_order_key(event))
            self._events.append(event)
            self._states.append(state)
            self._steps.append(step)
            changes.append((1, event, step))
        return changes

    def _refold(
        self, start: int, fresh: int, old_states: list[SessionState], old_steps: list[SessionStep]
    ) -> list[_Change]:
        """Fold ``_events[start:]``; the first ``fresh`` are new, the rest had ``old_*`` before."""
        changes: list[_Change] = []
        state = self._states[start - 1] if start else INITIAL_STATE
        for at in range(start, len(self._events)):
            event = self._events[at]
            state, step = advance(state, event, self._lateness_ms)
            self._states.append(state)
            self._steps.append(step)
            before = at - start - fresh
            if before < 0:
                changes.append((1, event, step))
                continue
            if step != old_steps[before]:
                changes += [(-1, event, old_steps[before]), (1, event, step)]
            if state == old_states[before]:
                self._states += old_states[before + 1 :]
                self._steps += old_steps[before + 1 :]
                break
        return changes


@dataclass
class _Accumulator:
    """A bucket being built: like ``PlaybackStats`` but able to take contributions back."""

    views: int = 0
    viewer_views: Counter[str] = field(default_factory=Counter)  # pseudonym → views counted here
    watch_ms: int = 0
    rebuffer_ms: int = 0
    rebuffers: int = 0
    quality_switches: int = 0
    rendition_ms: Counter[str] = field(default_factory=Counter)
    events: int = 0
    late_events: int = 0
    invalid_events: int = 0
    foreign_events: int = 0
    expired_events: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.events or self.invalid_events or self.foreign_events or self.expired_events)

    def add_step(self, event: PlaybackFact, step: SessionStep, sign: int) -> None:
        self.events += sign
        if step is NO_STEP:
            return
        if step.view:
            self.views += sign
            _bump(self.viewer_views, event.user_pseudonym, sign)
        if step.watch_ms:
            self.watch_ms += sign * step.watch_ms
            _bump(self.rendition_ms, step.watch_rendition, sign * step.watch_ms)
        self.rebuffer_ms += sign * step.rebuffer_ms
        self.rebuffers += sign * step.rebuffers
        self.quality_switches += sign * step.quality_switches

    def add_stats(self, stats: PlaybackStats) -> None:
        self.views += stats.views
        self.viewer_views.update(stats.viewers)
        self.watch_ms += stats.watch_ms
        self.rebuffer_ms += stats.rebuffer_ms
        self.rebuffers += stats.rebuffers
        self.quality_switches += stats.quality_switches
        self.rendition_ms.update(dict(stats.rendition_ms))
        self.events += stats.events
        self.late_events += stats.late_events
        self.invalid_events += stats.invalid_events
        self.foreign_events += stats.foreign_events
        self.expired_events += stats.expired_events

    def snapshot(self) -> PlaybackStats:
        return PlaybackStats(
            views=self.views,
            viewers=frozenset(self.viewer_views),
            watch_ms=self.watch_ms,
            rebuffer_ms=self.rebuffer_ms,
            rebuffers=self.rebuffers,
            quality_switches=self.quality_switches,
            rendition_ms=_sorted_mix(self.rendition_ms),
            events=self.events,
            late_events=self.late_events,
            invalid_events=self.invalid_events,
            foreign_events=self.foreign_events,
            expired_events=self.expired_events,
        )


def _bump(counter: Counter[str], key: str, by: int) -> None:
    value = counter[key] + by
    if value:
        counter[key] = value
    else:
        del counter[key]


def _sorted_mix(mix: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((rendition, ms) for rendition, ms in mix.items() if ms))
