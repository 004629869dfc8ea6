"""Benchmark: the catalog's point read ``get(video_id)`` on SQLite against Cassandra, at equal concurrency.

    python benchmarks/view_reads.py [--videos 5000] [--concurrency 1,16] [--reads 4000] [--cassandra URL]

Fills both stores with the same ``--videos`` catalog rows (a ready video with three renditions, about
1.4 kB of JSON each), then, for each concurrency level, runs ``--reads`` ``get`` calls of random ids
from that many concurrent asyncio tasks through each store's async API (the API's own path: one
process, one store), after a warm-up of a tenth as many. Prints per-read latency p50 and p99 and the
reads per second of each store, and the ratios Cassandra / SQLite.

Cassandra is the project's local single node (``deploy/local_cassandra.py``) started on free ports
for the run and stopped after, unless ``--cassandra`` names a running one (a fresh keyspace is
migrated in it either way). On one machine both servers share its cores with this process: the
figures compare the two stores' paths, not a cluster's capacity, and the load average printed
beside them says how busy the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deploy.local_cassandra import LocalCassandra
from deploy.settings import Settings
from views.catalog import CatalogStore, RenditionRecord, VideoRecord, VideoStatus
from views.stores import migrate_store, open_catalog_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def video(i: int) -> VideoRecord:
    """A realistic ready row: the size of what the API reads most."""
    renditions = tuple(
        RenditionRecord(
            name=f"{h}p",
            codec="H264",
            width=h * 16 // 9,
            height=h,
            bitrate_kbps=h * 8,
            segment_duration_s=4.0,
            encoder="libx264",
            manifest_key=f"videos/bench-{i:06d}/{h}p/index.m3u8",
            init_key=f"videos/bench-{i:06d}/{h}p/init.mp4",
            segment_count=150,
            job_id=f"job-{i}",
        )
        for h in (360, 720, 1080)
    )
    return VideoRecord(
        video_id=f"bench-{i:06d}",
        status=VideoStatus.READY,
        updated_at=T0 + timedelta(seconds=i, minutes=5),
        created_at=T0 + timedelta(seconds=i),
        title=f"Benchmark video number {i}",
        description="A video made up for the point-read benchmark. " * 3,
        tags=("bench", "catalog", f"t{i % 50}"),
        uploader_id=f"user-{i % 997}",
        object_key=f"uploads/bench-{i:06d}.mp4",
        size_bytes=50_000_000 + i,
        content_type="video/mp4",
        duration_ms=600_000,
        width=1920,
        height=1080,
        job_id=f"job-{i}",
        planned_renditions=("360p", "720p", "1080p"),
        renditions=renditions,
        hls_master_key=f"videos/bench-{i:06d}/master.m3u8",
        dash_manifest_key=f"videos/bench-{i:06d}/manifest.mpd",
        progress_pct=100.0,
        progress_job_id=f"job-{i}",
    )


async def fill(store: CatalogStore, videos: int, *, concurrency: int = 32) -> float:
    """Put every row (``concurrency`` at a time); seconds taken."""
    started = time.perf_counter()
    gate = asyncio.Semaphore(concurrency)

    async def put(i: int) -> None:
        async with gate:
            await store.put(video(i))

    await asyncio.gather(*(put(i) for i in range(videos)))
    return time.perf_counter() - started


async def point_reads(
    store: CatalogStore, *, videos: int, reads: int, concurrency: int
) -> tuple[list[float], float]:
    """(latency of each read in seconds, reads per second) of ``reads`` gets from ``concurrency`` tasks."""
    rng = random.Random(7)
    ids = [f"bench-{rng.randrange(videos):06d}" for _ in range(reads)]
    latencies: list[float] = []

    async def worker(mine: list[str]) -> None:
        for video_id in mine:
            began = time.perf_counter()
            found = await store.get(video_id)
            latencies.append(time.perf_counter() - began)
            if found is None:
                raise AssertionError(f"{video_id} was not found")

    started = time.perf_counter()
    await asyncio.gather(*(worker(ids[k::concurrency]) for k in range(concurrency)))
    return latencies, reads / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(url: str, args: argparse.Namespace, level: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, reads/s) of one store at one concurrency, after a warm-up."""
    store = open_catalog_store(url)
    try:
        await point_reads(store, videos=args.videos, reads=max(100, args.reads // 10), concurrency=level)
        latencies, rate = await point_reads(store, videos=args.videos, reads=args.reads, concurrency=level)
    finally:
        await store.close()
    return percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000, rate


async def run(args: argparse.Namespace, cassandra_url: str, sqlite_url: str) -> None:
    for name, url in (("sqlite", sqlite_url), ("cassandra", cassandra_url)):
        store = open_catalog_store(url)
        try:
            seconds = await fill(store, args.videos)
        finally:
            await store.close()
        print(f"{name}: {args.videos} rows written in {seconds:.1f} s", flush=True)

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nget(video_id), {args.reads} reads of random ids at each concurrency (ms per read)")
    print(f"load average at the start: {load} on {os.cpu_count()} cores")
    print(f"{'concurrency':>11}  {'store':<9} {'p50':>7} {'p99':>7} {'reads/s':>8}")
    for level in args.concurrency:
        sqlite = await measure(sqlite_url, args, level)
        cassandra = await measure(cassandra_url, args, level)
        for name, (p50, p99, rate) in (("sqlite", sqlite), ("cassandra", cassandra)):
            print(f"{level:>11}  {name:<9} {p50:7.3f} {p99:7.3f} {rate:8.0f}")
        print(
            f"{'':>11}  {'ratio':<9} {cassandra[0] / sqlite[0]:6.1f}x {cassandra[1] / sqlite[1]:6.1f}x "
            f"{cassandra[2] / sqlite[2]:7.2f}x   (cassandra / sqlite)",
            flush=True,
        )
    print(f"load average at the end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=5000)
    parser.add_argument("--reads", type=int, default=4000, help="timed reads per store and concurrency")
    parser.add_argument(
        "--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16], help="e.g. 1,16"
    )
    parser.add_argument("--cassandra", metavar="URL", help="a running node (cassandra://host:port/any)")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="tubestream-bench-views-") as tmp,
        catalog_keyspace(args.cassandra, Path(tmp) / "cassandra") as keyspace,
    ):
        asyncio.run(run(args, keyspace.url, f"sqlite:///{Path(tmp) / 'catalog.db'}"))
    return 0


@dataclass(frozen=True)
class Keyspace:
    url: str
    node_pid: int | None  # the node's process when this run started it: its CPU time can be read


@contextlib.contextmanager
def catalog_keyspace(running: str | None, run_dir: Path) -> Iterator[Keyspace]:
    """A fresh keyspace with the catalog's schema: on ``running`` (a node's URL) if given, else on a
    local node started on free ports in ``run_dir`` and stopped after."""
    keyspace = f"bench_{uuid.uuid4().hex[:8]}"
    node: LocalCassandra | None = None
    if running:
        base = running.split("?")[0].rsplit("/", 1)[0]
        url = f"{base}/{keyspace}?replication=1"
    else:
        node = LocalCassandra(
            Settings.from_env().cassandra_home,
            native_port=free_port(),
            storage_port=free_port(),
            jmx_port=free_port(),
            run_dir=run_dir,
        )
        began = time.perf_counter()
        node.start(timeout_s=240)
        print(f"cassandra: local node started in {time.perf_counter() - began:.1f} s", flush=True)
        url = node.url(keyspace)
    try:
        migrate_store(url, view="catalog")
        yield Keyspace(url, node.pid() if node is not None else None)
    finally:
        if node is not None:
            node.stop()


if __name__ == "__main__":
    sys.exit(main())
