"""Offline evaluation: our ALS against simple baselines, on a file of interactions, in one run.

    python -m stream_apps.recs.evaluate --interactions FILE [--tags FILE] [--protocol both] [--json]

The file is CSV or TSV (tab when the name ends in ``.tsv`` / ``.inter`` or the first
line has a tab): ``user, item, timestamp[, weight]``. A header is optional; with
one, columns are found by name (``user``/``user_id``, ``item``/``item_id``/``video_id``,
``timestamp``/``time``, ``weight``; a ``:type`` suffix as in RecBole's atomic files
is ignored, other columns are skipped). Timestamps are epoch seconds or ISO 8601.
Repeated (user, item) rows add up their weights and keep their last time.

Protocols, both over users with at least two items:

- ``random``: per user, a seeded 20% of their items (at least one) is held out;
- ``temporal``: per user, their last item (latest time, then highest id) is held out.

Every model is scored the same way: a full ranking of every item in the file,
the user's training items left out; recall@k = hits / min(k, held-out items),
NDCG@k with binary relevance, both averaged over users; catalogue coverage =
distinct items in anyone's top k / items; fit time is the model's fit alone.
Models: ``als`` (``fit_als``), ``most-popular``, ``item-knn`` (cosine, the
``neighbours`` most similar items kept per item), ``ease`` (Steck 2019, closed
form; only up to ``ease_max_items`` items, its Gram matrix is dense) and
``same-tag`` (popular items sharing the user's tags; only with a tags map).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from stream_apps.recs.errors import InteractionFileError, InvalidInteractionError, RecsError
from stream_apps.recs.interactions import InteractionMatrix, build_matrix
from stream_apps.recs.model import AlsParams, fit_als, top_indices

__all__ = [
    "DEFAULT_EVAL_ALS",
    "AlsRecommender",
    "EaseRecommender",
    "EvalResult",
    "Interaction",
    "ItemKnnRecommender",
    "MostPopularRecommender",
    "Recommender",
    "SameTagRecommender",
    "Split",
    "SplitProtocol",
    "evaluate",
    "evaluate_model",
    "format_table",
    "main",
    "ranking_metrics",
    "read_interactions",
    "read_tags",
    "results_json",
    "split_random",
    "split_temporal",
]

SplitProtocol = Literal["random", "temporal"]
Floats = npt.NDArray[np.float32]
Indices = npt.NDArray[np.intp]

# The params a model is served with, so the evaluation grades what would ship; override them to tune.
DEFAULT_EVAL_ALS = AlsParams()
_BATCH_USERS = 512

_USER_NAMES = frozenset({"user", "user_id", "userid", "viewer", "viewer_id", "user_pseudonym"})
_ITEM_NAMES = frozenset({"item", "item_id", "itemid", "video", "video_id", "movie_id"})
_TIME_NAMES = frozenset({"timestamp", "time", "ts", "occurred_at"})
_WEIGHT_NAMES = frozenset({"weight"})


@dataclass(frozen=True, kw_only=True)
class Interaction:
    user: str
    item: str
    timestamp: float  # epoch seconds
    weight: float = 1.0


# -- reading files ---------------------------------------------------------------------------------


def _delimiter(path: Path, first_line: str) -> str:
    return "\t" if path.suffix.lower() in (".tsv", ".inter") or "\t" in first_line else ","


def _column_name(field_: str) -> str:
    return field_.split(":", 1)[0].strip().lower()


def _header_columns(row: Sequence[str]) -> tuple[int, int, int, int | None] | None:
    """(user, item, timestamp, weight) positions when ``row`` is a header, else None."""
    names = [_column_name(f) for f in row]

    def find(aliases: frozenset[str]) -> int | None:
        return next((i for i, name in enumerate(names) if name in aliases), None)

    user, item, when, weight = find(_USER_NAMES), find(_ITEM_NAMES), find(_TIME_NAMES), find(_WEIGHT_NAMES)
    if user is None or item is None:
        return None
    if when is None:
        raise ValueError("the header has no timestamp column (timestamp or time)")
    return user, item, when, weight


def _parse_time(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"timestamp {text!r} is neither a number nor an ISO 8601 time") from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if not math.isfinite(value):
        raise ValueError(f"timestamp {text!r} is not finite")
    return value


def _parse_weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"weight {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"weight {text!r} is not a finite number >= 0")
    return value


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each non-blank line."""
    with path.open(newline="", encoding="utf-8") as file:
        first = file.readline()
        file.seek(0)
        reader = csv.reader(file, delimiter=_delimiter(path, first))
        for row in reader:
            if row and any(cell.strip() for cell in row):
                yield reader.line_num, row


