"""Per-minute aggregates: exact against a brute-force reference, and real time == batch under any order.

The stream comes from simulated players (seeded): many sessions with pauses,
seeks, rebuffers, quality changes, restarts, skewed clocks and 2x playback;
other viewers posting into sessions not theirs (some before the owner), events
with values past the bounds; then redelivered copies, retried copies stamped at
another server time, late events (backfills), events past the backfill horizon,
and a shuffle. The reference below restates docs/analytics.md in the plainest
way (quadratic loops, datetimes, sets), sharing no code with the module under test.
"""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.aggregates import (
    EMPTY_STATS,
    BucketKey,
    PlaybackAggregator,
    PlaybackStats,
    aggregate_playback,
    bucket_closes_at,
    bucket_expires_at,
    is_expired,
    is_late,
    merge_buckets,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATENESS = timedelta(minutes=5)
HORIZON = timedelta(minutes=30)  # the backfill horizon of the generated stream (7 days by default)
VIDEO_DURATIONS_MS = {
    "v-short8": 8_000,
    "v-short15": 15_000,
    "v-short19": 19_000,
    "v-20": 20_000,
    "v-45": 45_000,
    "v-2min": 120_000,
    "v-10min": 600_000,
    "v-30": 30_000,
}
RENDITIONS = ("240p", "360p", "720p", "1080p")
K = PlaybackKind
SKEW = timedelta(seconds=5)  # watch time may run this far ahead of the collector's clock
DAY_MS, STALL_MS = 24 * 3_600_000, 10 * 60_000  # the bounds on positions, durations, stalls


# ----- simulated players --------------------------------------------------------------------------


@dataclass
class Session:
    events: list[PlaybackEvent] = field(default_factory=list)
    played_ms: int = 0  # wall time the simulated player spent playing
    known_duration_ms: int | None = None
    fast: bool = False  # played at 2x at some point: watch time is then capped, not equal to position


def simulate_session(rng: random.Random, number: int, ids: Iterable[int]) -> Session:
    id_source = iter(ids)
    video = rng.choice(sorted(VIDEO_DURATIONS_MS))
    duration = VIDEO_DURATIONS_MS[video]
    user = f"u{rng.randrange(30)}"
    skew_ms = rng.randint(-90_000, 90_000) if rng.random() < 0.15 else 0
    session = Session(known_duration_ms=duration if rng.random() < 0.7 else None)
    t = rng.randrange(40 * 60_000)  # true time, ms after T0
    position = 0
    rendition = rng.choice(RENDITIONS)

    def emit(kind: PlaybackKind, *, rendition: str | None = None, duration_ms: int | None = None) -> None:
        true_at = T0 + timedelta(milliseconds=t)
        if rng.random() < 0.01:
            delay = timedelta(milliseconds=rng.randint(20 * 60_000, 40 * 60_000))  # maybe past the horizon
        elif rng.random() < 0.03:
            delay = timedelta(milliseconds=rng.randint(4 * 60_000, 8 * 60_000))  # offline for minutes
        elif kind is K.START:
            delay = timedelta(milliseconds=rng.randint(20, 500))  # sent as playback starts
        else:
            delay = timedelta(milliseconds=rng.randint(20, 15_000))  # batched POSTs
        session.events.append(
            PlaybackEvent(
                event_id=f"e{next(id_source)}",
                occurred_at=true_at + timedelta(milliseconds=skew_ms),
                received_at=true_at + delay,
                session_id=f"s{number}",
                user_pseudonym=user,
                video_id=video,
                kind=kind,
                position_ms=position,
                rendition=rendition,
                duration_ms=duration_ms,
                client="sim/1",
            )
        )

    emit(K.START, rendition=rendition, duration_ms=session.known_duration_ms)
    for _ in range(rng.randint(0, 25)):
        action = rng.random()
        if action < 0.5:  # play, then heartbeat
            speed = 2 if rng.random() < 0.05 else 1
            wall = min(rng.randint(500, 12_000), (duration - position) // speed)
            if wall <= 0:
                t += 1
                emit(K.END, rendition=rendition)
                if rng.random() < 0.5:
                    break
                t += rng.randint(1_000, 30_000)  # watch it again
                position = 0
                emit(K.START, rendition=rendition, duration_ms=session.known_duration_ms)
                continue
            t += wall
            position += wall * speed
            session.played_ms += wall
            session.fast = session.fast or speed > 1
            emit(K.HEARTBEAT, rendition=rendition if rng.random() < 0.5 else None)
        elif action < 0.62:  # pause; nothing is sent on resume
            t += rng.randint(1, 200)
            emit(K.PAUSE)
            t += rng.randint(1_000, 120_000)
        elif action < 0.72:  # seek, usually saying where from
            t += rng.randint(1, 300)
            target = rng.randrange(duration)
            jump = target - position
            position = target
            emit(K.SEEK, duration_ms=jump if rng.random() < 0.95 else None)
        elif action < 0.8:  # stall
            stall = rng.randint(100, 5_000)
            t += stall
            emit(K.REBUFFER, rendition=rendition, duration_ms=stall)
        else:  # quality change, sometimes to the same rendition
            t += rng.randint(1, 50)
            rendition = rng.choice(RENDITIONS)
            emit(K.QUALITY_CHANGE, rendition=rendition)
    return session


def intrusions(rng: random.Random, session: Session, ids: Iterable[int]) -> list[PlaybackEvent]:
    """Another viewer's heartbeats into ``session``, claiming a minute played; one in five comes first.

    Every event keeps a client time of its own (in ms) within the session, as the reference assumes.
    """
    id_source, taken = iter(ids), {e.occurred_at for e in session.events}
    start = session.events[0]
    first = rng.random() < 0.2
    out = []
    for n in range(rng.randint(1, 3)):
        occurred = start.occurred_at + timedelta(milliseconds=rng.randint(1, 30_000))
        if occurred in taken:
            continue
        taken.add(occurred)
        received = start.received_at - timedelta(seconds=1) if first else occurred + timedelta(seconds=3)
        out.append(
            dataclasses.replace(
                start,
                event_id=f"i{next(id_source)}",
                occurred_at=occurred,
                received_at=max(received, occurred - timedelta(minutes=1)) + timedelta(milliseconds=n),
                user_pseudonym="intruder",
                kind=K.HEARTBEAT,
                position_ms=60_000 + n,
                duration_ms=None,
            )
        )
    return out


def out_of_bounds(rng: random.Random, session: Session, ids: Iterable[int]) -> PlaybackEvent:
    """The session's own viewer, saying something no player says, beside one of its events."""
    base = rng.choice(session.events[1:] or session.events)
    base = dataclasses.replace(
        base, event_id=f"x{next(iter(ids))}", occurred_at=base.occurred_at + timedelta(microseconds=500)
    )
    return rng.choice(
        [
            dataclasses.replace(base, kind=K.REBUFFER, duration_ms=2**63 - 1),
            dataclasses.replace(base, kind=K.HEARTBEAT, position_ms=DAY_MS + 1),
            dataclasses.replace(base, kind=K.SEEK, duration_ms=-DAY_MS - 1),
            dataclasses.replace(base, kind=K.START, video_duration_ms=DAY_MS + 1),
        ]
    )


def generate(seed: int, sessions: int) -> tuple[list[Session], list[PlaybackEvent]]:
    """Simulated sessions, and the stream: every event, intruders' and out-of-bounds events too, plus
    redelivered and retried copies, shuffled."""
    rng = random.Random(seed)
    ids = count()
    simulated = [simulate_session(rng, n, ids) for n in range(sessions)]
    extra: list[PlaybackEvent] = []
    for session in simulated:
        if rng.random() < 0.1:
            extra += intrusions(rng, session, ids)
        if rng.random() < 0.03:
            extra.append(out_of_bounds(rng, session, ids))
    stream: list[PlaybackEvent] = []
    for event in [e for s in simulated for e in s.events] + extra:
        stream.append(event)
        if rng.random() < 0.1:  # redelivered: the very same message again
            stream.append(dataclasses.replace(event))
        if rng.random() < 0.05:  # the player retried: the collector stamped it again, maybe earlier
            shift = timedelta(milliseconds=rng.randint(-400_000, 400_000))
            stream.append(
                dataclasses.replace(event, received_at=max(event.occurred_at, event.received_at + shift))
            )
    rng.shuffle(stream)
    return simulated, stream


# ----- the reference ------------------------------------------------------------------------------


def _minute(event: PlaybackEvent) -> datetime:
    return min(event.occurred_at, event.received_at).replace(second=0, microsecond=0)


def _first_received(stream: Iterable[PlaybackEvent]) -> dict[str, PlaybackEvent]:
    first: dict[str, PlaybackEvent] = {}
    for event in stream:  # copies in these streams differ in received_at only
        if event.event_id not in first or event.received_at < first[event.event_id].received_at:
            first[event.event_id] = event
    return first


def _late(event: PlaybackEvent, lateness: timedelta) -> bool:
    return event.received_at >= _minute(event) + timedelta(minutes=1) + lateness


def _expired(event: PlaybackEvent, horizon: timedelta) -> bool:
    return event.received_at >= _minute(event) + timedelta(minutes=1) + horizon


def _invalid(event: PlaybackEvent) -> bool:
    d, v = event.duration_ms, event.video_duration_ms
    if event.position_ms < 0 or event.position_ms > DAY_MS:
        return True
    if v is not None and (v < 0 or v > DAY_MS):
        return True
    if d is None:
        return False
    if event.kind is K.REBUFFER:
        return d < 0 or d > STALL_MS
    if event.kind is K.SEEK:
        return abs(d) > DAY_MS
    return d < 0 or d > DAY_MS


def reference(
    stream: Iterable[PlaybackEvent], lateness: timedelta, horizon: timedelta = timedelta(days=7)
) -> dict[BucketKey, PlaybackStats]:
    rows: dict[BucketKey, dict[str, Any]] = defaultdict(
        lambda: (
            {"views": 0, "viewers": set(), "watch": 0, "stall": 0, "stalls": 0, "switches": 0}
            | {"mix": defaultdict(int), "events": 0, "late": 0, "invalid": 0, "foreign": 0, "expired": 0}
        )
    )
    sessions: dict[tuple[str, str], list[PlaybackEvent]] = defaultdict(list)
    for event in _first_received(stream).values():
        if _expired(event, horizon):
            rows[BucketKey(event.video_id, _minute(event))]["expired"] += 1
        elif _invalid(event):
            rows[BucketKey(event.video_id, _minute(event))]["invalid"] += 1
        else:
            sessions[(event.video_id, event.session_id)].append(event)

    for everyone in sessions.values():
        # the owner: the viewer of the event received first (no two share a receipt and a client time)
        owner = min(everyone, key=lambda e: (e.received_at, e.occurred_at)).user_pseudonym
        for e in everyone:
            if e.user_pseudonym != owner:
                rows[BucketKey(e.video_id, _minute(e))]["foreign"] += 1
        events = [e for e in everyone if e.user_pseudonym == owner]
        events.sort(key=lambda e: e.occurred_at)  # the simulation never sends two at the same time
        played = []
        for i, e in enumerate(events):
            if i == 0 or e.kind is K.START or (e.kind is K.SEEK and e.duration_ms is None):
                played.append(0)
                continue
            before = events[i - 1]
            origin = (
                e.position_ms - e.duration_ms
                if e.kind is K.SEEK and e.duration_ms is not None
                else e.position_ms
            )
            elapsed = (e.occurred_at - before.occurred_at) // timedelta(milliseconds=1)
            played.append(max(0, min(origin - before.position_ms, elapsed)))
        # what was played, but never ahead of the collector's clock by more than the skew, except what
        # backfilled (late) events report: the collector saw none of it live, the player's clock counts,
        # and for the on-time events a backfill stands as received at its (clamped) client time
        watched: list[int] = []
        for i, e in enumerate(events):
            if _late(e, lateness):
                credited = max(sum(watched), sum(played[: i + 1]))
            else:
                seen_at = [
                    min(x.occurred_at, x.received_at) if _late(x, lateness) else x.received_at
                    for x in events[: i + 1]
                ]
                seen = e.received_at - min(seen_at) + SKEW
                credited = max(sum(watched), min(sum(played[: i + 1]), seen // timedelta(milliseconds=1)))
            watched.append(credited - sum(watched))
        view_at = None
        for i in range(len(events)):
            total = sum(watched[: i + 1])
            durations = [
                x.duration_ms for x in events[: i + 1] if x.kind not in (K.SEEK, K.REBUFFER) and x.duration_ms
            ]
            duration = durations[-1] if durations else None
            if total >= 10_000 or (
                duration is not None and duration < 20_000 and total > 0 and 2 * total >= duration
            ):
                view_at = i
                break
        for i, e in enumerate(events):
            row = rows[BucketKey(e.video_id, _minute(e))]
            row["events"] += 1
            row["late"] += _late(e, lateness)
            reported = [x.rendition for x in events[:i] if x.rendition]
            if watched[i]:
                row["watch"] += watched[i]
                row["mix"][reported[-1] if reported else (e.rendition or "unknown")] += watched[i]
            if e.rendition and reported and e.rendition != reported[-1]:
                row["switches"] += 1
            if e.kind is K.REBUFFER:
                row["stall"] += e.duration_ms or 0
                row["stalls"] += 1
            if i == view_at:
                row["views"] += 1
                row["viewers"].add(e.user_pseudonym)

    return {
        key: PlaybackStats(
            views=row["views"],
            viewers=frozenset(row["viewers"]),
            watch_ms=row["watch"],
            rebuffer_ms=row["stall"],
            rebuffers=row["stalls"],
            quality_switches=row["switches"],
            rendition_ms=tuple(sorted(row["mix"].items())),
            events=row["events"],
            late_events=row["late"],
            invalid_events=row["invalid"],
            foreign_events=row["foreign"],
            expired_events=row["expired"],
        )
        for key, row in rows.items()
    }


# ----- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated() -> tuple[list[Session], list[PlaybackEvent]]:
    return generate(seed=20240501, sessions=400)


def test_the_generated_stream_has_what_it_should(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    simulated, stream = generated
    distinct = _first_received(stream)
    assert len(stream) - len(distinct) > 500  # duplicates
    assert sum(_late(e, LATENESS) and not _expired(e, HORIZON) for e in distinct.values()) > 50  # backfills
    assert sum(_expired(e, HORIZON) for e in distinct.values()) >= 10
    assert sum(e.user_pseudonym == "intruder" for e in distinct.values()) > 50  # foreign events
    assert sum(_invalid(e) for e in distinct.values()) >= 5
    in_order = sorted(stream, key=lambda e: (e.session_id, e.occurred_at))
    assert in_order != stream  # out of order
    assert sum(s.known_duration_ms is not None and s.known_duration_ms < 20_000 for s in simulated) > 50


def test_batch_equals_the_reference(generated: tuple[list[Session], list[PlaybackEvent]]) -> None:
    _, stream = generated
    expected = reference(stream, LATENESS, HORIZON)
    actual = aggregate_playback(stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON)
    assert actual == expected
    assert sum(s.views for s in actual.values()) > 100
    assert sum(s.late_events for s in actual.values()) > 50
    assert sum(s.expired_events for s in actual.values()) >= 10
    assert sum(s.foreign_events for s in actual.values()) > 50
    assert sum(s.invalid_events for s in actual.values()) >= 5
    assert "intruder" not in PlaybackStats.merge_all(actual.values()).viewers  # never a view of theirs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_equals_batch_on_shuffled_streams(
    generated: tuple[list[Session], list[PlaybackEvent]], seed: int
) -> None:
    _, stream = generated
    batch = aggregate_playback(stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON)
    shuffled = list(stream)
    random.Random(seed).shuffle(shuffled)
    aggregator = PlaybackAggregator(allowed_lateness=LATENESS, backfill_horizon=HORIZON, retire_after=None)
    store: dict[BucketKey, PlaybackStats] = {}  # what a view store upserting apply()'s rows would hold
    for event in shuffled:
        for key, stats in aggregator.apply(event).items():
            if stats.is_empty:
                store.pop(key, None)
            else:
                store[key] = stats
    assert aggregator.buckets() == batch
    assert store == batch
    assert aggregator.duplicates == len(stream) - len(_first_received(stream))


def test_incremental_in_client_time_order_equals_batch(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    _, stream = generated
    aggregator = PlaybackAggregator(allowed_lateness=LATENESS, backfill_horizon=HORIZON, retire_after=None)
    in_client_order = sorted(stream, key=lambda e: (e.occurred_at, e.event_id))
    aggregator.apply_all(in_client_order)
    assert aggregator.buckets() == aggregate_playback(
        stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON
    )


def test_applying_everything_again_changes_nothing(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    _, stream = generated
    aggregator = PlaybackAggregator(allowed_lateness=LATENESS, backfill_horizon=HORIZON, retire_after=None)
    aggregator.apply_all(stream)
    before = aggregator.buckets()
    assert all(aggregator.apply(event) == {} for event in stream)
    assert aggregator.buckets() == before
    assert aggregate_playback(stream + stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON) == before


def test_partition_aggregates_merge_into_the_whole(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    _, stream = generated
    partitions: list[list[PlaybackEvent]] = [[], [], []]
    for event in stream:  # keyed by session, as on the playback-event topic
        partitions[int(event.session_id[1:]) % 3].append(event)
    parts = [aggregate_playback(p, allowed_lateness=LATENESS, backfill_horizon=HORIZON) for p in partitions]
    assert merge_buckets(parts) == aggregate_playback(
        stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON
    )


def test_watch_time_and_views_are_what_the_players_did(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    simulated, stream = generated
    first = _first_received(stream)

    def prompt(s: Session) -> bool:
        """No event reached the collector more than the skew sooner after it happened than the START:
        then the collector's clock never holds the watch time back."""
        delays = [first[e.event_id].received_at - e.occurred_at for e in s.events]
        return all(d >= delays[0] - SKEW for d in delays)

    exact = [
        s
        for s in simulated
        if not s.fast and prompt(s) and not any(_expired(first[e.event_id], HORIZON) for e in s.events)
    ]
    assert len(exact) > 200
    ids = {e.event_id for s in exact for e in s.events}
    totals = PlaybackStats.merge_all(
        aggregate_playback(
            (e for e in stream if e.event_id in ids), allowed_lateness=LATENESS, backfill_horizon=HORIZON
        ).values()
    )
    assert totals.watch_ms == sum(s.played_ms for s in exact)

    def viewed(s: Session) -> bool:
        short = s.known_duration_ms is not None and s.known_duration_ms < 20_000
        return s.played_ms >= 10_000 or (
            short and s.played_ms > 0 and 2 * s.played_ms >= (s.known_duration_ms or 0)
        )

    assert totals.views == sum(viewed(s) for s in exact)
    assert totals.rendition_mix and sum(totals.rendition_mix.values()) == totals.watch_ms


# ----- hand-made cases ----------------------------------------------------------------------------

_ids = count()


def ev(
    kind: PlaybackKind,
    at: timedelta,
    position_ms: int,
    *,
    received: timedelta | None = None,
    session: str = "s1",
    user: str = "u1",
    rendition: str | None = None,
    duration_ms: int | None = None,
    event_id: str | None = None,
) -> PlaybackEvent:
    return PlaybackEvent(
        event_id=event_id or f"h{next(_ids)}",
        occurred_at=T0 + at,
        received_at=T0 + (at + timedelta(seconds=2) if received is None else received),
        session_id=session,
        user_pseudonym=user,
        video_id="v1",
        kind=kind,
        position_ms=position_ms,
        rendition=rendition,
        duration_ms=duration_ms,
    )


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def key(minute: int) -> BucketKey:
    return BucketKey("v1", T0 + timedelta(minutes=minute))


def test_a_view_belongs_to_the_minute_it_qualified_in() -> None:
    events = [
        ev(K.START, s(55), 0, rendition="720p"),
        ev(K.HEARTBEAT, s(60), 5_000),
        ev(K.HEARTBEAT, s(65), 10_000),
        ev(K.REBUFFER, s(67), 10_000, duration_ms=2_000),
        ev(K.HEARTBEAT, s(70), 13_000, rendition="1080p"),
    ]
    assert aggregate_playback(events) == {
        key(0): PlaybackStats(events=1),
        key(1): PlaybackStats(
            views=1,
            viewers=frozenset({"u1"}),
            watch_ms=13_000,
            rebuffer_ms=2_000,
            rebuffers=1,
            quality_switches=1,
            rendition_ms=(("720p", 13_000),),
            events=4,
        ),
    }
    stats = aggregate_playback(events)[key(1)]
    assert stats.avg_view_duration_ms == 13_000
    assert stats.rebuffer_ratio == 2_000 / 15_000
    assert stats.unique_viewers == 1


def test_unique_viewers_count_users_not_sessions() -> None:
    events = []
    for session, user in (("a", "u1"), ("b", "u1"), ("c", "u2")):
        events += [
            ev(K.START, s(1), 0, session=session, user=user),
            ev(K.END, s(20), 19_000, session=session, user=user),
        ]
    [stats] = aggregate_playback(events).values()
    assert (stats.views, stats.unique_viewers) == (3, 2)


def test_lateness_boundary_is_the_bucket_end_plus_the_allowed_lateness() -> None:
    closes = bucket_closes_at(T0, LATENESS)
    assert closes == T0 + timedelta(minutes=6)
    on_time = ev(K.HEARTBEAT, s(30), 0, received=timedelta(minutes=6) - timedelta(milliseconds=1))
    late = ev(K.HEARTBEAT, s(30), 0, received=timedelta(minutes=6))
    assert not is_late(on_time, LATENESS)
    assert is_late(late, LATENESS)
    assert aggregate_playback([late], allowed_lateness=LATENESS) == {
        key(0): PlaybackStats(events=1, late_events=1)
    }


def test_past_the_backfill_horizon_an_event_changes_nothing_but_expired_events() -> None:
    assert bucket_expires_at(T0, HORIZON) == T0 + timedelta(minutes=31)
    start = ev(K.START, s(0), 0)
    within = ev(K.HEARTBEAT, s(12), 12_000, received=timedelta(minutes=31) - timedelta(milliseconds=1))
    past = dataclasses.replace(within, event_id="past", received_at=T0 + timedelta(minutes=31))
    assert not is_expired(within, HORIZON) and is_expired(past, HORIZON)
    expired = both_paths([start, past], horizon=HORIZON)
    assert expired == {key(0): PlaybackStats(events=1, expired_events=1)}
    counted = both_paths([start, within], horizon=HORIZON)[key(0)]
    assert (counted.events, counted.late_events, counted.views, counted.watch_ms) == (2, 1, 1, 12_000)
    with pytest.raises(ValueError, match="at least the allowed lateness"):
        PlaybackAggregator(allowed_lateness=LATENESS, backfill_horizon=timedelta(minutes=1))


def test_a_late_event_is_counted_in_its_own_minute_by_the_players_clock() -> None:
    """A phone that played offline: its events reach the collector long after, all in one POST."""
    posted = timedelta(hours=2)
    offline = [
        ev(K.START, s(0), 0, received=posted, rendition="720p"),
        ev(K.HEARTBEAT, s(30), 30_000, received=posted),
        ev(K.HEARTBEAT, s(75), 75_000, received=posted),
        ev(K.END, s(80), 80_000, received=posted),
    ]
    backlog = both_paths(offline)
    paced = both_paths([dataclasses.replace(e, received_at=e.occurred_at + s(2)) for e in offline])
    assert backlog == {k: dataclasses.replace(v, late_events=v.events) for k, v in paced.items()}
    assert (backlog[key(0)].views, backlog[key(0)].watch_ms, backlog[key(1)].watch_ms) == (1, 30_000, 50_000)


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5])
def test_a_session_split_across_an_outage_folds_as_if_it_had_all_come_on_time(cut: int) -> None:
    """The first events on time, the rest held back (a collector outage), or the other way round."""
    played = [
        ev(K.START, s(0), 0, rendition="360p"),
        ev(K.HEARTBEAT, s(5), 5_000),
        ev(K.HEARTBEAT, s(40), 40_000, rendition="720p"),
        ev(K.REBUFFER, s(42), 40_000, duration_ms=2_000),
        ev(K.HEARTBEAT, s(95), 93_000),
        ev(K.END, s(130), 128_000),
    ]
    on_time = both_paths(played)
    for held in (played[cut:], played[:cut]):
        mixed = [
            dataclasses.replace(e, received_at=T0 + timedelta(hours=1)) if e in held else e for e in played
        ]
        buckets = both_paths(mixed)
        assert {k: dataclasses.replace(v, late_events=0) for k, v in buckets.items()} == on_time
        assert sum(v.late_events for v in buckets.values()) == len(held)


def test_the_copy_received_first_wins_whatever_order_copies_arrive_in() -> None:
    start = ev(K.START, s(0), 0)
    on_time = ev(K.HEARTBEAT, s(12), 12_000, event_id="hb")
    late_copy = dataclasses.replace(on_time, received_at=T0 + timedelta(minutes=9))
    expected = aggregate_playback([start, on_time])
    assert expected[key(0)].views == 1
    for order in ([start, late_copy, on_time], [start, on_time, late_copy], [late_copy, on_time, start]):
        assert aggregate_playback(order) == expected
        aggregator = PlaybackAggregator(retire_after=None)
        aggregator.apply_all(order)
        assert aggregator.buckets() == expected


def test_an_event_arriving_late_in_the_stream_retracts_a_view() -> None:
    aggregator = PlaybackAggregator(retire_after=None)
    aggregator.apply(ev(K.START, s(0), 0))
    assert aggregator.apply(ev(K.HEARTBEAT, s(30), 30_000))[key(0)].views == 1
    # it turns out the viewer had jumped from 2 s to 25 s: only 7 s watched
    changed = aggregator.apply(ev(K.SEEK, s(2), 25_000, duration_ms=23_000))
    assert changed == {key(0): PlaybackStats(watch_ms=7_000, rendition_ms=(("unknown", 7_000),), events=3)}


def test_withdrawing_the_last_event_of_a_bucket_empties_it() -> None:
    expired = ev(K.START, s(70), 0, received=timedelta(minutes=40), event_id="x")
    on_time_copy = dataclasses.replace(expired, received_at=T0 + s(71))
    aggregator = PlaybackAggregator(backfill_horizon=HORIZON, retire_after=None)
    assert aggregator.apply(expired) == {key(1): PlaybackStats(expired_events=1)}
    assert aggregator.apply(on_time_copy) == {key(1): PlaybackStats(events=1)}
    late = dataclasses.replace(on_time_copy, event_id="late", received_at=T0 + timedelta(minutes=20))
    assert aggregator.apply(late) == {key(1): PlaybackStats(events=2, late_events=1)}
    aggregator2 = PlaybackAggregator(backfill_horizon=HORIZON, retire_after=None)
    aggregator2.apply(ev(K.START, s(0), 0, event_id="y", received=timedelta(minutes=40)))
    assert aggregator2.bucket(key(0)) == PlaybackStats(expired_events=1)
    assert aggregator2.bucket(key(5)) == EMPTY_STATS


def test_a_player_clock_running_fast_is_clamped_to_server_time() -> None:
    event = ev(K.START, timedelta(minutes=10), 0, received=s(30))
    assert list(aggregate_playback([event])) == [key(0)]


def test_naive_times_are_refused() -> None:
    naive = dataclasses.replace(ev(K.START, s(0), 0), occurred_at=datetime(2024, 5, 1, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        aggregate_playback([naive])


def test_merge_is_commutative_and_associative(generated: tuple[list[Session], list[PlaybackEvent]]) -> None:
    _, stream = generated
    stats = list(aggregate_playback(stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON).values())[
        :40
    ]
    a, b, c = stats[0], stats[1], stats[2]
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(EMPTY_STATS) == a
    shuffled = list(stats)
    random.Random(9).shuffle(shuffled)
    assert PlaybackStats.merge_all(stats) == PlaybackStats.merge_all(shuffled)


def test_merging_one_aggregate_gives_what_merging_it_with_nothing_gives(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    _, stream = generated
    for stats in list(
        aggregate_playback(stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON).values()
    ):
        assert PlaybackStats.merge_all([stats]) == stats.merge(EMPTY_STATS) == stats
    # one read from a document written by other code: its mix is put in order, zeros left out
    odd = PlaybackStats(views=1, watch_ms=5, rendition_ms=(("720p", 5), ("360p", 0), ("1080p", 0)))
    assert PlaybackStats.merge_all([odd]).rendition_ms == (("720p", 5),)
    assert PlaybackStats.merge_all([PlaybackStats(rendition_ms=(("b", 1), ("a", 2)))]).rendition_ms == (
        ("a", 2),
        ("b", 1),
    )


# ----- ownership, bounds, the collector's clock ---------------------------------------------------


def both_paths(
    events: list[PlaybackEvent], *, horizon: timedelta = timedelta(days=7)
) -> dict[BucketKey, PlaybackStats]:
    """The batch result, after checking the real-time fold agrees in every order of the events."""
    batch = aggregate_playback(events, backfill_horizon=horizon)
    for order in {tuple(events), tuple(reversed(events)), *(tuple(random.sample(events, len(events))),) * 3}:
        aggregator = PlaybackAggregator(backfill_horizon=horizon, retire_after=None)
        aggregator.apply_all(order)
        assert aggregator.buckets() == batch
    return batch


def test_another_viewers_events_for_a_session_are_counted_apart() -> None:
    owner = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(2), 2_000)]
    intruder = [ev(K.HEARTBEAT, s(n), 30_000 + n * 1000, user="u2") for n in (3, 30, 31)]
    stats = both_paths(owner + intruder)[key(0)]
    assert (stats.watch_ms, stats.views, stats.viewers) == (2_000, 0, frozenset())  # 2 s, not 30 s
    assert (stats.events, stats.foreign_events) == (2, 3)


def test_the_viewer_received_first_owns_the_session_whatever_the_client_times_say() -> None:
    backdated = ev(K.START, s(-30), 0, user="u2", received=s(10))  # claims to have started earlier
    owner = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(12), 12_000)]  # received at 2 s and 14 s
    buckets = both_paths([*owner, backdated])
    stats = buckets[key(0)]
    assert (stats.views, stats.viewers, stats.watch_ms) == (1, frozenset({"u1"}), 12_000)
    assert buckets[key(-1)] == PlaybackStats(foreign_events=1)  # in the minute it claims


def test_a_session_changes_hands_when_an_earlier_copy_of_its_first_event_turns_up() -> None:
    """A retried START of u2 stamped before u1's first event: u2's session after all."""
    u1 = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(12), 12_000)]
    u2_late_copy = ev(K.START, s(1), 0, user="u2", received=s(20), event_id="u2-start")
    u2_first_copy = dataclasses.replace(u2_late_copy, received_at=T0)
    aggregator = PlaybackAggregator(retire_after=None)
    aggregator.apply_all([*u1, u2_late_copy])
    assert aggregator.bucket(key(0)).viewers == frozenset({"u1"})
    changed = aggregator.apply(u2_first_copy)
    assert changed[key(0)] == PlaybackStats(events=1, foreign_events=2)  # u2 started, u1's are apart
    assert aggregator.buckets() == aggregate_playback([*u1, u2_late_copy, u2_first_copy])


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (K.REBUFFER, {"duration_ms": 2**63 - 1}),  # pushed rebuffer_ms to 1.8e19 before
        (K.REBUFFER, {"duration_ms": 10 * 60_000 + 1}),
        (K.HEARTBEAT, {"position_ms": 24 * 3_600_000 + 1}),
        (K.SEEK, {"duration_ms": -(24 * 3_600_000) - 1}),
        (K.START, {"duration_ms": 24 * 3_600_000 + 1}),
        (K.HEARTBEAT, {"position_ms": -1}),
    ],
)
def test_an_event_past_the_bounds_is_counted_as_invalid_and_nowhere_else(
    kind: PlaybackKind, fields: dict[str, Any]
) -> None:
    wild = dataclasses.replace(ev(kind, s(5), 5_000), **fields)
    sane = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(10), 10_000)]
    stats = both_paths([*sane, wild])[key(0)]
    assert stats == dataclasses.replace(both_paths(sane)[key(0)], invalid_events=1)
    video = dataclasses.replace(ev(K.START, s(1), 0), video_duration_ms=24 * 3_600_000 + 1)
    assert both_paths([video])[key(0)] == PlaybackStats(invalid_events=1)


