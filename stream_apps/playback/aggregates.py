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
import itertools
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

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
    "DEFAULT_RETIRE_AFTER",
    "DEFAULT_SESSION_HORIZON",
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
# A session with no event received for this long is retired (its events let go, its last state kept);
# players send a heartbeat every few seconds while playing, and a pause longer than this restarts them.
DEFAULT_RETIRE_AFTER = timedelta(minutes=15)
# A retired session's last state is kept this long, for the rest of a session held back by an outage.
DEFAULT_SESSION_HORIZON = timedelta(hours=6)

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
        parts = tuple(parts)
        if len(parts) == 1 and _normal_mix(parts[0].rendition_ms):  # a minute of one partition, say
            return parts[0]  # what merging it alone would build again, field for field
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


_REBUFFER, _SEEK, _END = PlaybackKind.REBUFFER, PlaybackKind.SEEK, PlaybackKind.END


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
    ``buckets()`` equals ``aggregate_playback`` over the same events, as long
    as no event reaches a retired session out of order (below).

    Bounded state. The partition's clock is the latest server time among its
    events. Each time it enters a new minute, sessions idle (no event received)
    for ``retire_after`` (``retire_ended_after`` once they have ended) are
    *retired*: their events, and the ids dedup kept for them, are let go;
    what stays is the session's owner and the state after its last event
    (``_Retired``), for ``session_horizon``. An event that comes
    after a retired session's last one (the rest of a session after an outage)
    folds onto that state exactly; one that falls among its retired events
    cannot be placed: it is most likely a copy of one of them, and it is left
    out (``unplaced``, an operational counter). Minutes are let go once past the
    backfill horizon at the clock: an event that still reaches one (an expired
    event, or one received long before the clock and read after it) is counted
    in ``unbooked``, not in a bucket whose row it would overwrite. Memory thus
    follows the live sessions, the retired ones of the session horizon and the
    minute aggregates of the backfill horizon, not the events seen.
    ``retire_after=None`` keeps everything (the batch-equal mode the tests of
    order independence use).
    """

    def __init__(
        self,
        *,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
        retire_after: timedelta | None = DEFAULT_RETIRE_AFTER,
        session_horizon: timedelta = DEFAULT_SESSION_HORIZON,
        retire_ended_after: timedelta | None = None,
    ) -> None:
        self._allowed_lateness = allowed_lateness
        self._backfill_horizon = backfill_horizon
        self._lateness_ms, self._horizon_ms = _horizon_ms(allowed_lateness, backfill_horizon)
        self._bounded = retire_after is not None
        self._retire_ms = whole_ms(retire_after) if retire_after is not None else 0
        self._session_horizon_ms = whole_ms(session_horizon)
        # An ended session may be retired sooner (down to the allowed lateness: its last minute has closed)
        # but a straggler of it arriving after that is then left out: by default, like any other.
        self._ended_ms = self._retire_ms if retire_ended_after is None else whole_ms(retire_ended_after)
        if self._bounded and not self._lateness_ms <= self._retire_ms <= self._session_horizon_ms:
            raise ValueError("expected allowed lateness <= retire_after <= session_horizon")
        if self._bounded and not self._lateness_ms <= self._ended_ms <= self._retire_ms:
            raise ValueError("expected allowed lateness <= retire_ended_after <= retire_after")
        self._canonical: dict[str, PlaybackFact] = {}
        self._sessions: dict[SessionKey, _SessionTrack] = {}
        self._retired: dict[SessionKey, _Retired] = {}  # in the order they were retired
        self._loose: dict[str, int] = {}  # ids of expired and invalid events → server time, in arrival order
        self._accumulators: dict[_Bucket, _Accumulator] = {}
        self._minutes: dict[int, list[_Bucket]] = {}  # minute → its buckets, to let them go in time
        self._clock_ms = 0  # the latest server time seen
        self._next_check_ms = 0 if self._bounded else 2**63  # at this clock, let go what is idle
        self._forget_before_ms = -(2**63)  # minutes starting before this were let go
        self.duplicates = 0  # copies seen of an event id already seen; an operational counter
        self.unplaced = 0  # events that fell among a retired session's events: left out
        self.unbooked = 0  # events of minutes already let go: counted here only

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

    @property
    def live_sessions(self) -> int:
        return len(self._sessions)

    @property
    def retired_sessions(self) -> int:
        return len(self._retired)

    def state_size(self) -> dict[str, int]:
        """What the state holds, by kind (for the benchmark and the logs)."""
        return {
            "live_sessions": len(self._sessions),
            "live_events": sum(len(t.events()) for t in self._sessions.values()),
            "retired_sessions": len(self._retired),
            "event_ids": len(self._canonical),
            "buckets": len(self._accumulators),
            "unplaced": self.unplaced,
            "unbooked": self.unbooked,
        }

    def to_snapshot(self) -> bytes:
        """The whole state as bytes (zlib'd JSON): ``from_snapshot`` makes an aggregator that goes on
        exactly as this one would."""
        canonical = self._canonical
        document = {
            "version": _SNAPSHOT_VERSION,
            "settings": self._settings(),
            "clock": [self._clock_ms, self._next_check_ms, self._forget_before_ms],
            "counters": [self.duplicates, self.unplaced, self.unbooked],
            "sessions": [[skey[0], skey[1], track.snapshot()] for skey, track in self._sessions.items()],
            "retired": [
                [skey[0], skey[1], owner, first, list(state), key, last]
                for skey, (owner, first, state, key, last) in self._retired.items()
            ],
            "loose": [[_fact_row(canonical[i]), ms] for i, ms in self._loose.items() if i in canonical],
            "buckets": [[b[0], b[1], *a.row()] for b, a in self._accumulators.items()],
        }
        return zlib.compress(orjson.dumps(document), 1)

    @classmethod
    def from_snapshot(
        cls,
        data: bytes,
        *,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
        retire_after: timedelta | None = DEFAULT_RETIRE_AFTER,
        session_horizon: timedelta = DEFAULT_SESSION_HORIZON,
        retire_ended_after: timedelta | None = None,
    ) -> PlaybackAggregator:
        """The aggregator ``to_snapshot`` saved; ``ValueError`` if it was made with other settings or
        by another version (the caller then rebuilds from the log)."""
        aggregator = cls(
            allowed_lateness=allowed_lateness,
            backfill_horizon=backfill_horizon,
            retire_after=retire_after,
            session_horizon=session_horizon,
            retire_ended_after=retire_ended_after,
        )
        try:
            document = orjson.loads(zlib.decompress(data))
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise ValueError(f"unreadable playback snapshot: {exc}") from None
        if document.get("version") != _SNAPSHOT_VERSION or document.get("settings") != aggregator._settings():
            raise ValueError("the snapshot was made by another version or with other settings")
        aggregator._clock_ms, aggregator._next_check_ms, aggregator._forget_before_ms = document["clock"]
        aggregator.duplicates, aggregator.unplaced, aggregator.unbooked = document["counters"]
        lateness_ms, canonical = aggregator._lateness_ms, aggregator._canonical
        for video, session, row in document["sessions"]:
            track = _SessionTrack.from_snapshot(lateness_ms, row)
            aggregator._sessions[(video, session)] = track
            for event in track.events():
                canonical[event.event_id] = event
        for video, session, owner, first, state, key, last in document["retired"]:
            aggregator._retired[(video, session)] = (owner, _owner_key(first), _state(state), _key(key), last)
        for row, ms in document["loose"]:
            fact = _fact(row)
            canonical[fact.event_id] = fact
            aggregator._loose[fact.event_id] = ms
        for video, minute, *values in document["buckets"]:
            bucket = (video, minute)
            aggregator._accumulators[bucket] = _Accumulator.from_row(values)
            aggregator._minutes.setdefault(minute, []).append(bucket)
        return aggregator

    def _settings(self) -> list[int | bool]:
        return [
            self._lateness_ms,
            self._horizon_ms,
            self._bounded,
            self._retire_ms,
            self._session_horizon_ms,
            self._ended_ms,
        ]

    def _take(self, fact: PlaybackFact, touched: set[_Bucket]) -> None:
        received = fact.received_ms
        if received > self._clock_ms:
            self._clock_ms = received
            if received >= self._next_check_ms:  # once per minute of the clock, at the same events always
                self._next_check_ms = received - received % MINUTE_MS + MINUTE_MS
                self._let_go(received)
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
        if bucket[1] < self._forget_before_ms and bucket not in self._accumulators:
            self.unbooked += 1  # its minute was let go: writing it would overwrite the stored row
            self._loose[fact.event_id] = fact.received_ms
            return
        if _expired(bucket, fact, self._horizon_ms):
            self._loose[fact.event_id] = fact.received_ms
            self._accumulator(bucket).expired_events += 1
            touched.add(bucket)
            return
        if out_of_bounds(fact):
            self._loose[fact.event_id] = fact.received_ms
            self._accumulator(bucket).invalid_events += 1
            touched.add(bucket)
            return
        skey = (fact.video_id, fact.session_id)
        track = self._sessions.get(skey)
        if track is None:
            retired = self._retired.pop(skey, None)
            track = self._sessions[skey] = _SessionTrack(self._lateness_ms, retired)
        step = track.append(fact)
        if step is None:  # out of order, or another viewer's: refold the session from there
            changes = track.insert(fact)
            if changes is None:  # among the retired events: most likely a copy of one of them
                self.unplaced += 1
                del self._canonical[fact.event_id]
                return
            self._book(changes, touched)
        else:  # the common case, booked without building the list of changes
            touched.add(bucket)
            accumulator = self._accumulator(bucket)
            accumulator.add_step(fact, step, 1)
            if fact.received_ms >= bucket[1] + MINUTE_MS + self._lateness_ms:  # a backfill
                accumulator.late_events += 1

    def _withdraw(self, fact: PlaybackFact, touched: set[_Bucket]) -> None:
        bucket = _bucket(fact)
        if bucket[1] < self._forget_before_ms and bucket not in self._accumulators:
            self._loose.pop(fact.event_id, None)
            return  # counted in unbooked or let go with its minute: nothing to take back
        expired = _expired(bucket, fact, self._horizon_ms)
        if expired or out_of_bounds(fact):
            self._loose.pop(fact.event_id, None)
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
            self._minutes.setdefault(bucket[1], []).append(bucket)
        return accumulator

    def _let_go(self, now_ms: int) -> None:
        """Retire idle sessions; forget old retired ones, ids of loose events, minutes past the horizon."""
        idle_before = now_ms - self._retire_ms
        ended_before = now_ms - self._ended_ms
        retiring = [
            skey
            for skey, track in self._sessions.items()
            if track.last_received_ms < (ended_before if track.ended else idle_before)
        ]
        canonical, retired = self._canonical, self._retired
        for skey in retiring:
            track = self._sessions.pop(skey)
            for event in track.events():
                del canonical[event.event_id]
            retired[skey] = track.retired()
        forget_before = now_ms - self._session_horizon_ms
        while retired:
            skey = next(iter(retired))
            if retired[skey][4] >= forget_before:
                break
            del retired[skey]
        loose = self._loose
        while loose:
            event_id = next(iter(loose))
            if loose[event_id] >= idle_before:
                break
            del loose[event_id]
            canonical.pop(event_id, None)
        # minutes past the backfill horizon at the clock: minute + 1 min + horizon <= now
        self._forget_before_ms = horizon = now_ms - MINUTE_MS - self._horizon_ms + 1
        for minute in [m for m in self._minutes if m < horizon]:
            for bucket in self._minutes.pop(minute):
                self._accumulators.pop(bucket, None)

    def _drop_if_empty(self, bucket: _Bucket) -> None:
        accumulator = self._accumulators.get(bucket)
        if accumulator is not None and accumulator.is_empty:
            del self._accumulators[bucket]
            buckets = self._minutes.get(bucket[1])
            if buckets is not None:
                buckets.remove(bucket)
                if not buckets:
                    del self._minutes[bucket[1]]


_Change = tuple[int, PlaybackFact, SessionStep | None]  # (+1 add / -1 retract, event, its step or
# None for another viewer's event, which counts in foreign_events only)


_SNAPSHOT_VERSION = 1
_KIND_OF = {kind.value: kind for kind in PlaybackKind}


def _fact_row(fact: PlaybackFact) -> list[Any]:
    row: list[Any] = list(fact)
    row[6] = fact.kind.value
    return row


def _fact(row: list[Any]) -> PlaybackFact:
    row[6] = _KIND_OF[row[6]]
    return PlaybackFact(*row)


def _key(row: list[Any]) -> OrderKey:
    return (row[0], row[1], row[2], row[3])


def _owner_key(row: list[Any]) -> OwnerKey:
    return (row[0], _key(row[1]))


def _state(row: list[Any]) -> SessionState:
    return SessionState(*row)


# What a retired session keeps: its owner, its first event's owner_key, the state after its last
# event, that event's order key and the latest server time of its events.
_Retired = tuple[str, OwnerKey, SessionState, OrderKey, int]


class _SessionTrack:
    """One session's on-time events: its owner's in fold order, with the state and step after each,
    and the other viewers' (foreign) apart.

    Inserting or removing an owner's event refolds from there on and stops as
    soon as the state after some later event is what it was before: from that
    event on, nothing changes. Events arriving in order therefore cost O(1)
    refolding. When the first event (``owner_key``) changes hands, which
    only another viewer's event received first or a withdrawn first copy
    can do, the session is refolded whole for its new owner.

    A track revived from a retired session (``base``) starts from the state
    the retired events left: it takes events after the last of them, not
    before (``insert`` answers ``None``), and its owner stays.
    """

    __slots__ = (
        "_base",
        "_base_first",
        "_base_key",
        "_events",
        "_first",
        "_foreign",
        "_keys",
        "_last_ms",
        "_lateness_ms",
        "_owner",
        "_states",
        "_steps",
    )

    def __init__(self, lateness_ms: int, base: _Retired | None = None) -> None:
        self._lateness_ms = lateness_ms
        self._keys: list[OrderKey] = []
        self._events: list[PlaybackFact] = []
        self._states: list[SessionState] = []
        self._steps: list[SessionStep] = []
        self._foreign: list[PlaybackFact] = []
        self._base_key: OrderKey | None = None
        if base is None:
            self._owner = ""
            self._first: OwnerKey = (0, (0, 0, 0, ""))  # owner_key of the first event, once there is one
            self._base, self._last_ms = INITIAL_STATE, 0
        else:
            self._owner, self._first, self._base, self._base_key, self._last_ms = base
        self._base_first = self._first

    def __bool__(self) -> bool:
        return bool(self._events) or self._base_key is not None  # the owner has an event whenever anyone has

    @property
    def last_received_ms(self) -> int:
        return self._last_ms

    @property
    def ended(self) -> bool:
        """Its owner's last event (in fold order) is an END."""
        return bool(self._events) and self._events[-1].kind is _END

    def retired(self) -> _Retired:
        """What is kept of the session once its events are let go."""
        if self._events:
            return (self._owner, self._first, self._states[-1], self._keys[-1], self._last_ms)
        assert self._base_key is not None
        return (self._owner, self._first, self._base, self._base_key, self._last_ms)

    def events(self) -> list[PlaybackFact]:
        """The owner's events in fold order, then the other viewers'."""
        return self._events + self._foreign

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
        elif self._base_key is not None:
            if event.user_pseudonym != self._owner or key <= self._base_key:
                return None
            if event.received_ms < self._first[0]:
                self._first = (event.received_ms, key)
            state = self._base
        else:
            self._owner, self._first = event.user_pseudonym, (event.received_ms, key)
            state = INITIAL_STATE
        if event.received_ms > self._last_ms:
            self._last_ms = event.received_ms
        state, step = advance(state, event, self._lateness_ms)
        keys.append(key)
        self._events.append(event)
        self._states.append(state)
        self._steps.append(step)
        return step

    def insert(self, event: PlaybackFact) -> list[_Change] | None:
        """Take any event; the changes to book, or ``None`` when it falls among retired events."""
        step = self.append(event)
        if step is not None:  # in order: nothing to refold
            return [(1, event, step)]
        first = owner_key(event)
        if event.user_pseudonym != self._owner:
            if first < self._first and self._base_key is None:  # it came first: the session is theirs
                return self._reown(self._events + self._foreign + [event])
            self._foreign.append(event)
            self._last_ms = max(self._last_ms, event.received_ms)
            return [(1, event, None)]
        if self._base_key is not None and first[1] <= self._base_key:
            return None
        self._first = min(self._first, first)
        self._last_ms = max(self._last_ms, event.received_ms)
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
            if self._base_key is None:
                return self._reown([e for e in self._events + self._foreign if e is not event])
            others = [owner_key(e) for e in self._events if e is not event]
            self._first = min([self._base_first, *others])
        changes: list[_Change] = [(-1, event, self._steps[at])]
        old_states, old_steps = self._states[at + 1 :], self._steps[at + 1 :]
        del self._keys[at], self._events[at]
        del self._states[at:], self._steps[at:]
        return changes + self._refold(at, 0, old_states, old_steps)

    def snapshot(self) -> list[Any]:
        """What ``from_snapshot`` needs: the states and steps are folded again from the events."""
        base = None
        if self._base_key is not None:
            base = [self._owner, self._base_first, list(self._base), self._base_key, 0]
        return [
            base,
            self._owner,
            self._first,
            [_fact_row(e) for e in self._events],
            [_fact_row(e) for e in self._foreign],
            self._last_ms,
        ]

    @classmethod
    def from_snapshot(cls, lateness_ms: int, row: list[Any]) -> _SessionTrack:
        base_row, owner, first, events, foreign, last_ms = row
        base: _Retired | None = None
        if base_row is not None:
            b_owner, b_first, b_state, b_key, _ = base_row
            base = (b_owner, _owner_key(b_first), _state(b_state), _key(b_key), 0)
        track = cls(lateness_ms, base)
        track._owner, track._first, track._last_ms = owner, _owner_key(first), last_ms
        state = track._base
        for event in map(_fact, events):
            state, step = advance(state, event, lateness_ms)
            track._keys.append(session_order_key(event))
            track._events.append(event)
            track._states.append(state)
            track._steps.append(step)
        track._foreign = [_fact(e) for e in foreign]
        return track

    def _reown(self, events: list[PlaybackFact]) -> list[_Change]:
        """Retract everything, then take ``events`` afresh: the owner of the first, folded; the rest apart."""
        changes: list[_Change] = [(-1, e, step) for e, step in zip(self._events, self._steps, strict=True)]
        changes += [(-1, e, None) for e in self._foreign]
        self._keys, self._events, self._states, self._steps, self._foreign = [], [], [], [], []
        if not events:
            return changes
        self._first = min(map(owner_key, events))
        self._owner = min(events, key=owner_key).user_pseudonym
        self._last_ms = max(e.received_ms for e in events)
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
        state = self._states[start - 1] if start else self._base
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

    def row(self) -> list[Any]:
        return [
            self.views,
            sorted(self.viewer_views.items()),
            self.watch_ms,
            self.rebuffer_ms,
            self.rebuffers,
            self.quality_switches,
            sorted(self.rendition_ms.items()),
            self.events,
            self.late_events,
            self.invalid_events,
            self.foreign_events,
            self.expired_events,
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> _Accumulator:
        views, viewers, watch, stalled, stalls, switches, mix, events, late, invalid, foreign, expired = row
        return cls(
            views=views,
            viewer_views=Counter(dict(viewers)),
            watch_ms=watch,
            rebuffer_ms=stalled,
            rebuffers=stalls,
            quality_switches=switches,
            rendition_ms=Counter(dict(mix)),
            events=events,
            late_events=late,
            invalid_events=invalid,
            foreign_events=foreign,
            expired_events=expired,
        )

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


def _normal_mix(mix: tuple[tuple[str, int], ...]) -> bool:
    """``mix`` is as ``_sorted_mix`` makes them: sorted by rendition, each once, no zero."""
    return all(ms for _, ms in mix) and all(a[0] < b[0] for a, b in itertools.pairwise(mix))
