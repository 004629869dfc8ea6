from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.view import PlaybackViewBuilder

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)


def stream() -> list[tuple[int, PlaybackEvent]]:
    rng = random.Random(3)
    events = []
    for s in range(30):
        begin = T0 + timedelta(seconds=rng.randrange(600))
        for i in range(12):
            at = begin + timedelta(seconds=2 * i)
            events.append(
                PlaybackEvent(
                    event_id=f"00000000-0000-4000-8000-{s:04d}{i:08d}",
                    occurred_at=at,
                    received_at=at + timedelta(seconds=1),
                    session_id=f"s{s}",
                    user_pseudonym=f"u{s % 7}",
                    video_id=f"v{s % 3}",
                    kind=PlaybackKind.START if i == 0 else PlaybackKind.HEARTBEAT,
                    position_ms=2000 * i,
                )
            )
    events += rng.sample(events, 40)  # redelivered copies
    rng.shuffle(events)
    return [(hash(e.session_id) % 3, e) for e in events]


def test_a_batch_writes_the_same_final_rows_as_one_event_at_a_time() -> None:
    events = stream()
    one_by_one: dict[tuple[str, datetime, int], str] = {}
    single = PlaybackViewBuilder()
    for partition, event in events:
        for row in single.apply(partition, event):
            one_by_one[(row.video_id, row.minute, row.partition)] = row.document
    batched: dict[tuple[str, datetime, int], str] = {}
    builder = PlaybackViewBuilder()
    for start in range(0, len(events), 37):
        for row in builder.apply_batch(events[start : start + 37]):
            batched[(row.video_id, row.minute, row.partition)] = row.document
    assert batched == one_by_one
    assert all(batched.values())  # every touched minute has events: no deletions here


def _event(session: str, i: int, at: datetime, kind: PlaybackKind) -> PlaybackEvent:
    return PlaybackEvent(
        event_id=f"00000000-0000-4000-8000-{int(session[1:]):04d}{i:08d}",
        occurred_at=at,
        received_at=at + timedelta(seconds=1),
        session_id=session,
        user_pseudonym="u1",
        video_id="v1",
        kind=kind,
        position_ms=0,
    )


def test_ended_sessions_retire_after_their_own_setting_and_settings_that_do_not_fit_are_refused() -> None:
    sooner = PlaybackViewBuilder(retire_after=timedelta(minutes=15), retire_ended_after=timedelta(minutes=5))
    default = PlaybackViewBuilder(retire_after=timedelta(minutes=15))
    ended = [
        _event("s1", 0, T0, PlaybackKind.START),
        _event("s1", 1, T0 + timedelta(seconds=5), PlaybackKind.END),
    ]
    later = _event("s2", 0, T0 + timedelta(minutes=7), PlaybackKind.START)  # moves the clock 7 minutes on
    for builder in (sooner, default):
        builder.apply_batch([(0, e) for e in [*ended, later]])
    assert sooner.state_size(0)["retired_sessions"] == 1  # s1 ended more than 5 minutes ago
    assert default.state_size(0)["retired_sessions"] == 0  # ...but is not idle for 15 yet

    for wrong in (timedelta(minutes=20), timedelta(seconds=1)):  # past retire_after; within the lateness
        with pytest.raises(ValueError, match="retire_ended_after"):
            PlaybackViewBuilder(retire_after=timedelta(minutes=15), retire_ended_after=wrong)