def read_interactions(path: Path | str) -> list[Interaction]:
    """The interactions of a CSV/TSV file (module docstring); ``InteractionFileError`` names a bad line."""
    path = Path(path)
    interactions: list[Interaction] = []
    columns: tuple[int, int, int, int | None] | None = None  # None: positional
    try:
        for line, row in _rows(path):
            try:
                if not interactions and columns is None:
                    columns = _header_columns(row)
                    if columns is not None:
                        continue
                interactions.append(_interaction(row, columns))
            except ValueError as exc:
                raise InteractionFileError(path, line, str(exc)) from None
    except UnicodeDecodeError as exc:
        raise InteractionFileError(path, 0, f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InteractionFileError(path, 0, f"cannot read the file: {exc.strerror or exc}") from None
    if not interactions:
        raise InteractionFileError(path, 0, "no interactions in the file")
    return interactions


def _interaction(row: Sequence[str], columns: tuple[int, int, int, int | None] | None) -> Interaction:
    if columns is None:
        if len(row) not in (3, 4):
            raise ValueError(f"{len(row)} fields; expected user, item, timestamp[, weight]")
        columns = (0, 1, 2, 3 if len(row) == 4 else None)
    user_at, item_at, time_at, weight_at = columns
    needed = 1 + max(user_at, item_at, time_at, -1 if weight_at is None else weight_at)
    if len(row) < needed:
        raise ValueError(f"{len(row)} fields; the header names {needed}")
    user, item = row[user_at].strip(), row[item_at].strip()
    if not user or not item:
        raise ValueError("empty user or item")
    return Interaction(
        user=user,
        item=item,
        timestamp=_parse_time(row[time_at].strip()),
        weight=1.0 if weight_at is None else _parse_weight(row[weight_at].strip()),
    )


def read_tags(path: Path | str) -> dict[str, frozenset[str]]:
    """item → tags from a CSV/TSV of ``item, tags`` (tags separated by ``|`` or spaces); header optional."""
    path = Path(path)
    tags: dict[str, frozenset[str]] = {}
    try:
        for line, row in _rows(path):
            if len(row) < 2:
                raise InteractionFileError(path, line, f"{len(row)} field; expected item, tags")
            if line == 1 and _column_name(row[0]) in _ITEM_NAMES:
                continue
            item = row[0].strip()
            words = frozenset(t for t in row[1].replace("|", " ").split() if t)
            if not item:
                raise InteractionFileError(path, line, "empty item")
            tags[item] = tags.get(item, frozenset()) | words
    except OSError as exc:
        raise InteractionFileError(path, 0, f"cannot read the file: {exc.strerror or exc}") from None
    return tags


# -- splits ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class Split:
    """Training matrix over every user and item of the data, and each evaluated user's held-out columns."""

    protocol: SplitProtocol
    train: InteractionMatrix
    test: Mapping[int, frozenset[int]]  # user row → held-out item columns


def _combined(interactions: Iterable[Interaction]) -> dict[tuple[str, str], tuple[float, float]]:
    """(user, item) → (summed weight, last time)."""
    combined: dict[tuple[str, str], tuple[float, float]] = {}
    for x in interactions:
        weight, last = combined.get((x.user, x.item), (0.0, -math.inf))
        combined[(x.user, x.item)] = (weight + x.weight, max(last, x.timestamp))
    return combined


def _split(
    interactions: Iterable[Interaction], protocol: SplitProtocol, held_out: Mapping[str, Collection[str]]
) -> Split:
    combined = _combined(interactions)
    users = sorted({user for user, _ in combined})
    items = sorted({item for _, item in combined})
    train_rows = [
        (user, item, weight)
        for (user, item), (weight, _) in combined.items()
        if item not in held_out.get(user, ())
    ]
    train = build_matrix(train_rows, user_ids=users, item_ids=items)
    test = {
        train.user_index[user]: frozenset(train.item_index[item] for item in chosen)
        for user, chosen in held_out.items()
        if chosen
    }
    return Split(protocol=protocol, train=train, test=test)


def _items_by_user(combined: Mapping[tuple[str, str], tuple[float, float]]) -> dict[str, list[str]]:
    by_user: dict[str, list[str]] = {}
    for user, item in combined:
        by_user.setdefault(user, []).append(item)
    return by_user


def split_random(interactions: Sequence[Interaction], *, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Per user with two items or more, ``test_fraction`` of their items (at least one, not all) held out."""
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    held_out: dict[str, list[str]] = {}
    for user, items in sorted(_items_by_user(_combined(interactions)).items()):
        if len(items) < 2:
            continue
        items.sort()
        count = min(len(items) - 1, max(1, round(test_fraction * len(items))))
        held_out[user] = [items[i] for i in rng.permutation(len(items))[:count]]
    return _split(interactions, "random", held_out)


def split_temporal(interactions: Sequence[Interaction]) -> Split:
    """Per user with two items or more, the last one (latest time; ties: the highest item id) held out."""
    combined = _combined(interactions)

    def last(user: str, items: Sequence[str]) -> str:
        return max(items, key=lambda item: (combined[(user, item)][1], item))

    held_out = {
        user: [last(user, items)] for user, items in _items_by_user(combined).items() if len(items) >= 2
    }
    return _split(interactions, "temporal", held_out)


# -- models ----------------------------------------------------------------------------------------


class Recommender(Protocol):
    """A model as the evaluation sees it: fit on the training matrix, then a score per item per user."""

    name: str

    def fit(self, train: InteractionMatrix) -> None: ...

    def scores(self, users: Indices) -> Floats:
        """``len(users)`` rows of a score per item; higher is better."""
        ...


@dataclass(kw_only=True)
class AlsRecommender:
    params: AlsParams = DEFAULT_EVAL_ALS
    name: str = "als"
    _user_factors: Floats | None = field(default=None, repr=False)
    _item_factors: Floats | None = field(default=None, repr=False)

    def fit(self, train: InteractionMatrix) -> None:
        model = fit_als(train, self.params)
        self._user_factors, self._item_factors = model.user_factors, model.item_factors

    def scores(self, users: Indices) -> Floats:
        assert self._user_factors is not None and self._item_factors is not None, "fit first"
        result: Floats = self._user_factors[users] @ self._item_factors.T
        return result


@dataclass(kw_only=True)
class MostPopularRecommender:
    name: str = "most-popular"
    _popularity: Floats | None = field(default=None, repr=False)

    def fit(self, train: InteractionMatrix) -> None:
        self._popularity = np.diff(train.csr.tocsc().indptr).astype(np.float32)  # users per item

    def scores(self, users: Indices) -> Floats:
        assert self._popularity is not None, "fit first"
        return np.tile(self._popularity, (len(users), 1))


def _prune_columns(similarity: sp.csc_matrix, keep: int) -> sp.csr_matrix:
    """Only the ``keep`` largest entries of each column (its item's nearest neighbours)."""
    similarity.sort_indices()
    indptr, data = similarity.indptr, similarity.data
    mask = np.zeros(len(data), dtype=bool)
    for column in range(similarity.shape[1]):
        start, end = indptr[column], indptr[column + 1]
        if end - start <= keep:
            mask[start:end] = True
        else:
            mask[start + np.argpartition(-data[start:end], keep - 1)[:keep]] = True
    kept_before = np.concatenate(([0], np.cumsum(mask)))  # entries kept before each position
    pruned = sp.csc_matrix(
        (data[mask], similarity.indices[mask], kept_before[indptr]), shape=similarity.shape
    )
    return pruned.tocsr()


@dataclass(kw_only=True)
class ItemKnnRecommender:
    """score(u, j) = Σ over u's items i among j's ``neighbours`` nearest of weight(u, i) · cos(i, j)."""

    neighbours: int = 100
    name: str = "item-knn"
    _train: sp.csr_matrix | None = field(default=None, repr=False)
    _similarity: sp.csr_matrix | None = field(default=None, repr=False)

    def fit(self, train: InteractionMatrix) -> None:
        x = train.csr.astype(np.float32)
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        unit = x @ sp.diags(1.0 / np.maximum(norms, 1e-10)).astype(np.float32)
        similarity = unit.T @ unit
        similarity = (
            similarity - sp.diags(similarity.diagonal())
        ).tocsc()  # an item is not its own neighbour
        similarity.eliminate_zeros()
        self._train, self._similarity = x.tocsr(), _prune_columns(similarity, self.neighbours)

    def scores(self, users: Indices) -> Floats:
        assert self._train is not None and self._similarity is not None, "fit first"
        return np.asarray((self._train[users] @ self._similarity).todense(), dtype=np.float32)


@dataclass(kw_only=True)
class EaseRecommender:
    """Steck's EASE: B = I - P · diag(1 / diag(P)) with P = (XᵀX + λI)⁻¹, zero diagonal; scores = X B."""

    l2: float = 250.0
    name: str = "ease"
    _train: sp.csr_matrix | None = field(default=None, repr=False)
    _weights: Floats | None = field(default=None, repr=False)

    def fit(self, train: InteractionMatrix) -> None:
        x = train.csr.astype(np.float64)
        gram = np.asarray((x.T @ x).todense())
        gram[np.diag_indices_from(gram)] += self.l2
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)
        np.fill_diagonal(weights, 0.0)
        self._train, self._weights = train.csr.astype(np.float32), weights.astype(np.float32)

    def scores(self, users: Indices) -> Floats:
        assert self._train is not None and self._weights is not None, "fit first"
        return np.asarray(self._train[users] @ self._weights, dtype=np.float32)


@dataclass(kw_only=True)
class SameTagRecommender:
    """score(u, i) = users of i x (times u's items carry one of i's tags + 0.001): popular items of u's tags.

    Multiplying by popularity is what makes it a baseline worth beating: on
    MovieLens genres, tag overlap alone ranks obscure many-genre films first and
    does three times worse.
    """

    tags: Mapping[str, Collection[str]]
    name: str = "same-tag"
    _watched: sp.csr_matrix | None = field(default=None, repr=False)
    _item_tags: sp.csr_matrix | None = field(default=None, repr=False)
    _popularity: Floats | None = field(default=None, repr=False)

    def fit(self, train: InteractionMatrix) -> None:
        vocabulary = sorted({tag for item in train.item_ids for tag in self.tags.get(item, ())})
        tag_index = {tag: index for index, tag in enumerate(vocabulary)}
        rows, cols = [], []
        for row, item in enumerate(train.item_ids):
            for tag in self.tags.get(item, ()):
                rows.append(row)
                cols.append(tag_index[tag])
        self._item_tags = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(train.item_ids), len(vocabulary))
        )
        self._watched = (train.csr > 0).astype(np.float32).tocsr()
        self._popularity = np.asarray(self._watched.sum(axis=0), dtype=np.float32).ravel()

    def scores(self, users: Indices) -> Floats:
        assert self._watched is not None and self._item_tags is not None and self._popularity is not None
        profile = self._watched[users] @ self._item_tags  # per user, how many of their items carry each tag
        overlap = np.asarray((profile @ self._item_tags.T).todense(), dtype=np.float32)
        return (overlap + 1e-3) * self._popularity