def test_watch_time_waits_for_the_collector_to_see_the_time_pass() -> None:
    """START and a heartbeat 11 s later, POSTed together: 5 s (the skew) now, the rest once it is seen."""
    together = s(11)
    start = ev(K.START, s(0), 0, received=together)
    heartbeat = ev(K.HEARTBEAT, s(11), 11_000, received=together)
    assert both_paths([start, heartbeat])[key(0)].watch_ms == 5_000
    assert both_paths([start, heartbeat])[key(0)].views == 0
    later = ev(K.HEARTBEAT, s(16), 16_000, received=together + s(5))
    stats = both_paths([start, heartbeat, later])[key(0)]
    assert (stats.watch_ms, stats.views) == (10_000, 1)  # 5 s seen + 5 s skew: the view, at last
    paced = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(11), 11_000)]  # POSTed as it happened
    assert both_paths(paced)[key(0)].watch_ms == 11_000


def test_240_sessions_in_one_post_make_no_view() -> None:
    """The incident: one POST, each session a START and a heartbeat 11 s later, as the topic would hold it."""
    posted = s(20)
    events = [
        e
        for n in range(240)
        for e in (
            ev(K.START, s(5), 0, session=f"bot-{n}", received=posted),
            ev(K.HEARTBEAT, s(16), 11_000, session=f"bot-{n}", received=posted),
        )
    ]
    [stats] = aggregate_playback(events).values()
    assert (stats.views, stats.watch_ms) == (0, 240 * 5_000)


