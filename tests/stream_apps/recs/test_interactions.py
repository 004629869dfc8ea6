"""Interaction weights (completion, repeats, skims) from watch facts, and the matrix with stable id maps."""

from __future__ import annotations

import random
from itertools import count, pairwise

import numpy as np
import pytest

from schemas.playback_event import PlaybackKind
from stream_apps.playback.facts import PlaybackFact
from stream_apps.recs.errors import InvalidInteractionError
from stream_apps.recs.interactions import (
    InteractionMatrix,
    WatchTotals,
    Weighting,
    build_matrix,
    interaction_weight,
    watch_totals,
    weighted_interactions,
)

MIN = 60_000
_ids = count()


def totals(
    watched_ms: int,
    duration_ms: int | None = 10 * MIN,
    *,
    sessions: int = 1,
    completed: int = 0,
    seeks: int = 0,
) -> WatchTotals:
    return WatchTotals(
        watched_ms=watched_ms,
        duration_ms=duration_ms,
        sessions=sessions,
        completed_sessions=completed,
        seeks=seeks,
    )


def test_a_full_watch_outweighs_half_a_watch_and_the_bonus_needs_a_completed_session() -> None:
    assert interaction_weight(totals(10 * MIN, completed=1)) == pytest.approx(1.5)
    assert interaction_weight(totals(5 * MIN)) == pytest.approx(0.5)
    # 10 minutes over two sessions of a 10-minute video, neither reaching 90%: no bonus
    assert interaction_weight(totals(10 * MIN, sessions=2)) == pytest.approx(1.0 * 1.5)


def test_nothing_watched_weighs_nothing() -> None:
    assert interaction_weight(totals(0)) == 0.0
    assert interaction_weight(totals(0, seeks=5)) == 0.0


def test_an_unknown_duration_counts_five_minutes_as_a_full_watch() -> None:
    assert interaction_weight(totals(MIN, None)) == pytest.approx(0.2)
    assert interaction_weight(totals(60 * MIN, None)) == pytest.approx(1.0)


def test_repeats_add_with_diminishing_returns() -> None:
    weights = [interaction_weight(totals(10 * MIN, sessions=n, completed=1)) for n in range(1, 11)]
    gains = np.diff(weights)
    assert all(gain > 0 for gain in gains)
    assert all(later < earlier for earlier, later in pairwise(gains))
    assert weights[1] == pytest.approx(1.5 * 1.5)  # twice: +50%
    assert weights[3] == pytest.approx(1.5 * 2.0)  # four times: double


def test_a_seek_skim_counts_little_and_a_few_seeks_in_a_real_watch_cost_nothing() -> None:
    skim = interaction_weight(totals(40_000, seeks=10))  # ten jumps, 40 s watched of 10 minutes
    same_time_no_seeks = interaction_weight(totals(40_000))
    assert skim == pytest.approx(40_000 / (10 * MIN) * (2.0 / 15.0))
    assert skim < 0.2 * same_time_no_seeks
    assert skim < 0.02 * interaction_weight(totals(10 * MIN, completed=1))
    assert interaction_weight(totals(8 * MIN, seeks=3)) == interaction_weight(totals(8 * MIN))
    # short clips: the rate is taken over at least 30 s, so one seek in a 20 s watch is no skim
    assert interaction_weight(totals(20_000, 30_000, seeks=1)) == interaction_weight(totals(20_000, 30_000))


def test_weighting_is_validated() -> None:
    with pytest.raises(ValueError, match="completion_fraction"):
        Weighting(completion_fraction=0)
    with pytest.raises(ValueError, match="positive"):
        Weighting(skim_seeks_per_min=0)
    assert interaction_weight(totals(10 * MIN, completed=1), Weighting(completion_bonus=0)) == pytest.approx(
        1
    )


def fact(
    user: str,
    video: str,
    session: str,
    kind: PlaybackKind,
    at_s: float,
    position_s: float,
    *,
    duration_ms: int | None = None,
    event_id: str | None = None,
    received_s: float | None = None,
) -> PlaybackFact:
    at_ms = int(at_s * 1000)
    return PlaybackFact(
        event_id or f"e{next(_ids)}",
        at_ms,
        int((received_s if received_s is not None else at_s) * 1000),
        session,
        user,
        video,
        kind,
        int(position_s * 1000),
        "720p",
        duration_ms if kind is PlaybackKind.SEEK else None,
        "web",
        None if kind is PlaybackKind.SEEK else 60_000,
    )