# -- metrics ---------------------------------------------------------------------------------------


def ranking_metrics(ranked: Sequence[int], relevant: Collection[int], k: int) -> tuple[float, float]:
    """(recall@k, NDCG@k) of one ranked list: hits / min(k, relevant), and DCG / ideal DCG."""
    if not relevant:
        raise ValueError("no relevant items: recall and NDCG are undefined")
    top = list(ranked[:k])
    gains = [1.0 / math.log2(rank + 2) for rank, item in enumerate(top) if item in relevant]
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return len(gains) / min(k, len(relevant)), sum(gains) / ideal


@dataclass(frozen=True, kw_only=True)
class EvalResult:
    model: str
    protocol: str
    recall: float  # recall@k, averaged over users
    ndcg: float  # NDCG@k, averaged over users
    coverage: float  # distinct items in the top-k lists / items
    fit_s: float
    users: int  # users evaluated
    k: int = 10


def _top_k(scores: Floats, k: int) -> list[list[int]]:
    """Per row, the indices of the ``k`` best finite scores, best first (ties: lower index first)."""
    return [top_indices(row, k).tolist() for row in scores]


def evaluate_model(model: Recommender, split: Split, *, k: int = 10) -> EvalResult:
    """Fit ``model`` on the split's training matrix and rank every item for each held-out user."""
    started = time.perf_counter()
    model.fit(split.train)
    fit_s = time.perf_counter() - started
    train = split.train.csr
    users = np.array(sorted(split.test), dtype=np.intp)
    recall_sum = ndcg_sum = 0.0
    shown: set[int] = set()
    for start in range(0, len(users), _BATCH_USERS):
        batch = users[start : start + _BATCH_USERS]
        scores = np.array(model.scores(batch), dtype=np.float32)
        seen = train[batch]
        scores[np.repeat(np.arange(len(batch)), np.diff(seen.indptr)), seen.indices] = -np.inf
        for user, ranked in zip(batch, _top_k(scores, k), strict=True):
            recall, ndcg = ranking_metrics(ranked, split.test[int(user)], k)
            recall_sum += recall
            ndcg_sum += ndcg
            shown.update(ranked)
    count = max(1, len(users))
    return EvalResult(
        model=model.name,
        protocol=split.protocol,
        recall=recall_sum / count,
        ndcg=ndcg_sum / count,
        coverage=len(shown) / max(1, split.train.shape[1]),
        fit_s=fit_s,
        users=len(users),
        k=k,
    )


