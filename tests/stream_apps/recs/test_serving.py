"""Serving's pure parts: rows → weights, content similarity, blending, diversity, the cold-start list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stream_apps.recs.interactions import WatchTotals, interaction_weight
from stream_apps.recs.serving import (
    blend,
    content_similarity,
    content_tokens,
    diversify,
    history_of,
    merge_rows,
    popular_and_fresh,
    training_rows,
)
from views.recs import InteractionRow

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _row(
    viewer: str, video: str, partition: int, watched: int, duration: int | None, sessions: int = 1
) -> InteractionRow:
    return InteractionRow(
        viewer=viewer,
        video_id=video,
        partition=partition,
        watched_ms=watched,
        duration_ms=duration,
        sessions=sessions,
        completed_sessions=1 if duration and watched >= duration else 0,
        seeks=0,
        updated_at=T0,
    )


def test_partitions_of_a_pair_add_up_before_they_are_weighed() -> None:
    """Two full watches in two partitions weigh as two sessions (2.25), not two single watches summed (3)."""
    rows = [_row("p", "v", 0, 60_000, 60_000), _row("p", "v", 4, 60_000, None)]
    totals = merge_rows(rows)[("p", "v")]
    assert totals == WatchTotals(
        watched_ms=120_000, duration_ms=60_000, sessions=2, completed_sessions=1, seeks=0
    )
    assert history_of(rows) == {"v": pytest.approx(2.25)}
    assert interaction_weight(totals) == pytest.approx(2.25)


def test_training_rows_leave_out_pairs_without_watch_time() -> None:
    rows = [_row("a", "v1", 0, 30_000, 60_000), _row("b", "v1", 1, 0, 60_000, sessions=0)]
    [(viewer, video, weight)] = training_rows(rows)
    assert (viewer, video) == ("a", "v1") and weight == pytest.approx(0.5)


def test_content_similarity_counts_shared_tags_double_and_ignores_small_words() -> None:
    cats = content_tokens("Cats of the world", ["Cats", "pets"])
    assert cats == {"cats": 1.0, "world": 1.0, "#cats": 2.0, "#pets": 2.0}
    kittens = content_tokens("Kittens", ["cats"])
    cars = content_tokens("Fast cars", ["cars"])
    assert content_similarity(cats, cats) == 1.0
    assert content_similarity(cats, kittens) == pytest.approx(2.0 / 7.0)
    assert content_similarity(cats, cars) == 0.0
    assert content_similarity({}, {}) == 0.0


def test_blend_mixes_item_item_and_content_and_falls_back_to_content_for_a_cold_video() -> None:
    warm = blend({"a": 0.9, "b": -0.5, "c": 0.1}, {"b": 0.5, "c": 0.1, "d": 0.0}, content_weight=0.4)
    assert [v for v, _ in warm] == ["a", "b", "c"]
    assert [s for _, s in warm] == pytest.approx([0.54, 0.2, 0.1])
    cold = blend({}, {"x": 0.2, "y": 0.6, "z": 0.0})  # nobody watched it yet: content alone
    assert [v for v, _ in cold] == ["y", "x"]
    assert [s for _, s in cold] == pytest.approx([0.6, 0.2])


def test_diversify_caps_each_uploader_and_keeps_the_order() -> None:
    ranked = ["a1", "a2", "a3", "a4", "b1", "x1", "a5", "b2"]
    uploader = {v: v[0] for v in ranked if v != "x1"}
    assert diversify(ranked, uploader, n=6, per_uploader=3) == ["a1", "a2", "a3", "b1", "x1", "b2"]
    assert diversify(ranked, uploader, n=2) == ["a1", "a2"]


def test_the_cold_start_list_takes_popular_and_newest_in_turn_each_once() -> None:
    assert popular_and_fresh(["p1", "p2", "n1", "p3"], ["n1", "n2"]) == ["p1", "n1", "p2", "n2", "p3"]
    assert popular_and_fresh([], ["n1", "n2"]) == ["n1", "n2"]
