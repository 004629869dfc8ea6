"""Offline evaluation: metrics by hand, both protocols, planted tastes, and reading files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from stream_apps.recs.errors import InteractionFileError, InvalidInteractionError
from stream_apps.recs.evaluate import (
    EvalResult,
    Interaction,
    MostPopularRecommender,
    evaluate,
    evaluate_model,
    format_table,
    main,
    ranking_metrics,
    read_interactions,
    read_tags,
    results_json,
    split_random,
    split_temporal,
)
from stream_apps.recs.model import AlsParams

FAST_ALS = AlsParams(factors=16, regularization=1.0, alpha=5.0, iterations=8, random_state=0, num_threads=1)


def ix(user: str, item: str, at: float, weight: float = 1.0) -> Interaction:
    return Interaction(user=user, item=item, timestamp=at, weight=weight)


# -- metrics by hand -------------------------------------------------------------------------------


def test_recall_and_ndcg_of_one_list() -> None:
    recall, ndcg = ranking_metrics([3, 1, 7, 2], {1, 2, 9}, k=4)
    assert recall == pytest.approx(2 / 3)  # two of three held-out items in the top 4
    dcg = 1 / math.log2(3) + 1 / math.log2(5)  # hits at ranks 2 and 4
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three hits at ranks 1 to 3
    assert ndcg == pytest.approx(dcg / ideal)
    assert ndcg == pytest.approx(0.49818, abs=1e-5)


def test_metrics_edges() -> None:
    assert ranking_metrics([5, 6], {5, 6}, k=10) == (1.0, 1.0)
    assert ranking_metrics([1, 2, 3], {9}, k=3) == (0.0, 0.0)
    # more held-out items than k: a full top k is a perfect score
    assert ranking_metrics([1, 2, 3], {1, 2, 4}, k=2) == (1.0, 1.0)
    # only the first k count
    assert ranking_metrics([1, 2, 3], {3}, k=2) == (0.0, 0.0)
    with pytest.raises(ValueError, match="no relevant"):
        ranking_metrics([1], set(), k=1)


def test_most_popular_on_a_hand_computed_temporal_split() -> None:
    data = [
        ix("u1", "a", 1), ix("u1", "b", 2), ix("u1", "c", 3),
        ix("u2", "a", 1), ix("u2", "c", 2),
        ix("u3", "b", 1), ix("u3", "d", 2),
        ix("u4", "a", 5),  # one item: trains, is not evaluated
    ]  # fmt: skip
    split = split_temporal(data)
    # train: u1 {a, b}, u2 {a}, u3 {b}, u4 {a}; popularity a=3, b=2, c=d=0 (ties: item order)
    # top 2: u1 [c, d] hit at 1; u2 [b, c] hit at 2; u3 [a, c] no hit
    result = evaluate_model(MostPopularRecommender(), split, k=2)
    assert result.users == 3
    assert result.recall == pytest.approx((1 + 1 + 0) / 3)
    assert result.ndcg == pytest.approx((1 + 1 / math.log2(3) + 0) / 3)
    assert result.coverage == pytest.approx(4 / 4)
    assert (result.model, result.protocol, result.k) == ("most-popular", "temporal", 2)


# -- protocols -------------------------------------------------------------------------------------


def test_temporal_holds_out_each_users_last_item() -> None:
    data = [
        ix("u1", "a", 10), ix("u1", "b", 30), ix("u1", "c", 20),
        ix("u2", "x", 5), ix("u2", "y", 5),  # same time: the highest id
        ix("u2", "x", 50),  # a repeat: the pair's last time is 50
        ix("u3", "a", 1),
    ]  # fmt: skip
    split = split_temporal(data)
    train = split.train
    held = {train.user_ids[u]: {train.item_ids[i] for i in items} for u, items in split.test.items()}
    assert held == {"u1": {"b"}, "u2": {"x"}}
    assert train.csr[train.user_index["u2"], train.item_index["x"]] == 0
    assert train.csr[train.user_index["u2"], train.item_index["y"]] == 1
    assert train.csr[train.user_index["u3"], train.item_index["a"]] == 1


def test_random_split_holds_out_a_fifth_of_each_user_seeded() -> None:
    rng = np.random.default_rng(0)
    data = [
        ix(f"u{u}", f"i{i}", float(t))
        for u in range(50)
        for t, i in enumerate(rng.choice(200, size=int(rng.integers(1, 30)), replace=False))
    ]
    split = split_random(data, seed=3)
    counts = {f"u{u}": sum(1 for x in data if x.user == f"u{u}") for u in range(50)}
    for user, n in counts.items():
        row = split.train.user_index[user]
        held = split.test.get(row, frozenset())
        if n < 2:
            assert not held
            continue
        assert len(held) == min(n - 1, max(1, round(0.2 * n)))
        trained = set(split.train.csr[row].indices)
        assert not trained & held and len(trained) + len(held) == n
    again, other = split_random(data, seed=3), split_random(data, seed=4)
    assert again.test == split.test and other.test != split.test
    with pytest.raises(ValueError):
        split_random(data, test_fraction=1.0)


# -- planted tastes --------------------------------------------------------------------------------

GROUPS, ITEMS_PER_GROUP, USERS, PER_USER = 5, 40, 300, 16


def planted_tastes() -> tuple[list[Interaction], dict[str, frozenset[str]]]:
    """Users in GROUPS taste groups watch videos of their group (Zipf-popular within it) and some noise."""
    rng = np.random.default_rng(11)
    within = 1.0 / np.arange(1, ITEMS_PER_GROUP + 1) ** 0.8
    within /= within.sum()
    data: list[Interaction] = []
    for u in range(USERS):
        group = u % GROUPS
        own = rng.choice(ITEMS_PER_GROUP, size=PER_USER - 3, replace=False, p=within)
        noise = rng.choice(GROUPS * ITEMS_PER_GROUP, size=3, replace=False)
        items = [f"g{group}-{n:02d}" for n in own] + [
            f"g{n // ITEMS_PER_GROUP}-{n % ITEMS_PER_GROUP:02d}" for n in noise
        ]
        watched = list(dict.fromkeys(items))
        rng.shuffle(
            watched
        )  # in no particular order, so the temporal protocol's last item is mostly of the group
        for t, item in enumerate(watched):
            data.append(ix(f"u{u:03d}", item, float(t), float(rng.uniform(0.5, 1.5))))
    tags = {f"g{g}-{n:02d}": frozenset({f"taste-{g}"}) for g in range(GROUPS) for n in range(ITEMS_PER_GROUP)}
    return data, tags


@pytest.fixture(scope="module")
def planted_results() -> list[EvalResult]:
    data, tags = planted_tastes()
    return evaluate(data, als=FAST_ALS, tags=tags, seed=0)


def by(results: list[EvalResult], model: str, protocol: str) -> EvalResult:
    return next(r for r in results if r.model == model and r.protocol == protocol)


@pytest.mark.parametrize("protocol", ["random", "temporal"])
def test_models_that_learn_tastes_clearly_beat_most_popular(
    planted_results: list[EvalResult], protocol: str
) -> None:
    popular = by(planted_results, "most-popular", protocol)
    for model in ("als", "item-knn", "ease", "same-tag"):
        learned = by(planted_results, model, protocol)
        assert learned.recall >= 1.9 * popular.recall, (model, learned.recall, popular.recall)
        assert learned.ndcg > popular.ndcg
        assert learned.coverage > popular.coverage
    assert popular.users == USERS


def test_results_come_in_order_and_format_as_a_table_and_json(planted_results: list[EvalResult]) -> None:
    models = ["als", "most-popular", "item-knn", "ease", "same-tag"]
    assert [(r.protocol, r.model) for r in planted_results] == [
        (p, m) for p in ("random", "temporal") for m in models
    ]
    for r in planted_results:
        assert 0 <= r.recall <= 1 and 0 <= r.ndcg <= 1 and 0 < r.coverage <= 1 and r.fit_s >= 0
    table = format_table(planted_results).splitlines()
    assert table[0].split()[:4] == ["protocol", "model", "recall@10", "NDCG@10"]
    assert len(table) == 1 + len(planted_results)
    decoded = json.loads(results_json(planted_results))
    assert [EvalResult(**d) for d in decoded] == planted_results


def test_ease_is_left_out_above_its_item_limit() -> None:
    data, _ = planted_tastes()
    results = evaluate(data, protocols=("temporal",), als=FAST_ALS, ease_max_items=10)
    assert [r.model for r in results] == ["als", "most-popular", "item-knn"]


def test_nothing_to_hold_out_is_an_error() -> None:
    with pytest.raises(InvalidInteractionError, match="two items"):
        evaluate([ix("u1", "a", 1), ix("u2", "b", 1)], als=FAST_ALS)
    with pytest.raises(InvalidInteractionError):
        evaluate([], als=FAST_ALS)


# -- files -----------------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_or_without_header_tsv_and_iso_times(tmp_path: Path) -> None:
    plain = write(tmp_path, "a.csv", "u1,v1,100\nu1,v2,200,2.5\n\nu2,v1,2024-05-01T12:00:00Z\n")
    assert read_interactions(plain) == [
        ix("u1", "v1", 100.0),
        ix("u1", "v2", 200.0, 2.5),
        ix("u2", "v1", 1714564800.0),
    ]
    header = write(tmp_path, "b.csv", "timestamp,weight,video_id,user_id\n100,0.5,v1,u1\n")
    assert read_interactions(header) == [ix("u1", "v1", 100.0, 0.5)]
    tsv = write(tmp_path, "c.tsv", "u1\tv1\t100\n")
    assert read_interactions(tsv) == [ix("u1", "v1", 100.0)]


def test_recbole_atomic_files_read_as_they_ship(tmp_path: Path) -> None:
    inter = write(
        tmp_path,
        "ml.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n",
    )
    assert read_interactions(inter) == [ix("196", "242", 881250949.0)]  # the rating is not a weight
    genres = write(
        tmp_path, "genres.tsv", "item_id:token\tclass:token_seq\n1\tAnimation Children's Comedy\n2\tA|B\n"
    )
    assert read_tags(genres) == {
        "1": frozenset({"Animation", "Children's", "Comedy"}),
        "2": frozenset({"A", "B"}),
    }


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("u1,v1,100\nu1,v2\n", 2, "2 fields"),
        ("u1,v1,100\nu1,v2,yesterday\n", 2, "timestamp 'yesterday'"),
        ("u1,v1,100\n\nu1,v2,100,-1\n", 3, "weight '-1'"),
        ("u1,v1,100,heavy\n", 1, "weight 'heavy'"),
        ("u1,v1,nan\n", 1, "not finite"),
        (",v1,100\n", 1, "empty user"),
        ("user,item,rating\nu1,v1,5\n", 1, "no timestamp column"),
        ("user_id,item_id,timestamp\nu1,v1\n", 2, "the header names 3"),
    ],
)
def test_bad_rows_name_their_line(tmp_path: Path, text: str, line: int, reason: str) -> None:
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(InteractionFileError, match=f"line {line}: .*{reason}") as caught:
        read_interactions(path)
    assert caught.value.line == line and caught.value.path == str(path)


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(InteractionFileError, match="no interactions"):
        read_interactions(write(tmp_path, "empty.csv", "user,item,timestamp\n"))
    with pytest.raises(InteractionFileError, match="cannot read"):
        read_interactions(tmp_path / "missing.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00u1,v1,1\n")
    with pytest.raises(InteractionFileError, match="UTF-8"):
        read_interactions(binary)


def test_main_prints_a_table_or_json_and_exits_2_on_a_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"u{u},v{(u + i) % 7},{i}\n" for u in range(12) for i in range(4))
    path = write(tmp_path, "ok.csv", rows)
    args = ["--interactions", str(path), "--factors", "4", "--iterations", "2", "--protocol", "temporal"]
    assert main([*args, "--json"]) == 0
    decoded = json.loads(capsys.readouterr().out)
    assert [d["model"] for d in decoded] == ["als", "most-popular", "item-knn", "ease"]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("protocol")
    bad = write(tmp_path, "bad.csv", "u1,v1,1\nu1\n")
    assert main(["--interactions", str(bad)]) == 2
    assert "bad.csv line 2" in capsys.readouterr().err
