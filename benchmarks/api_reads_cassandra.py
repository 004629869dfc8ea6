"""Benchmark: GET /v1/videos/{id} from the query API on SQLite against Cassandra, at the same fixed rates.

    python benchmarks/api_reads_cassandra.py [--videos 2000] [--rates 250,500,1000] [--rounds 3]
                                             [--duration 8] [--cassandra URL] [--wrk /usr/bin/wrk]

Fills a SQLite catalog and a fresh Cassandra keyspace (migrated as ``tubestream views migrate`` does)
with the same ``--videos`` rows (``benchmarks/view_reads.py``'s ready videos of about 1.4 kB), then
starts the query API twice, each one process as ``tubestream api`` runs it (``benchmarks/api_reads.py``'s
``serve_api``: middlewares, security headers, the access log), once over each catalog; the playback
view is the same SQLite file for both (video reads do not touch it).

Each round sends random video reads to each API at each ``--rates`` requests/s (wrk, 100 connections
each waiting a random think time before each request, so that requests arrive as a Poisson stream:
``api_reads.fixed_rate``), alternating which API
goes first, and prints the rate reached, p50 and p99, and the API's CPU time per answer. Then the
medians of the rounds per rate, and the p99 ratio Cassandra / SQLite: issue #17's goal is a ratio of
2 or less at a rate both sustain.

Cassandra is the project's local single node (``deploy/local_cassandra.py``) started on free ports for
the run and stopped after, unless ``--cassandra`` names a running one. On one machine the node, both
APIs and wrk share its cores: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api_reads import (  # this folder is on the path: the scripts run by path
    WrkResult,
    cpu_seconds,
    fixed_rate,
    seed,
    wait_until_up,
)
from view_reads import catalog_keyspace, fill, free_port

from views.stores import open_catalog_store

STORES = ("sqlite", "cassandra")
GOAL = 2.0  # issue #17: Cassandra's p99 within 2x of SQLite's at the same load


async def fill_cassandra(url: str, videos: int) -> float:
    store = open_catalog_store(url)
    try:
        return await fill(store, videos)
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument(
        "--rates", type=lambda s: [float(x) for x in s.split(",")], default=[250.0, 500.0, 1000.0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of each measured wrk run")
    parser.add_argument("--cassandra", metavar="URL", help="a running node (cassandra://host:port/any)")
    parser.add_argument("--wrk", default="/usr/bin/wrk")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tubestream-bench-api-cassandra-") as tmp:
        home = Path(tmp)
        with catalog_keyspace(args.cassandra, home / "cassandra") as keyspace:
            cassandra_url = keyspace.url
            began = time.perf_counter()
            asyncio.run(seed(home, args.videos))
            print(f"sqlite: {args.videos} rows (and playback minutes) in {time.perf_counter() - began:.1f} s")
            seconds = asyncio.run(fill_cassandra(cassandra_url, args.videos))
            print(f"cassandra: the same {args.videos} rows in {seconds:.1f} s", flush=True)
            return serve_and_measure(args, home, {"sqlite": None, "cassandra": cassandra_url})


def serve_and_measure(args: argparse.Namespace, home: Path, catalogs: dict[str, str | None]) -> int:
    """Start one API per catalog (None: the seeded SQLite file), measure, stop them."""
    ports = {name: free_port() for name in catalogs}
    child = [sys.executable, str(Path(__file__).with_name("api_reads.py")), "--serve", "api", str(home)]
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, url in catalogs.items():
            with open(home / f"api-{name}.log", "wb") as log:
                command = [*child, str(ports[name]), *([url] if url else [])]
                procs[name] = subprocess.Popen(command, stdout=log, stderr=log)
        bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, proc in procs.items():
            wait_until_up(bases[name] + "/healthz", proc)
        return measure(args, home, bases, {name: proc.pid for name, proc in procs.items()})
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=30)


def measure(args: argparse.Namespace, home: Path, bases: dict[str, str], pids: dict[str, int]) -> int:
    rng = random.Random(7)
    paths = [f"/v1/videos/bench-{rng.randrange(args.videos):06d}" for _ in range(2000)]
    for name in STORES:  # warm both (connections, the driver's pools, the first decodes, the node's JIT)
        fixed_rate(args.wrk, bases[name], paths, home / "warm.lua", rate=max(args.rates), duration_s=8)

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the start: {load} on {os.cpu_count()} cores")
    print(
        f"GET /v1/videos/{{id}}, random ids, {args.rounds} rounds of {args.duration:g} s per store and rate"
    )
    print(
        f"{'round':>5} {'rate':>6} {'store':<9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU us/req':>10} {'failed':>6}"
    )
    results: dict[tuple[float, str], list[WrkResult]] = {}
    failed = 0
    for round_ in range(args.rounds):
        for rate in args.rates:
            order = STORES if round_ % 2 == 0 else STORES[::-1]
            for name in order:
                cpu_before = cpu_seconds(pids[name])
                result = fixed_rate(
                    args.wrk, bases[name], paths, home / f"{name}.lua", rate=rate, duration_s=args.duration
                )
                # the calibration runs (2 x 2 s) are counted too: CPU per answer, over all of them
                answers = result.rate * (args.duration + 4)
                used_us = (cpu_seconds(pids[name]) - cpu_before) / answers * 1e6
                results.setdefault((rate, name), []).append(result)
                failed += result.failures
                print(
                    f"{round_ + 1:>5} {rate:6g} {name:<9} {result.rate:7.0f} {result.p50_ms:7.2f} "
                    f"{result.p99_ms:7.2f} {used_us:10.0f} {result.failures:>6}",
                    flush=True,
                )

    print(f"\nmedians of {args.rounds} rounds (ms; ratio: cassandra / sqlite; goal: p99 ratio <= {GOAL:g})")
    print(
        f"{'rate':>6} {'sqlite req/s':>12} {'p50':>6} {'p99':>6}  {'cassandra req/s':>15} {'p50':>6} "
        f"{'p99':>6}  {'p50 ratio':>9} {'p99 ratio':>9}  goal"
    )
    for rate in args.rates:
        row = {}
        for name in STORES:
            runs = results[(rate, name)]
            row[name] = (
                statistics.median(r.rate for r in runs),
                statistics.median(r.p50_ms for r in runs),
                statistics.median(r.p99_ms for r in runs),
            )
        (s_rate, s_p50, s_p99), (c_rate, c_p50, c_p99) = row["sqlite"], row["cassandra"]
        ratio = c_p99 / s_p99
        print(
            f"{rate:6g} {s_rate:12.0f} {s_p50:6.2f} {s_p99:6.2f}  {c_rate:15.0f} {c_p50:6.2f} {c_p99:6.2f}  "
            f"{c_p50 / s_p50:8.2f}x {ratio:8.2f}x  {'met' if ratio <= GOAL else 'not met'}"
        )
    print(f"load average at the end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    if failed:
        print(f"{failed} requests failed (non-2xx or socket errors): the figures above are not to be quoted")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
