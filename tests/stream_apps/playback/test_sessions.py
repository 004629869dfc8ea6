"""The session fold: watch time from positions, the view rule's edges, rebuffers, quality switches."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.facts import PlaybackFact, fact_of
from stream_apps.playback.sessions import (
    ALLOWED_SKEW_MS,
    UNKNOWN_RENDITION,
    SessionFold,
    fold_session,
    qualifies_as_view,
    session_owner,
)
from stream_apps.playback.time import epoch_ms

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
START, HEARTBEAT, PAUSE, SEEK, END, REBUFFER, QUALITY = (
    PlaybackKind.START,
    PlaybackKind.HEARTBEAT,
    PlaybackKind.PAUSE,
    PlaybackKind.SEEK,
    PlaybackKind.END,
    PlaybackKind.REBUFFER,
    PlaybackKind.QUALITY_CHANGE,
)
_ids = count()


def ev(
    kind: PlaybackKind,
    at_ms: int,
    position_ms: int,
    *,
    rendition: str | None = None,
    duration_ms: int | None = None,
) -> PlaybackEvent:
    at = T0 + timedelta(milliseconds=at_ms)
    return PlaybackEvent(
        event_id=f"e{next(_ids)}",
        occurred_at=at,
        received_at=at + timedelta(seconds=1),
        session_id="s1",
        user_pseudonym="u1",
        video_id="v1",
        kind=kind,
        position_ms=position_ms,
        rendition=rendition,
        duration_ms=duration_ms,
    )


def view_steps(fold: SessionFold) -> list[PlaybackFact]:
    return [event for event, step in fold.steps if step.view]


def test_exactly_ten_seconds_is_a_view_and_one_ms_less_is_not() -> None:
    almost = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 9_999, 9_999)])
    assert almost.final.watched_ms == 9_999
    assert not almost.final.viewed

    exactly = ev(HEARTBEAT, 10_000, 10_000)
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 9_999, 9_999), exactly])
    assert view_steps(fold) == [fact_of(exactly)]
    assert fold.final.viewed_at_ms == epoch_ms(exactly.occurred_at)


@pytest.mark.parametrize(
    ("duration_ms", "not_yet_ms", "view_ms"),
    [
        (12_000, 5_999, 6_000),  # half of a short video
        (11_001, 5_500, 5_501),  # half rounds up: 2 * watched >= duration
        (19_999, 9_999, 10_000),  # just short: half is 9_999.5
        (20_000, 9_999, 10_000),  # not short: the 10 s rule
        (60_000, 9_999, 10_000),
    ],
)
def test_short_video_needs_half_its_duration(duration_ms: int, not_yet_ms: int, view_ms: int) -> None:
    start = ev(START, 0, 0, duration_ms=duration_ms)
    assert not fold_session([start, ev(HEARTBEAT, not_yet_ms, not_yet_ms)]).final.viewed
    assert fold_session([start, ev(HEARTBEAT, view_ms, view_ms)]).final.viewed


def test_unknown_duration_means_the_ten_second_rule() -> None:
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 6_000, 6_000), ev(END, 8_000, 8_000)])
    assert fold.final.watched_ms == 8_000
    assert not fold.final.viewed


def test_duration_on_rebuffer_and_seek_is_not_the_video_duration() -> None:
    fold = fold_session(
        [ev(START, 0, 0), ev(REBUFFER, 3_000, 2_000, duration_ms=1_000), ev(HEARTBEAT, 5_000, 4_000)]
    )
    assert fold.final.video_duration_ms is None
    assert not fold.final.viewed  # 4 s watched would be half of a "2 s video"


def test_view_rule_function() -> None:
    assert qualifies_as_view(10_000, None)
    assert not qualifies_as_view(9_999, None)
    assert qualifies_as_view(3_000, 6_000)
    assert not qualifies_as_view(0, 0)  # a zero-length video is no reason to count a view
    assert not qualifies_as_view(0, 1)


def test_pause_adds_nothing_however_long() -> None:
    fold = fold_session(
        [
            ev(START, 0, 0),
            ev(HEARTBEAT, 4_000, 4_000),
            ev(PAUSE, 5_000, 5_000),
            ev(HEARTBEAT, 65_000, 6_000),  # resumed at 64 s, played 1 s
        ]
    )
    assert fold.final.watched_ms == 6_000
    assert not fold.final.viewed


def test_seek_forward_counts_what_was_played_not_the_jump() -> None:
    fold = fold_session(
        [ev(START, 0, 0), ev(SEEK, 3_000, 60_000, duration_ms=57_000), ev(HEARTBEAT, 8_000, 65_000)]
    )
    assert fold.final.watched_ms == 8_000
    assert not fold.final.viewed


def test_seek_without_its_origin_counts_nothing_into_it() -> None:
    fold = fold_session([ev(START, 0, 0), ev(SEEK, 3_000, 60_000), ev(HEARTBEAT, 8_000, 65_000)])
    assert fold.final.watched_ms == 5_000


def test_seeking_back_and_forth_counts_one_view_and_no_jumps() -> None:
    events = [ev(START, 0, 0)]
    at = 0
    for _ in range(4):  # watch 0-4 s, wait half a second, jump back from 4 s to 0; four times
        events.append(ev(HEARTBEAT, at + 2_000, 2_000))
        events.append(ev(HEARTBEAT, at + 4_000, 4_000))
        events.append(ev(SEEK, at + 4_500, 0, duration_ms=-4_000))
        at += 4_500
    events.append(ev(SEEK, at + 100, 50_000, duration_ms=50_000))  # forward and straight back
    events.append(ev(SEEK, at + 200, 1_000, duration_ms=-49_000))
    fold = fold_session(events)
    assert fold.final.watched_ms == 4 * 4_000  # rewatching is watching; the jumps add nothing
    [view] = view_steps(fold)
    assert (view.occurred_ms, view.position_ms) == (epoch_ms(T0) + 11_000, 2_000)  # 10 s reached


def test_view_counts_once_even_when_the_session_restarts() -> None:
    events = [ev(START, 0, 0, duration_ms=15_000), ev(END, 15_000, 15_000)]
    events += [ev(START, 20_000, 0), ev(HEARTBEAT, 35_000, 15_000), ev(END, 35_001, 15_000)]
    fold = fold_session(events)
    assert fold.final.watched_ms == 30_000
    assert len(view_steps(fold)) == 1


def test_nothing_is_counted_into_a_start() -> None:
    fold = fold_session([ev(START, 0, 0), ev(END, 2_000, 2_000), ev(START, 300_000, 200_000)])
    assert fold.final.watched_ms == 2_000


def test_position_going_back_without_a_seek_counts_nothing() -> None:
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 5_000, 5_000), ev(HEARTBEAT, 8_000, 1_000)])
    assert fold.final.watched_ms == 5_000


def test_fast_playback_counts_wall_time() -> None:
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 5_000, 10_000)])
    assert fold.final.watched_ms == 5_000


def test_rebuffering_is_measured_and_not_watched() -> None:
    fold = fold_session(
        [
            ev(START, 0, 0),
            ev(REBUFFER, 3_000, 2_000, duration_ms=1_000),
            ev(REBUFFER, 4_000, 2_500, duration_ms=500),
            ev(HEARTBEAT, 6_000, 4_500),
        ]
    )
    assert fold.final.watched_ms == 4_500
    steps = [step for _, step in fold.steps]
    assert sum(s.rebuffer_ms for s in steps) == 1_500
    assert sum(s.rebuffers for s in steps) == 2


def test_quality_switches_and_rendition_mix() -> None:
    fold = fold_session(
        [
            ev(START, 0, 0, rendition="360p"),
            ev(HEARTBEAT, 4_000, 4_000),  # no rendition reported: still 360p
            ev(QUALITY, 5_000, 5_000, rendition="720p"),  # the 5 s before it played at 360p
            ev(HEARTBEAT, 8_000, 8_000, rendition="720p"),
            ev(QUALITY, 9_000, 9_000, rendition="720p"),  # no change: not a switch
            ev(HEARTBEAT, 12_000, 12_000, rendition="1080p"),  # a change seen on a heartbeat is one
        ]
    )
    steps = [step for _, step in fold.steps]
    assert sum(s.quality_switches for s in steps) == 2
    mix: dict[str, int] = {}
    for s in steps:
        if s.watch_ms:
            mix[s.watch_rendition] = mix.get(s.watch_rendition, 0) + s.watch_ms
    assert mix == {"360p": 5_000, "720p": 7_000}


def test_rendition_first_reported_later_is_the_one_that_played() -> None:
    fold = fold_session(
        [ev(START, 0, 0), ev(HEARTBEAT, 3_000, 3_000, rendition="480p"), ev(HEARTBEAT, 4_000, 4_000)]
    )
    assert [(s.watch_rendition, s.watch_ms) for _, s in fold.steps if s.watch_ms] == [
        ("480p", 3_000),
        ("480p", 1_000),
    ]
    assert sum(s.quality_switches for _, s in fold.steps) == 0


def test_no_rendition_at_all_is_unknown() -> None:
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 3_000, 3_000)])
    assert [s.watch_rendition for _, s in fold.steps if s.watch_ms] == [UNKNOWN_RENDITION]


def test_fold_does_not_depend_on_input_order() -> None:
    events = [ev(START, 0, 0, rendition="360p", duration_ms=90_000)]
    events += [ev(HEARTBEAT, 2_000 * i, 2_000 * i) for i in range(1, 20)]
    events += [
        ev(PAUSE, 40_500, 40_000),
        ev(SEEK, 41_000, 70_000, duration_ms=30_000),
        ev(END, 60_000, 89_000),
    ]
    expected = fold_session(events)
    rng = random.Random(5)
    for _ in range(10):
        rng.shuffle(events)
        assert fold_session(events) == expected


def test_the_v2_video_duration_field_decides_the_short_video_rule_on_any_kind() -> None:
    start = dataclasses.replace(ev(START, 0, 0), video_duration_ms=8_000)
    fold = fold_session([start, ev(HEARTBEAT, 4_000, 4_000)])  # half of an 8 s video
    assert len(view_steps(fold)) == 1
    stall = dataclasses.replace(ev(REBUFFER, 1_000, 1_000, duration_ms=500), video_duration_ms=8_000)
    fold = fold_session([ev(START, 0, 0), stall, ev(HEARTBEAT, 4_500, 4_000)])
    assert fold.final.video_duration_ms == 8_000  # the stall length was not taken for the duration
    assert len(view_steps(fold)) == 1


def test_the_session_is_its_first_viewers_and_the_others_events_are_set_apart() -> None:
    mine = [ev(START, 0, 0), ev(HEARTBEAT, 2_000, 2_000)]
    theirs = [dataclasses.replace(ev(HEARTBEAT, t, 30_000), user_pseudonym="u2") for t in (2_500, 28_000)]
    fold = fold_session([*theirs, *mine])
    assert [fact_of(e) for e in mine] == [event for event, _ in fold.steps]
    assert {fact_of(e) for e in theirs} == set(fold.foreign)
    assert (fold.final.watched_ms, fold.final.viewed) == (2_000, False)  # not 28 s and a view
    assert session_owner(map(fact_of, [*theirs, *mine])) == "u1"


def test_first_means_received_first_not_the_earliest_client_time() -> None:
    backdated = dataclasses.replace(ev(START, -60_000, 0), user_pseudonym="u2", received_at=T0 + SECOND * 5)
    fold = fold_session([ev(START, 0, 0), ev(HEARTBEAT, 12_000, 12_000), backdated])  # u1's at 1 s
    assert fold.foreign == (fact_of(backdated),)
    assert fold.final.viewed


def test_watch_time_never_runs_ahead_of_the_collectors_clock_by_more_than_the_skew() -> None:
    posted_at = T0 + SECOND * 11  # a START and a heartbeat 11 s later, in one POST
    start, heartbeat = (
        dataclasses.replace(ev(kind, at, at), received_at=posted_at)
        for kind, at in ((START, 0), (HEARTBEAT, 11_000))
    )
    fold = fold_session([start, heartbeat])
    assert (fold.final.played_ms, fold.final.watched_ms) == (11_000, ALLOWED_SKEW_MS)
    assert not fold.final.viewed
    then = dataclasses.replace(ev(HEARTBEAT, 20_000, 20_000), received_at=posted_at + SECOND * 9)
    fold = fold_session([start, heartbeat, then])  # 9 s later the collector has seen enough time pass
    assert (fold.final.played_ms, fold.final.watched_ms) == (20_000, 9_000 + ALLOWED_SKEW_MS)
    assert fold.final.viewed
