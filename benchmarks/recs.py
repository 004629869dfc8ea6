"""Benchmark: ``fit_als`` against implicit called directly; recommendation latency with fold-in.

    python benchmarks/recs.py [--users 20000] [--items 10000] [--per-user 40] [--repeat 5] [--requests 2000]

On one synthetic matrix (Zipf-popular items, ``--per-user`` interactions a user), in one run:
  1. fit time, ``--repeat`` times, alternating: ``fit_als`` (64 factors, 15 iterations) against
     ``implicit.als.AlternatingLeastSquares(...).fit`` on the same CSR matrix with the same params and
     the same one-thread BLAS limit; medians and their ratio (what our wrapper costs);
  2. latency of one recommendation request (top 10 of ``--items`` items), ``--requests`` times, p50
     and p99: ``RecsModel.recommend`` folding in a history of 5 to 50 items, the same for a known
     user, and implicit's ``recommend(..., recalculate_user=True)`` on the same histories (its
     one-row CSR matrix built in the request, as a caller would have to; ``num_threads=1``: with
     every core it starts a thread team per request and is many times slower). Each with BLAS as
     it comes (OpenBLAS threads every core) and held to one thread, as a serving process should be.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import implicit.als
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from stream_apps.recs.interactions import InteractionMatrix
from stream_apps.recs.model import AlsParams, RecsModel, fit_als

PARAMS = AlsParams(factors=64, regularization=0.05, alpha=40.0, iterations=15, random_state=0, device="cpu")


def synthetic(users: int, items: int, per_user: int, seed: int = 0) -> InteractionMatrix:
    """Users with ``per_user`` distinct items each, drawn Zipf-popular, weights in [0.1, 3]."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.9
    popularity /= popularity.sum()
    draws = rng.choice(items, size=(users, per_user * 2), p=popularity)
    rows, cols = [], []
    for user, drawn in enumerate(draws):
        unique = np.unique(drawn)[:per_user]
        rows.append(np.full(len(unique), user, dtype=np.int32))
        cols.append(unique.astype(np.int32))
    row, col = np.concatenate(rows), np.concatenate(cols)
    data = rng.uniform(0.1, 3.0, size=len(row)).astype(np.float32)
    csr = sp.csr_matrix((data, (row, col)), shape=(users, items))
    return InteractionMatrix(
        user_ids=tuple(f"u{u}" for u in range(users)), item_ids=tuple(f"v{i}" for i in range(items)), csr=csr
    )


