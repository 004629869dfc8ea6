"""Benchmark: the query API's reads against a bare aiohttp handler, under wrk, side by side in one run.

    python benchmarks/api_reads.py [--videos 2000] [--rounds 3] [--duration 8] [--connections 32]
                                   [--rate 2000] [--wrk /usr/bin/wrk]

Seeds a SQLite catalog with ``--videos`` ready videos (``benchmarks/view_reads.py``'s rows: three
renditions each, about 1.4 kB of JSON) and a playback view with an hour of minutes for 200 of them,
then starts two servers on free ports, each one process:

- the query API as ``tubestream api`` runs it (``query_api.server.run``: its middlewares, its
  security headers, the private access logger writing a line a request to a file), over those stores;
- a bare aiohttp app answering the same paths with a fixed document of the same shape, built once and
  encoded per request by ``web.json_response``: what aiohttp itself costs.

Each round runs wrk (``--connections`` connections, 2 threads, ``--duration`` seconds) on video reads
(``GET /v1/videos/{id}``, random ids), lists (``GET /v1/videos``, the first ten pages by their cursors)
and stats (``GET /v1/videos/{id}/stats``, the last hour by minute), against the API then the bare app
(alternating which goes first), and prints requests/s and p50/p99; then the medians of the rounds and
the ratio API / bare. A last pass sends each read at a fixed rate of ``--rate`` requests/s to the API
(wrk has no fixed-rate mode: 100 connections each wait a random think time before each request,
exponential so that the requests arrive as a Poisson stream, its mean calibrated so that the rate
comes out at ``--rate``; latency is measured from send to answer, so it is closed-loop, and
wrk2's corrected figures would be higher under a stall) and prints the latency percentiles.

Each server's CPU time per answer is read from ``/proc`` around each run: on a shared machine it
moves less than the rates do. The API's median over the video reads gives its reads per CPU-second,
recorded as ``api_reads_per_core_s`` for ``tubestream estimate``. wrk, the two servers and
anything else running share the machine's cores: the load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from view_reads import free_port, video  # this folder is on the path: the scripts run by path

from deploy.capacity.rates import record_rate
from deploy.settings import Settings
from query_api.resources import video_resource
from stream_apps.playback.aggregates import PlaybackStats
from stream_apps.playback.rows import stats_to_document
from views.playback import MinuteRow
from views.stores import open_catalog_store, open_playback_store

STATS_VIDEOS = 200
LIST_PAGES = 10
READS = ("video", "list", "stats")


def minute_stats(i: int, minute: int) -> PlaybackStats:
    viewers = frozenset(f"viewer-{(i * 7 + minute + k) % 500}" for k in range(5))
    return PlaybackStats(
        views=3,
        viewers=viewers,
        watch_ms=150_000,
        rebuffer_ms=800,
        rebuffers=2,
        quality_switches=1,
        rendition_ms=(("1080p", 90_000), ("720p", 60_000)),
        events=18,
    )


async def seed(home: Path, videos: int) -> None:
    catalog = open_catalog_store(f"sqlite:///{home / 'catalog.db'}")
    playback = open_playback_store(f"sqlite:///{home / 'playback.db'}")
    try:
        for i in range(videos):
            await catalog.put(video(i))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        rows = [
            MinuteRow(
                video_id=f"bench-{i:06d}",
                minute=now - timedelta(minutes=m),
                partition=i % 4,
                document=stats_to_document(minute_stats(i, m)),
            )
            for i in range(min(videos, STATS_VIDEOS))
            for m in range(62)
        ]
        await playback.write(rows, offsets={p: len(rows) for p in range(4)})
    finally:
        await catalog.close()
        await playback.close()


# -- the two servers, each run as a child process of this script ---------------------------------


def serve_api(home: Path, port: int, catalog_url: str | None = None, *, reuse_port: bool = False) -> None:
    """The query API over ``catalog_url`` (the seeded SQLite catalog by default) and the seeded playback."""
    from deploy.serving import access_logger, log_privately
    from query_api.server import run

    log_privately()  # as ``tubestream api``: every access line through the redacting formatter
    run(
        catalog_url=catalog_url or f"sqlite:///{home / 'catalog.db'}",
        playback_url=f"sqlite:///{home / 'playback.db'}",
        media=None,
        host="127.0.0.1",
        port=port,
        ssl_context=None,
        access_log_class=access_logger(b"benchmark pseudonym key"),
        reuse_port=reuse_port,
    )


def serve_bare(port: int, *, reuse_port: bool = False) -> None:
    """The same paths, each answering one document of the same shape; no store, no middleware, no log."""
    one = video_resource(video(0), media_base_url="/media/")
    page = {
        "videos": [video_resource(video(i), media_base_url="/media/") for i in range(20)],
        "next_cursor": "x",
    }
    point: dict[str, object] = {
        "views": 3,
        "unique_viewers": 5,
        "watch_ms": 150_000,
        "avg_view_duration_ms": 50_000.0,
    }
    point |= {"rebuffer_ms": 800, "rebuffer_ratio": 0.005, "rebuffers": 2, "quality_switches": 1}
    point |= {"rendition_mix": {"1080p": 0.6, "720p": 0.4}, "events": 18, "late_events": 0}
    points = [{"start": "2026-12-03T01:00:00Z", "end": "2026-12-03T01:01:00Z", **point} for _ in range(60)]
    stats: dict[str, object] = {
        "video_id": "bench-000000",
        "from": "2026-12-03T01:00:00Z",
        "to": "2026-12-03T02:00:00Z",
    }
    stats |= {"step_s": 60, "totals": point, "points": points}

    async def get_video(request: web.Request) -> web.Response:
        return web.json_response(one)

    async def list_videos(request: web.Request) -> web.Response:
        return web.json_response(page)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application()
    app.router.add_get("/v1/videos/{video_id}", get_video)
    app.router.add_get("/v1/videos", list_videos)
    app.router.add_get("/v1/videos/{video_id}/stats", get_stats)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, reuse_port=reuse_port or None)


# -- wrk ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    rate: float  # requests/s
    p50_ms: float
    p99_ms: float
    p999_ms: float
    failures: int  # non-2xx answers and socket errors


def wrk_script(paths: list[str], delay_ms: float | None) -> str:
    """wrk's Lua: random paths; with ``delay_ms``, each request after a random think time of that mean.

    The think times are exponential (and each wrk thread draws its own): the connections' requests
    then arrive as a Poisson stream at the rate, as independent clients' do. A fixed delay kept the
    100 connections in step from their first requests on, so the server took bursts of 100 at once
    and the tail measured the burst, not the server.
    """
    quoted = ",".join(f'"{p}"' for p in paths)
    script = "local threads = 0\n"
    script += "setup = function(thread) threads = threads + 1; thread:set('seed', 7 + threads) end\n"
    script += "init = function(args) math.randomseed(seed) end\n"
    script += f"local paths = {{{quoted}}}\n"
    script += "request = function() return wrk.format('GET', paths[math.random(#paths)]) end\n"
    if delay_ms is not None:
        script += f"delay = function() return -math.log(1 - math.random()) * {delay_ms:.3f} end\n"
    # wrk's own table stops at p99; its latency object gives any percentile, in microseconds
    script += "done = function(summary, latency, requests)\n"
    script += "  for _, p in ipairs({50, 99, 99.9}) do\n"
    script += "    io.write(string.format('p%g %d\\n', p, latency:percentile(p)))\n"
    script += "  end\n"
    script += "end\n"
    return script


def run_wrk(
    wrk: str, base: str, script: Path, *, connections: int, duration_s: float, percentiles: str = ""
) -> WrkResult:
    cmd = [wrk, "-t2", f"-c{connections}", f"-d{duration_s:g}s", "--latency", "-s", str(script), base]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    failures = int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", out, "0"))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failures += sum(int(n) for n in errors.groups()) if errors else 0
    return WrkResult(rate, _latency(out, "50"), _latency(out, "99"), _latency(out, "99.9"), failures)


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        if default is None:
            raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
        return default
    return match.group(1)


def _latency(out: str, percentile: str) -> float:
    """A percentile in ms, as the script's ``done`` printed it (microseconds)."""
    return int(_find(rf"^p{re.escape(percentile)} (\d+)$", out)) / 1000