def played(user: str, video: str, session: str, seconds: int, *, start_s: float = 0.0) -> list[PlaybackFact]:
    """A session that plays ``seconds`` of a one-minute video with a heartbeat every 10 s."""
    events = [fact(user, video, session, PlaybackKind.START, start_s, 0)]
    for t in range(10, seconds + 1, 10):
        events.append(fact(user, video, session, PlaybackKind.HEARTBEAT, start_s + t, t))
    return events


def test_watch_totals_fold_each_session_like_the_analytics_and_dedup_copies() -> None:
    full = played("ann", "v1", "s1", 60)
    again = played("ann", "v1", "s2", 20, start_s=1000)
    opened_only = played("ann", "v1", "s3", 0, start_s=2000)  # a START alone: not a repeat
    copies = [f._replace(received_ms=f.received_ms + 5000) for f in full]  # a retried POST
    skim = [
        fact("bob", "v1", "s4", PlaybackKind.START, 0, 0),
        fact("bob", "v1", "s4", PlaybackKind.SEEK, 2, 22, duration_ms=20_000),
        fact("bob", "v1", "s4", PlaybackKind.SEEK, 4, 44, duration_ms=20_000),
        fact("bob", "v1", "s4", PlaybackKind.HEARTBEAT, 6, 46),
    ]
    facts = full + again + opened_only + copies + skim
    random.Random(3).shuffle(facts)

    got = watch_totals(facts)

    assert got[("ann", "v1")] == WatchTotals(
        watched_ms=80_000, duration_ms=60_000, sessions=2, completed_sessions=1, seeks=0
    )
    assert got[("bob", "v1")] == WatchTotals(
        watched_ms=6_000, duration_ms=60_000, sessions=1, completed_sessions=0, seeks=2
    )
    rows = weighted_interactions(got)
    assert [(u, i) for u, i, _ in rows] == [("ann", "v1"), ("bob", "v1")]
    ann, bob = (w for _, _, w in rows)
    assert ann == pytest.approx(1.5 * 1.5)
    assert bob < 0.1 * ann


def test_a_session_counts_for_its_first_viewer_not_for_another_who_posted_into_it() -> None:
    session = played("ann", "v1", "s1", 30)
    intruder = [
        fact("aaa", "v1", "s1", PlaybackKind.HEARTBEAT, 35, 59),
        fact("aaa", "v1", "s1", PlaybackKind.SEEK, 36, 10, duration_ms=-49_000),
    ]
    got = watch_totals(session + intruder)
    assert got == {("ann", "v1"): totals(30_000, 60_000)}


def test_weighted_interactions_leave_out_zero_weights() -> None:
    rows = weighted_interactions({("u", "a"): totals(0), ("u", "b"): totals(MIN)})
    assert [(u, i) for u, i, _ in rows] == [("u", "b")]
    assert rows[0][2] == pytest.approx(0.1)


def test_matrix_ids_are_sorted_and_the_same_for_any_row_order() -> None:
    rows = [("u2", "b", 1.0), ("u1", "c", 0.5), ("u1", "a", 2.0), ("u3", "a", 1.0), ("u1", "a", 1.0)]
    matrix = build_matrix(rows)
    shuffled = build_matrix(list(reversed(rows)))

    assert matrix.user_ids == ("u1", "u2", "u3")
    assert matrix.item_ids == ("a", "b", "c")
    assert matrix.csr.dtype == np.float32
    np.testing.assert_array_equal(matrix.csr.toarray(), shuffled.csr.toarray())
    dense = matrix.csr.toarray()
    assert dense[matrix.user_index["u1"], matrix.item_index["a"]] == 3.0  # repeated pairs add up
    assert dense.tolist() == [[3.0, 0.0, 0.5], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_matrix_over_given_ids_keeps_their_order_and_drops_rows_of_other_ids() -> None:
    matrix = build_matrix(
        [("u1", "a", 1.0), ("u1", "zzz", 1.0), ("stranger", "a", 1.0)], user_ids=["u1"], item_ids=["b", "a"]
    )
    assert matrix.shape == (1, 2)
    assert matrix.csr.toarray().tolist() == [[0.0, 1.0]]


def test_matrix_refuses_bad_weights_and_leaves_out_zeros() -> None:
    assert build_matrix([("u", "a", 0.0), ("u", "b", 1.0)]).item_ids == ("b",)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInteractionError, match="not a finite value"):
            build_matrix([("u", "a", bad)])
    with pytest.raises(ValueError, match="repeat"):
        build_matrix([], item_ids=["a", "a"])


def test_matrix_shape_must_match_its_ids() -> None:
    with pytest.raises(ValueError, match="ids are"):
        InteractionMatrix(user_ids=("u",), item_ids=(), csr=build_matrix([("u", "a", 1.0)]).csr)