def fit_direct(matrix: InteractionMatrix) -> None:
    with threadpool_limits(limits=1, user_api="blas"):
        model = implicit.als.AlternatingLeastSquares(
            factors=PARAMS.factors,
            regularization=PARAMS.regularization,
            alpha=PARAMS.alpha,
            iterations=PARAMS.iterations,
            random_state=PARAMS.random_state,
            use_gpu=False,
        )
        model.fit(matrix.csr, show_progress=False)


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads) of one call; CPU time hides a busy neighbour's share."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def latencies_us(variants: list[list[Callable[[], object]]]) -> list[tuple[float, float, float]]:
    """Wall p50, wall p99 and CPU p50 of each variant's calls, in microseconds. Request i of every
    variant runs back to back, first one then another, so a neighbour's load falls on all alike."""
    for calls in variants:
        for call in calls[:50]:  # warm caches (YᵀY, norms) outside the measurement
            call()
    wall: list[list[float]] = [[] for _ in variants]
    cpu: list[list[float]] = [[] for _ in variants]
    for i in range(len(variants[0])):
        for v in (
            *range(i % len(variants), len(variants)),
            *range(i % len(variants)),
        ):  # rotate who goes first
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            variants[v][i]()
            wall[v].append((time.perf_counter_ns() - started) / 1000)
            cpu[v].append((time.thread_time_ns() - started_cpu) / 1000)
    return [
        (float(np.percentile(w, 50)), float(np.percentile(w, 99)), float(np.percentile(c, 50)))
        for w, c in zip(wall, cpu, strict=True)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--per-user", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()

    matrix = synthetic(args.users, args.items, args.per_user)
    print(
        f"{args.users} users x {args.items} items, {matrix.csr.nnz} interactions; "
        f"ALS {PARAMS.factors} factors, {PARAMS.iterations} iterations, CPU"
    )
    fitted: list[RecsModel] = []
    ours: list[tuple[float, float]] = []
    direct: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        ours.append(timed(lambda: fitted.append(fit_als(matrix, PARAMS))))
        direct.append(timed(lambda: fit_direct(matrix)))
    model = fitted[-1]
    print(f"\nfit, {args.repeat} repeats (alternating)  median s   min s   max s   median CPU s")
    for name, times in (("fit_als", ours), ("implicit direct", direct)):
        wall, cpu = [t for t, _ in times], [c for _, c in times]
        print(
            f"  {name:<34} {statistics.median(wall):>8.3f} {min(wall):>7.3f} {max(wall):>7.3f}"
            f" {statistics.median(cpu):>14.3f}"
        )
    ratios = [
        statistics.median([t[i] for t in ours]) / statistics.median([t[i] for t in direct]) for i in (0, 1)
    ]
    print(f"  {'ratio fit_als / direct':<34} {ratios[0]:>8.3f} {'':>15} {ratios[1]:>14.3f}")
    # What fit_als adds around implicit's fit, measured inside the same calls: immune to the machine's load.
    around = [(wall - m.metadata.fit_s) * 1000 for (wall, _), m in zip(ours, fitted, strict=True)]
    low, median_ms, high = min(around), statistics.median(around), max(around)
    print(f"  {'fit_als outside implicit fit, ms':<34} {median_ms:>8.1f} {low:>7.1f} {high:>7.1f}")

    rng = np.random.default_rng(1)
    histories = []
    for _ in range(args.requests):
        size = int(rng.integers(5, 51))
        items = rng.choice(args.items, size=size, replace=False)
        histories.append(
            {model.item_ids[i]: float(w) for i, w in zip(items, rng.uniform(0.1, 3.0, size), strict=True)}
        )
    users = rng.integers(0, args.users, size=args.requests)

    reference = implicit.als.AlternatingLeastSquares(
        factors=PARAMS.factors,
        regularization=PARAMS.regularization,
        alpha=PARAMS.alpha,
        use_gpu=False,
        num_threads=1,
    )
    reference.user_factors, reference.item_factors = model.user_factors, model.item_factors
    index = model.item_index

    def implicit_fold_in(history: dict[str, float]) -> object:
        columns = np.fromiter((index[item] for item in history), dtype=np.int32, count=len(history))
        weights = np.fromiter(history.values(), dtype=np.float32, count=len(history))
        row = sp.csr_matrix(
            (weights, (np.zeros(len(history), dtype=np.int32), columns)), shape=(1, args.items)
        )
        return reference.recommend(0, row, N=10, recalculate_user=True, filter_already_liked_items=True)

    def fold_in(history: dict[str, float]) -> Callable[[], object]:
        return lambda: model.recommend(history=history, n=10)

    def known(user: int) -> Callable[[], object]:
        return lambda: model.recommend(user=user, n=10)

    def reference_fold_in(history: dict[str, float]) -> Callable[[], object]:
        return lambda: implicit_fold_in(history)

    rows: list[tuple[str, list[Callable[[], object]]]] = [
        ("RecsModel fold-in (history)", [fold_in(h) for h in histories]),
        ("RecsModel known user", [known(int(u)) for u in users]),
        ("implicit recalculate_user", [reference_fold_in(h) for h in histories]),
    ]
    print(
        f"\nrecommend, top 10 of {args.items}, {args.requests} requests"
        "   BLAS threads   p50 us   p99 us   CPU p50 us"
    )
    for blas, limit in (("default", None), ("1", 1)):
        with threadpool_limits(limits=limit, user_api="blas"):
            measured = latencies_us([calls for _, calls in rows])
            for (name, _), (p50, p99, cpu50) in zip(rows, measured, strict=True):
                print(f"  {name:<42} {blas:>12} {p50:>8.0f} {p99:>8.0f} {cpu50:>12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