# ----- bounded state: retirement and snapshots ----------------------------------------------------


def _without_expired(buckets: dict[BucketKey, PlaybackStats]) -> dict[BucketKey, PlaybackStats]:
    return {k: dataclasses.replace(v, expired_events=0) for k, v in buckets.items()}


def _received_order(stream: list[PlaybackEvent]) -> list[PlaybackEvent]:
    """As a partition of playback-event holds them: by the collector's clock."""
    return sorted(stream, key=lambda e: (e.received_at, e.event_id))


def test_retiring_idle_sessions_keeps_the_numbers_exact_when_nothing_comes_back_out_of_order(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    """Events in the generated stream arrive at most 40 minutes after they happened: sessions retired
    after 45 idle minutes get nothing out of order afterwards, and the state is let go as it goes."""
    _, stream = generated
    batch = aggregate_playback(stream, allowed_lateness=LATENESS, backfill_horizon=HORIZON)
    aggregator = PlaybackAggregator(
        allowed_lateness=LATENESS,
        backfill_horizon=HORIZON,
        retire_after=timedelta(minutes=45),
        session_horizon=timedelta(hours=2),
        retire_ended_after=timedelta(minutes=45),
    )
    store: dict[BucketKey, PlaybackStats] = {}
    for event in _received_order(stream):
        for key, stats in aggregator.apply(event).items():  # rows upserted: what the view holds
            store.pop(key, None) if stats.is_empty else store.__setitem__(key, stats)
    # an expired event reaches a minute already let go (it is past the horizon): counted apart
    assert store == {k: v for k, v in _without_expired(batch).items() if not v.is_empty}
    expired = sum(v.expired_events for v in batch.values())
    assert (aggregator.unplaced, aggregator.unbooked) == (0, expired) and expired >= 10
    size = aggregator.state_size()
    assert size["retired_sessions"] > 250 and size["live_sessions"] < 150  # of 400 sessions
    assert size["event_ids"] < len(_first_received(stream)) / 2  # the retired sessions' ids are let go


def test_the_rest_of_a_retired_session_folds_onto_where_it_stopped() -> None:
    """A collector outage longer than the idle timeout: the session's rest comes an hour later."""
    first_half = [ev(K.START, s(0), 0, rendition="720p"), ev(K.HEARTBEAT, s(5), 5_000)]
    rest = [
        ev(K.HEARTBEAT, s(40), 40_000, received=timedelta(hours=1)),
        ev(K.END, s(60), 60_000, received=timedelta(hours=1)),
    ]
    # another session keeps the partition's clock moving meanwhile
    ticker = [ev(K.HEARTBEAT, timedelta(minutes=m), 0, session="tick") for m in range(1, 60, 5)]
    stream = _received_order([*first_half, *ticker, *rest])
    aggregator = PlaybackAggregator()
    retired_at_some_point = False
    for event in stream:
        aggregator.apply(event)
        retired_at_some_point = retired_at_some_point or aggregator.retired_sessions > 0
    assert retired_at_some_point
    assert aggregator.buckets() == aggregate_playback(stream)
    assert aggregator.buckets()[key(0)].views == 1 and aggregator.unplaced == 0


def test_an_event_among_a_retired_sessions_events_is_left_out_and_counted() -> None:
    """The documented limit: what falls before a retired session's last event cannot be placed."""
    session = [ev(K.START, s(0), 0), ev(K.HEARTBEAT, s(12), 12_000), ev(K.END, s(20), 20_000)]
    ticker = [ev(K.HEARTBEAT, timedelta(minutes=m), 0, session="tick") for m in range(1, 40, 5)]
    aggregator = PlaybackAggregator()
    aggregator.apply_all(_received_order([*session, *ticker]))
    before = aggregator.buckets()
    copy = dataclasses.replace(session[1])  # a redelivered copy, half an hour on
    between = ev(K.SEEK, s(15), 2_000, duration_ms=-18_000, received=timedelta(minutes=40))
    assert aggregator.apply(copy) == {} and aggregator.apply(between) == {}
    assert aggregator.buckets() == before and aggregator.unplaced == 2


def test_a_snapshot_goes_on_exactly_as_the_aggregator_it_was_taken_from(
    generated: tuple[list[Session], list[PlaybackEvent]],
) -> None:
    _, stream = generated
    ordered = _received_order(stream)
    settings: dict[str, Any] = {
        "allowed_lateness": LATENESS,
        "backfill_horizon": HORIZON,
        "retire_after": timedelta(minutes=45),
        "session_horizon": timedelta(hours=2),
        "retire_ended_after": timedelta(minutes=45),
    }
    whole = PlaybackAggregator(**settings)
    for cut in (len(ordered) // 3, 2 * len(ordered) // 3):
        part = PlaybackAggregator(**settings)
        part.apply_all(ordered[:cut])
        data = part.to_snapshot()
        restored = PlaybackAggregator.from_snapshot(data, **settings)
        assert restored.buckets() == part.buckets() and restored.state_size() == part.state_size()
        assert restored.to_snapshot() == data
        rows = [restored.apply(event) for event in ordered[cut:]]  # what it writes, row by row
        assert rows == [part.apply(event) for event in ordered[cut:]]
        assert restored.to_snapshot() == part.to_snapshot() and restored.unbooked == part.unbooked
    whole.apply_all(ordered)
    with pytest.raises(ValueError, match="other settings"):
        PlaybackAggregator.from_snapshot(
            whole.to_snapshot(), **{**settings, "backfill_horizon": timedelta(hours=1)}
        )
    with pytest.raises(ValueError, match="unreadable"):
        PlaybackAggregator.from_snapshot(b"not a snapshot", **settings)


def test_the_state_follows_the_live_sessions_not_the_history() -> None:
    """Four hours of sessions at a steady rate: what is kept stays at what the last minutes hold."""
    rng = random.Random(4)
    events: list[PlaybackEvent] = []
    for n in range(2_400):  # one session every 6 s, each a START and a heartbeat every 5 s for a minute
        begin = timedelta(seconds=6 * n)
        events += [ev(K.START, begin, 0, session=f"s{n}", user=f"u{rng.randrange(50)}")]
        events += [
            ev(K.HEARTBEAT, begin + s(t), t * 1000, session=f"s{n}", user=events[-1].user_pseudonym)
            for t in range(5, 65, 5)
        ]
    aggregator = PlaybackAggregator(retire_after=timedelta(minutes=15), session_horizon=timedelta(minutes=30))
    peak = 0
    for n, event in enumerate(_received_order(events)):
        aggregator.apply(event)
        if n % 1_000 == 0:
            peak = max(peak, aggregator.state_size()["live_events"] + aggregator.retired_sessions)
    # live: 16 minutes of sessions at 10 a minute, 13 events each; retired: 30 minutes' worth
    assert aggregator.live_sessions <= 17 * 10 and aggregator.retired_sessions <= 31 * 10
    assert peak < 17 * 10 * 13 + 31 * 10 < len(events) / 5
    assert aggregator.buckets() == aggregate_playback(events)