def evaluate(
    interactions: Sequence[Interaction],
    *,
    protocols: Sequence[SplitProtocol] = ("random", "temporal"),
    als: AlsParams = DEFAULT_EVAL_ALS,
    tags: Mapping[str, Collection[str]] | None = None,
    knn_neighbours: int = 100,
    ease_l2: float = 250.0,
    ease_max_items: int = 5000,
    seed: int = 0,
    k: int = 10,
) -> list[EvalResult]:
    """Every model under every protocol, in that order; EASE only up to ``ease_max_items`` items."""
    if not interactions:
        raise InvalidInteractionError("no interactions to evaluate")
    results: list[EvalResult] = []
    for protocol in protocols:
        split = (
            split_random(interactions, seed=seed) if protocol == "random" else split_temporal(interactions)
        )
        if not split.test:
            raise InvalidInteractionError("no user has two items: nothing to hold out")
        models: list[Recommender] = [
            AlsRecommender(params=als),
            MostPopularRecommender(),
            ItemKnnRecommender(neighbours=knn_neighbours),
        ]
        if split.train.shape[1] <= ease_max_items:
            models.append(EaseRecommender(l2=ease_l2))
        if tags is not None:
            models.append(SameTagRecommender(tags=tags))
        results.extend(evaluate_model(model, split, k=k) for model in models)
    return results


