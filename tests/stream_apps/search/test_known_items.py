"""Known-item queries and their scores, on a catalog small enough to check by hand."""

from __future__ import annotations

import json

import pytest

from stream_apps.search.known_items import (
    QUERY_KINDS,
    CatalogItem,
    KnownItemQuery,
    catalog_from_json,
    fold,
    known_item_queries,
    score_queries,
)

CATALOG = [
    CatalogItem(video_id="a", title="The Grand Budapest Hotel", popularity=10),
    CatalogItem(video_id="b", title="Amélie from Montmartre", popularity=5),
    CatalogItem(video_id="c", title="Interstellar", popularity=7),
    CatalogItem(video_id="d", title="Interstellar", popularity=1),  # a remake: the same title
    CatalogItem(video_id="e", title="Up", popularity=3),
]


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance, to check the typo queries by their definition."""
    d = [[max(i, j) if min(i, j) == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_every_kind_follows_its_definition() -> None:
    queries = known_item_queries(CATALOG, per_kind=5, seed=3)
    titles = {item.title for item in CATALOG}
    by_kind: dict[str, list[KnownItemQuery]] = {}
    for q in queries:
        by_kind.setdefault(q.kind, []).append(q)
    assert set(by_kind) == set(QUERY_KINDS)
    assert {q.text for q in by_kind["exact"]} <= titles
    for q in by_kind["prefix"]:
        assert any(t.startswith(q.text) and t != q.text for t in titles), q
    for q in by_kind["one_typo"]:
        source = next(t for t in titles if len(t.split()) == len(q.text.split()) and _edits(t, q.text) == 1)
        assert any(len(w) >= 5 for w in source.split())
    for q in by_kind["two_typos"]:
        assert any(1 <= _edits(t, q.text) <= 2 for t in titles), q
    assert {q.text for q in by_kind["no_diacritics"]} == {"amelie from montmartre"}
    for q in by_kind["dropped_word"]:
        assert len(q.text.split()) >= 2 and any(len(t.split()) == len(q.text.split()) + 1 for t in titles)
    for q in by_kind["swapped_words"]:
        assert sorted(q.text.split()) in [sorted(t.split()) for t in titles] and q.text not in titles


def test_a_title_shared_by_two_videos_counts_either_as_found() -> None:
    interstellar = [q for q in known_item_queries(CATALOG, per_kind=5) if q.text == "Interstellar"]
    assert interstellar and interstellar[0].relevant == frozenset({"c", "d"})


def test_the_same_seed_makes_the_same_queries() -> None:
    assert known_item_queries(CATALOG, per_kind=3, seed=9) == known_item_queries(CATALOG, per_kind=3, seed=9)


def test_mrr_and_recall_at_10() -> None:
    queries = [
        KnownItemQuery(kind="exact", text="first", relevant=frozenset({"x"})),
        KnownItemQuery(kind="exact", text="second", relevant=frozenset({"x"})),
        KnownItemQuery(kind="exact", text="missing", relevant=frozenset({"x"})),
        KnownItemQuery(kind="exact", text="eleventh", relevant=frozenset({"x"})),
    ]
    answers = {
        "first": ["x", "y"],
        "second": ["y", "x"],
        "missing": ["y"],
        "eleventh": [*(f"n{i}" for i in range(10)), "x"],
    }
    [score] = score_queries(queries, lambda text: answers[text])
    assert score.queries == 4
    assert score.mrr == pytest.approx((1 + 1 / 2) / 4)
    assert score.recall_at_10 == pytest.approx(2 / 4)


def test_catalogs_read_from_json_lines_and_from_vega_movies() -> None:
    lines = "\n".join(
        json.dumps(d)
        for d in [{"title": "One", "tags": ["a"], "popularity": 3}, {"title": "Two", "video_id": "v2"}]
    )
    one, two = catalog_from_json(lines)
    assert (one.title, one.tags, one.popularity, two.video_id) == ("One", ("a",), 3, "v2")
    movies = json.dumps(
        [
            {"Title": "Heat", "Major Genre": "Action", "Director": "Michael Mann", "IMDB Votes": 100},
            {"Title": 1776, "Major Genre": None},
            {"Title": None},
        ]
    )
    [heat] = catalog_from_json(movies)
    assert (heat.title, heat.tags, heat.uploader, heat.popularity) == (
        "Heat",
        ("Action",),
        "Michael Mann",
        100,
    )
    with pytest.raises(ValueError, match="no item"):
        catalog_from_json("[]")


def test_fold_drops_diacritics_and_case() -> None:
    assert fold("Amélie ÇA Ñu") == "amelie ca nu"
