"""Benchmark: a Cassandra catalog read through the driver's reactor thread against I/O on the reader's loop.

    python benchmarks/cassandra_io.py [--videos 2000] [--rates 250,1000,2500] [--rounds 3]
                                      [--duration 8] [--cassandra URL --node-pid PID]

The same store, ``get(video_id)`` of random ids, opened two ways in one process: ``thread``, as the
writers open it (``open_catalog_store(url)``: the driver's libev reactor thread does the socket I/O
and hands each answer to the loop with ``call_soon_threadsafe``), and ``loop``, as the query API opens
it (``open_for_this_loop``: ``views.cassandra_loop`` sends and reads on the loop itself). Reads arrive
as a Poisson stream at each ``--rates`` (one task per read, exponential gaps), each measurement
after 300 warm-up reads, rounds alternating which way goes first.

Prints, per round, rate and way: p50 and p99 of a read, this process's CPU per read, split between
the loop's thread and the others (the reactor), and the node's CPU per read when its process is
known (a node this script starts, or ``--node-pid``); then the medians, and the ratios loop / thread.
On one machine the node shares the cores with this process: the load average is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from api_reads import cpu_seconds  # this folder is on the path: the scripts run by path
from view_reads import catalog_keyspace, fill, percentile

from views.catalog import CatalogStore
from views.stores import open_catalog_store, open_for_this_loop

WAYS = ("thread", "loop")
WARM_READS = 300


@dataclass(frozen=True)
class Run:
    p50_ms: float
    p99_ms: float
    cpu_us: float  # this process, per read
    loop_cpu_us: float  # of which the loop's own thread
    node_cpu_us: float | None


async def open_store(url: str, way: str) -> CatalogStore:
    return await open_for_this_loop(open_catalog_store, url) if way == "loop" else open_catalog_store(url)


async def measure(url: str, way: str, rate: float, seconds: float, videos: int, node_pid: int | None) -> Run:
    store = await open_store(url, way)
    rng = random.Random(int(rate))
    latencies: list[float] = []

    async def read(video_id: str) -> None:
        began = time.perf_counter()
        if await store.get(video_id) is None:
            raise AssertionError(f"{video_id} was not found")
        latencies.append(time.perf_counter() - began)

    def some_id() -> str:
        return f"bench-{rng.randrange(videos):06d}"

    try:
        for _ in range(WARM_READS):
            await read(some_id())
        latencies.clear()
        loop_tid = threading.get_native_id()
        cpu0, loop0 = time.process_time(), cpu_seconds(os.getpid(), thread=loop_tid)
        node0 = cpu_seconds(node_pid) if node_pid else 0.0
        tasks: list[asyncio.Task[None]] = []
        began = due = time.perf_counter()
        while (due := due + rng.expovariate(rate)) - began < seconds:
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(read(some_id())))
        await asyncio.gather(*tasks)
        reads = len(latencies)
        cpu, loop_cpu = time.process_time() - cpu0, cpu_seconds(os.getpid(), thread=loop_tid) - loop0
        node = (cpu_seconds(node_pid) - node0) / reads * 1e6 if node_pid else None
    finally:
        await store.close()
    return Run(
        percentile(latencies, 0.50) * 1000,
        percentile(latencies, 0.99) * 1000,
        cpu / reads * 1e6,
        loop_cpu / reads * 1e6,
        node,
    )


async def run(args: argparse.Namespace, url: str, node_pid: int | None) -> None:
    store = open_catalog_store(url)
    try:
        print(f"cassandra: {args.videos} rows written in {await fill(store, args.videos):.1f} s", flush=True)
    finally:
        await store.close()
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nget(video_id), Poisson arrivals, {args.rounds} rounds of {args.duration:g} s per way and rate")
    print(f"load average at the start: {load} on {os.cpu_count()} cores")
    header = f"{'p50 ms':>7} {'p99 ms':>7} {'CPU us':>7} {'loop us':>8} {'node us':>8}"
    print(f"{'round':>5} {'rate':>6} {'way':<7} {header}")
    results: dict[tuple[float, str], list[Run]] = {}
    for round_no in range(1, args.rounds + 1):
        for rate in args.rates:
            ways = WAYS if round_no % 2 else WAYS[::-1]
            for way in ways:
                r = await measure(url, way, rate, args.duration, args.videos, node_pid)
                results.setdefault((rate, way), []).append(r)
                node = f"{r.node_cpu_us:8.0f}" if r.node_cpu_us is not None else f"{'-':>8}"
                print(
                    f"{round_no:>5} {rate:>6.0f} {way:<7} {r.p50_ms:7.2f} {r.p99_ms:7.2f} "
                    f"{r.cpu_us:7.0f} {r.loop_cpu_us:8.0f} {node}",
                    flush=True,
                )

    def median(rate: float, way: str, field: str) -> float:
        values = [getattr(r, field) for r in results[(rate, way)]]
        return statistics.median(v for v in values if v is not None) if None not in values else float("nan")

    print(f"\nmedians of {args.rounds} rounds (ratio: loop / thread)")
    print(f"{'rate':>6} {'way':<7} {'p50 ms':>7} {'p99 ms':>7} {'CPU us':>7} {'node us':>8}")
    for rate in args.rates:
        for way in WAYS:
            row = [median(rate, way, f) for f in ("p50_ms", "p99_ms", "cpu_us", "node_cpu_us")]
            print(f"{rate:>6.0f} {way:<7} {row[0]:7.2f} {row[1]:7.2f} {row[2]:7.0f} {row[3]:8.0f}")
        ratios = [median(rate, "loop", f) / median(rate, "thread", f) for f in ("p50_ms", "p99_ms", "cpu_us")]
        print(f"{rate:>6.0f} {'ratio':<7} {ratios[0]:6.2f}x {ratios[1]:6.2f}x {ratios[2]:6.2f}x")
    print(f"load average at the end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument(
        "--rates", type=lambda s: [float(x) for x in s.split(",")], default=[250.0, 1000.0, 2500.0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of each measured run")
    parser.add_argument("--cassandra", metavar="URL", help="a running node (cassandra://host:port/any)")
    parser.add_argument("--node-pid", type=int, help="the running node's process, to read its CPU time")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tubestream-bench-cassandra-io-") as tmp,
        catalog_keyspace(args.cassandra, Path(tmp) / "cassandra") as keyspace,
    ):
        asyncio.run(run(args, keyspace.url, keyspace.node_pid or args.node_pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