# -- the run ----------------------------------------------------------------------------------------


def cpu_seconds(pid: int, *, thread: int | None = None) -> float:
    """User + system CPU time of a process so far, or of one of its threads (Linux ``/proc``)."""
    stat = Path(f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s")


def list_paths(api: str) -> list[str]:
    """The first pages of the listing, each by the cursor the page before gave."""
    import json

    paths, cursor = ["/v1/videos?limit=20"], None
    for _ in range(LIST_PAGES - 1):
        with urllib.request.urlopen(api + paths[-1], timeout=10) as answer:
            cursor = json.load(answer)["next_cursor"]
        if cursor is None:
            break
        paths.append(f"/v1/videos?limit=20&cursor={cursor}")
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=2000.0, help="requests/s of the fixed-rate pass")
    parser.add_argument("--wrk", default="/usr/bin/wrk")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes of each server sharing its port (SO_REUSEPORT), as `tubestream api --processes N`",
    )
    # a child: api HOME PORT [CATALOG_URL] | bare PORT
    parser.add_argument("--serve", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.serve[0] == "api":
            serve_api(Path(args.serve[1]), int(args.serve[2]), *args.serve[3:4], reuse_port=args.reuse_port)
        else:
            serve_bare(int(args.serve[1]), reuse_port=args.reuse_port)
        return 0

    with tempfile.TemporaryDirectory(prefix="tubestream-bench-api-") as tmp:
        home = Path(tmp)
        began = time.perf_counter()
        asyncio.run(seed(home, args.videos))
        print(
            f"seeded {args.videos} videos and an hour of playback minutes "
            f"in {time.perf_counter() - began:.1f} s"
        )
        ports = {"api": free_port(), "bare": free_port()}
        me = [sys.executable, __file__, *(["--reuse-port"] if args.processes > 1 else []), "--serve"]
        with open(home / "api.log", "wb") as api_log:
            procs = {
                "api": [
                    subprocess.Popen([*me, "api", tmp, str(ports["api"])], stdout=api_log, stderr=api_log)
                    for _ in range(args.processes)
                ],
                "bare": [
                    subprocess.Popen([*me, "bare", str(ports["bare"])], stderr=subprocess.DEVNULL)
                    for _ in range(args.processes)
                ],
            }
            everyone = [proc for group in procs.values() for proc in group]
            try:
                bases = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
                for proc in procs["api"]:
                    wait_until_up(bases["api"] + "/healthz", proc)
                for proc in procs["bare"]:
                    wait_until_up(bases["bare"] + "/v1/videos", proc)
                pids = {name: [proc.pid for proc in group] for name, group in procs.items()}
                return measure(args, home, bases, pids)
            finally:
                for proc in everyone:
                    proc.terminate()
                for proc in everyone:
                    proc.wait(timeout=30)


def measure(args: argparse.Namespace, home: Path, bases: dict[str, str], pids: dict[str, list[int]]) -> int:
    rng = random.Random(7)
    ids = [f"bench-{rng.randrange(args.videos):06d}" for _ in range(2000)]
    paths = {
        "video": [f"/v1/videos/{i}" for i in ids],
        "list": list_paths(bases["api"]),
        "stats": [f"/v1/videos/{i}/stats" for i in ids if int(i[6:]) < STATS_VIDEOS],
    }
    scripts = {}
    for read, read_paths in paths.items():
        scripts[read] = home / f"{read}.lua"
        scripts[read].write_text(wrk_script(read_paths, None))
    for read in READS:  # warm both servers (caches, the first connections)
        for base in bases.values():
            run_wrk(args.wrk, base, scripts[read], connections=args.connections, duration_s=1)

    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the start: {load} on {os.cpu_count()} cores")
    each = f"{args.processes} process(es) per server"
    print(f"wrk -t2 -c{args.connections} -d{args.duration:g}s, {args.rounds} rounds, {each}")
    print(
        f"{'round':>5}  {'read':<6} {'server':<6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'CPU us/req':>10} {'failed':>6}"
    )
    results: dict[tuple[str, str], list[WrkResult]] = {}
    cpu_us: dict[tuple[str, str], list[float]] = {}  # the server's CPU time per answer
    for round_ in range(args.rounds):
        for read in READS:
            order = ("api", "bare") if round_ % 2 == 0 else ("bare", "api")
            for server in order:
                cpu_before = sum(map(cpu_seconds, pids[server]))
                result = run_wrk(
                    args.wrk,
                    bases[server],
                    scripts[read],
                    connections=args.connections,
                    duration_s=args.duration,
                )
                answers = result.rate * args.duration
                used = (sum(map(cpu_seconds, pids[server])) - cpu_before) / answers * 1e6
                results.setdefault((read, server), []).append(result)
                cpu_us.setdefault((read, server), []).append(used)
                print(
                    f"{round_ + 1:>5}  {read:<6} {server:<6} {result.rate:8.0f} {result.p50_ms:7.2f} "
                    f"{result.p99_ms:7.2f} {used:10.0f} {result.failures:>6}",
                    flush=True,
                )

    print(f"\nmedians of {args.rounds} rounds (ratio: api / bare; CPU ratio: bare's CPU per answer / api's)")
    print(
        f"{'read':<6} {'api req/s':>9} {'bare req/s':>10} {'ratio':>6} {'api p99':>8} {'bare p99':>8} "
        f"{'api CPU us':>10} {'bare CPU us':>11} {'CPU ratio':>9}"
    )
    failed = 0
    for read in READS:
        api, bare = results[(read, "api")], results[(read, "bare")]
        api_rate, bare_rate = statistics.median(r.rate for r in api), statistics.median(r.rate for r in bare)
        api_us, bare_us = statistics.median(cpu_us[(read, "api")]), statistics.median(cpu_us[(read, "bare")])
        api_p99 = statistics.median(r.p99_ms for r in api)
        bare_p99 = statistics.median(r.p99_ms for r in bare)
        failed += sum(r.failures for r in api)
        print(
            f"{read:<6} {api_rate:9.0f} {bare_rate:10.0f} {api_rate / bare_rate:6.2f} "
            f"{api_p99:8.2f} {bare_p99:8.2f} "
            f"{api_us:10.0f} {bare_us:11.0f} {bare_us / api_us:9.2f}"
        )

    print(f"\nthe API at a fixed {args.rate:g} requests/s (100 connections, Poisson arrivals; ms)")
    print(f"{'read':<6} {'req/s':>7} {'p50':>6} {'p99':>6} {'p99.9':>6} {'failed':>6}")
    for read in READS:
        script = home / f"{read}-fixed.lua"
        fixed = fixed_rate(
            args.wrk, bases["api"], paths[read], script, rate=args.rate, duration_s=args.duration
        )
        failed += fixed.failures
        print(
            f"{read:<6} {fixed.rate:7.0f} {fixed.p50_ms:6.2f} {fixed.p99_ms:6.2f} {fixed.p999_ms:6.2f} "
            f"{fixed.failures:>6}",
            flush=True,
        )

    per_core = 1e6 / statistics.median(cpu_us[("video", "api")])
    print(f"\nthe API's CPU over the video reads: {per_core:,.0f} reads per CPU-second")
    print(f"load average at the end: {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    if per_core:
        rates_file = Settings.from_env().home / "capacity" / "rates.json"
        source = (
            f"python benchmarks/api_reads.py, {datetime.now(UTC):%Y-%m-%d}: GET /v1/videos/{{id}} under wrk"
        )
        record_rate(rates_file, "api_reads_per_core_s", round(per_core), source)
        print(f"rate for tubestream estimate recorded in {rates_file}")
    if failed:
        print(f"{failed} requests failed (non-2xx or socket errors): the figures above are not to be quoted")
    return 1 if failed else 0


def fixed_rate(
    wrk: str, base: str, paths: list[str], script: Path, *, rate: float, duration_s: float, trial_s: float = 2
) -> WrkResult:
    """wrk at about ``rate``: 100 connections, each waiting a random think time (50 ms on average at
    2 000/s) before each request, long beside an answer's time, so that the rate hardly depends on it.

    The delay is corrected from two short runs' rates (the answer's own time and wrk's timer slack
    add to each connection's period), never below half its first value; the measured run follows.
    ``script`` is the file the wrk script is written to.
    """
    connections = 100
    nominal_ms = connections / rate * 1000
    delay_ms = nominal_ms
    for _ in range(2):
        script.write_text(wrk_script(paths, delay_ms))
        trial = run_wrk(wrk, base, script, connections=connections, duration_s=trial_s)
        overhead_ms = connections / trial.rate * 1000 - delay_ms
        delay_ms = max(nominal_ms / 2, nominal_ms - overhead_ms)
    script.write_text(wrk_script(paths, delay_ms))
    return run_wrk(wrk, base, script, connections=connections, duration_s=duration_s)


if __name__ == "__main__":
    sys.exit(main())
