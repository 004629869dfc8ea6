"""The interactions fold: whole rows per (viewer, video, partition), the same under redelivery and replay."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.facts import PlaybackFact, fact_of
from stream_apps.recs.fold import InteractionFold
from stream_apps.recs.interactions import watch_totals

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _session(
    viewer: str, video: str, watched_s: int, begin: datetime, session: str | None = None
) -> list[PlaybackFact]:
    session = session or str(uuid.uuid4())
    events = []
    for kind, at in [
        (PlaybackKind.START, 0),
        *((PlaybackKind.HEARTBEAT, t) for t in range(10, watched_s + 1, 10)),
    ]:
        when = begin + timedelta(seconds=at)
        events.append(
            fact_of(
                PlaybackEvent(
                    event_id=str(uuid.uuid4()),
                    occurred_at=when,
                    received_at=when + timedelta(milliseconds=500),
                    session_id=session,
                    user_pseudonym=viewer,
                    video_id=video,
                    kind=kind,
                    position_ms=at * 1000,
                    video_duration_ms=60_000,
                )
            )
        )
    return events


def test_rows_equal_the_batch_totals_through_duplicates_disorder_and_a_replay() -> None:
    rng = random.Random(3)
    facts = [
        fact
        for i in range(30)
        for fact in _session(f"p{rng.randrange(5)}", f"v{rng.randrange(4)}", rng.choice([10, 30, 60]), NOW)
    ]
    published = facts + rng.sample(facts, 20)  # redelivered copies
    rng.shuffle(published)
    partition_of = {f.session_id: rng.randrange(3) for f in facts}

    fold = InteractionFold()
    rows = {}
    for start in range(0, len(published), 17):
        batch = [(partition_of[f.session_id], f) for f in published[start : start + 17]]
        for row in fold.apply_batch(batch, now=NOW):
            rows[(row.viewer, row.video_id, row.partition)] = row

    expected = {}
    for partition in range(3):
        part = [f for f in facts if partition_of[f.session_id] == partition]
        for (viewer, video), totals in watch_totals(part).items():
            expected[(viewer, video, partition)] = totals
    assert {key: (r.watched_ms, r.sessions, r.completed_sessions) for key, r in rows.items()} == {
        key: (t.watched_ms, t.sessions, t.completed_sessions) for key, t in expected.items()
    }

    # a restarted worker: the partition replayed, then the same events redelivered: the same rows
    replayed = InteractionFold()
    replayed.restore(0, [f for f in published if partition_of[f.session_id] == 0])
    again = replayed.apply_batch([(0, f) for f in published if partition_of[f.session_id] == 0][:5], now=NOW)
    assert again and all(row == rows[(row.viewer, row.video_id, 0)] for row in again)


def test_a_session_that_changes_owner_rewrites_both_rows() -> None:
    fold = InteractionFold()
    session = _session("intruder", "v1", 30, NOW + timedelta(seconds=5), session="s1")
    first = fold.apply_batch([(0, f) for f in session], now=NOW)
    assert [(r.viewer, r.sessions) for r in first] == [("intruder", 1)]
    owner_start = _session("owner", "v1", 0, NOW, session="s1")  # an earlier START: the session is owner's
    rows = fold.apply_batch([(0, f) for f in owner_start], now=NOW)
    assert sorted((r.viewer, r.watched_ms) for r in rows) == [("intruder", 0), ("owner", 0)]