def format_table(results: Sequence[EvalResult]) -> str:
    """A fixed-width text table of the results."""
    k = results[0].k if results else 10
    row = "{:<9} {:<13} {:>9} {:>8} {:>8} {:>7} {:>6}"
    lines = [row.format("protocol", "model", f"recall@{k}", f"NDCG@{k}", "coverage", "fit s", "users")]
    lines += [
        row.format(
            r.protocol,
            r.model,
            f"{r.recall:.4f}",
            f"{r.ndcg:.4f}",
            f"{r.coverage:.3f}",
            f"{r.fit_s:.2f}",
            r.users,
        )
        for r in results
    ]
    return "\n".join(lines)


def results_json(results: Sequence[EvalResult]) -> str:
    return json.dumps([asdict(r) for r in results], indent=2)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stream_apps.recs.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--interactions", type=Path, required=True, help="CSV/TSV: user, item, timestamp[, weight]"
    )
    parser.add_argument("--tags", type=Path, help="CSV/TSV: item, tags (adds the same-tag baseline)")
    parser.add_argument("--protocol", choices=["random", "temporal", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--factors", type=int, default=DEFAULT_EVAL_ALS.factors)
    parser.add_argument("--regularization", type=float, default=DEFAULT_EVAL_ALS.regularization)
    parser.add_argument("--alpha", type=float, default=DEFAULT_EVAL_ALS.alpha)
    parser.add_argument("--iterations", type=int, default=DEFAULT_EVAL_ALS.iterations)
    parser.add_argument("--knn-neighbours", type=int, default=100)
    parser.add_argument("--ease-l2", type=float, default=250.0)
    args = parser.parse_args(argv)
    protocols: tuple[SplitProtocol, ...] = (
        ("random", "temporal") if args.protocol == "both" else (args.protocol,)
    )
    try:
        interactions = read_interactions(args.interactions)
        tags = read_tags(args.tags) if args.tags else None
        results = evaluate(
            interactions,
            protocols=protocols,
            als=AlsParams(
                factors=args.factors,
                regularization=args.regularization,
                alpha=args.alpha,
                iterations=args.iterations,
                random_state=args.seed,
            ),
            tags=tags,
            knn_neighbours=args.knn_neighbours,
            ease_l2=args.ease_l2,
            seed=args.seed,
            k=args.k,
        )
    except RecsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(results_json(results) if args.json else format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
