"""Benchmark: playback events through collector → Kafka → analytics worker → API, against a bare consumer.

    python benchmarks/playback.py [--events 300000] [--rounds 3] [--clients 8] [--rate 10000] [--seconds 10]
                                  [--state-rate 300] [--state-minutes 60]

Runs the real processes (``tubestream collector``, ``analytics run``, ``api``) on the project's Kafka in
a fresh namespace, then in one run measures:
  1. sustained throughput, ``--rounds`` times: ``--events`` events POSTed in batches of 500 by
     ``--clients`` concurrent clients; events/s from the first POST until the API's totals count every
     event of the round; each round, the median, and the CPU time each process spent per event;
  2. the ceiling: a bare confluent-kafka consume-and-decode loop over the same topic (no aggregation),
     with the worker's own batch decoder, and the median end-to-end rate as a fraction of it;
  3. freshness at ``--rate`` events/s: every batch carries one tracer event for a video of its own;
     the time from sending it to the API showing it, p50 and p99;
  4. backlog catch-up: ``--events`` events of sessions played two hours before (every one a
     backfill, counted in its own minute) POSTed the same way, events/s through to the API, next to
     the on-time median;
  5. restart: the worker SIGKILLed after all that, a new one started, the time until the API shows
     a batch sent meanwhile, once from the last snapshot and once from offset 0 (snapshots deleted);
  6. the state's bound, in process with simulated time: sessions of a minute at ``--state-rate``
     events/s for ``--state-minutes`` fed to one aggregator in collector order, its peak size (live
     sessions and events, retired sessions, minutes, bytes by tracemalloc), next to the bytes per
     event of the keep-everything aggregator, scaled to 10 000 events/s (the state is linear in the
     rate).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from confluent_kafka import Consumer, TopicPartition

from deploy.capacity.rates import record_rate
from deploy.local_kafka import LocalKafka
from deploy.settings import Settings
from producers.collector.tokens import PlayerTokens
from schemas.playback_event import PlaybackKind
from stream_apps.playback.aggregates import PlaybackAggregator
from stream_apps.playback.facts import PlaybackFact, decode_facts
from topics.admin import apply_topics
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig

BATCH = 500
VIDEOS = 20
SECRET = "benchmark-player-secret-of-32-bytes!"


def sessions(count: int, videos: int, *, now: datetime, prefix: str = "bench") -> list[dict[str, Any]]:
    rng = random.Random(1)
    events: list[dict[str, Any]] = []
    while len(events) < count:
        session, video = str(uuid.uuid4()), f"{prefix}-{rng.randrange(videos)}"
        begin = now - timedelta(seconds=rng.randrange(60, 240))
        for i in range(50):
            kind = "start" if i == 0 else "end" if i == 49 else "heartbeat"
            at = begin + timedelta(seconds=i * 2)
            events.append(
                {
                    "event_id": str(uuid.uuid4()),
                    "session_id": session,
                    "video_id": video,
                    "kind": kind,
                    "position_ms": i * 2000,
                    "occurred_at": at.isoformat(),
                    "rendition": "720p",
                    # Each session is POSTed whole, so the collector's clock lets it credit 5 s
                    # (docs/analytics.md, "Abuse bounds"): an 8 s video still makes a view, and
                    # the minutes keep viewer sets to merge and store, as they did before that bound.
                    "video_duration_ms": 8_000,
                }
            )
    return events[:count]


async def post(http: aiohttp.ClientSession, url: str, body: bytes, authorization: str | None = None) -> None:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    while True:
        async with http.post(url, data=body, headers=headers) as response:
            if response.status == 202:
                return
            if response.status == 429:  # the collector's back-pressure: wait as told, send again
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            raise RuntimeError(f"collector answered {response.status}: {await response.text()}")


async def total_events(http: aiohttp.ClientSession, api: str, prefix: str, start: str, end: str) -> int:
    total = 0
    for v in range(VIDEOS):
        async with http.get(f"{api}/v1/videos/{prefix}-{v}/stats?from={start}&to={end}&step=1h") as response:
            body = await response.json()
            total += body["totals"]["events"] if response.status == 200 else 0
    return total


Post = tuple[str, bytes]  # (the Authorization header of one viewer, a body)


def bodies(count: int, *, now: datetime, prefix: str) -> list[Post]:
    """A round's POSTs, encoded before the clock starts: the players are not what is measured.

    Each batch comes from a viewer of its own, so minutes have many unique viewers to keep, as they
    would on a real platform, rather than one.
    """
    events = sessions(count, VIDEOS, now=now, prefix=prefix)
    tokens = PlayerTokens(SECRET)
    return [
        (f"Bearer {tokens.issue(f'{prefix}-viewer-{i}')}", orjson.dumps(events[i : i + BATCH]))
        for i in range(0, len(events), BATCH)
    ]


async def sustained(
    http: aiohttp.ClientSession,
    collector: str,
    api: str,
    args: argparse.Namespace,
    prefix: str,
    batches: list[Post],
    window: tuple[str, str],
) -> tuple[float, float]:
    """One round: events/s accepted by the collector, and through to the API's totals."""
    queue: asyncio.Queue[Post] = asyncio.Queue()
    for body in batches:
        queue.put_nowait(body)

    async def client() -> None:
        while not queue.empty():
            authorization, body = queue.get_nowait()
            await post(http, collector, body, authorization)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.clients)))
    sent = time.perf_counter() - started
    count = args.events
    while await total_events(http, api, prefix, *window) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # polling the API is the measurement
    done = time.perf_counter() - started
    return count / sent, count / done


def ceiling(kafka: KafkaConfig, expected: int) -> float:
    topic = kafka.topic(PLAYBACK_EVENT_TOPIC.name)
    consumer = Consumer(
        kafka.client_config(**{"group.id": f"bench-{uuid.uuid4()}", "enable.auto.commit": False})
    )
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    started, seen = time.perf_counter(), 0
    while seen < expected:
        values = [m.value() or b"" for m in consumer.consume(5000, 1.0) if m.error() is None]
        decode_facts(values)  # the worker's own decoder: the cheapest we have
        seen += len(values)
    elapsed = time.perf_counter() - started
    consumer.close()
    return seen / elapsed


# What each process's CPU per event is called in tubestream estimate's rates.
RATE_OF_PROCESS = {
    "collector": "collector_cpu_us_per_event",
    "worker": "analytics_cpu_us_per_event",
    "kafka": "broker_cpu_us_per_event",
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_use(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def start_processes(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    return [start(env, cmd) for cmd in (["collector"], WORKER, ["api"])]


WORKER = ["analytics", "run", "--instance-id", "bench-worker"]  # a restart takes its partitions back at once


def start(env: dict[str, str], cmd: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """``log``: where its stderr goes (its log lines); nowhere by default."""
    with open(log or os.devnull, "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", *cmd], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


async def shown(http: aiohttp.ClientSession, api: str, video: str, window: tuple[str, str]) -> None:
    while True:
        async with http.get(f"{api}/v1/videos/{video}/stats?from={window[0]}&to={window[1]}&step=1h") as r:
            body = await r.json()
        if r.status == 200 and body["totals"]["events"] > 0:
            return
        await asyncio.sleep(0.05)


async def restart(
    http: aiohttp.ClientSession,
    env: dict[str, str],
    worker: subprocess.Popen[bytes],
    collector: str,
    api: str,
    window: tuple[str, str],
    tag: str,
) -> tuple[subprocess.Popen[bytes], float]:
    """SIGKILL the worker, send a batch, start another: seconds until the API shows the batch."""
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    batch = sessions(BATCH, 1, now=datetime.now(UTC), prefix=f"restart-{tag}")
    await post(http, collector, orjson.dumps(batch), f"Bearer {PlayerTokens(SECRET).issue(f'restart-{tag}')}")
    started = time.perf_counter()
    log = Path(env["TUBESTREAM_HOME"]) / f"worker-{tag}.log"
    successor = start(env, WORKER, log)
    await shown(http, api, f"restart-{tag}-0", window)
    took = time.perf_counter() - started
    for line in log.read_text().splitlines():  # where the time went: the partitions' restore
        if "restored from" in line:
            print(f"  {tag}: {line.split(': ', 1)[-1]}")
    return successor, took


def simulated_facts(rate: int, minutes: int) -> Any:
    """Sessions of a minute (a START, a heartbeat every 5 s, an END) at ``rate`` events/s of server time,
    in collector order, a second between playing and receiving."""
    rng = random.Random(2)
    t0 = 1_780_000_000_000
    per_session = 14
    starts_per_s = rate / per_session
    live: list[tuple[int, int, str, str, str]] = []  # heap of (next event ms, index, session, video, viewer)
    for n in range(int(starts_per_s * minutes * 60)):
        begin = t0 + int(n * 1000 / starts_per_s)
        while live and live[0][0] <= begin:
            at, i, session, video, viewer = heapq.heappop(live)
            yield _fact(session, video, viewer, at, i)
            if i < per_session - 1:
                heapq.heappush(live, (at + 5_000, i + 1, session, video, viewer))
        heapq.heappush(live, (begin, 0, f"s{n}", f"v{rng.randrange(200)}", f"u{rng.randrange(20_000)}"))
    while live:
        at, i, session, video, viewer = heapq.heappop(live)
        yield _fact(session, video, viewer, at, i)
        if i < per_session - 1:
            heapq.heappush(live, (at + 5_000, i + 1, session, video, viewer))


def _fact(session: str, video: str, viewer: str, at: int, i: int) -> PlaybackFact:
    kind = PlaybackKind.START if i == 0 else PlaybackKind.END if i == 13 else PlaybackKind.HEARTBEAT
    return PlaybackFact(
        f"{session}-{i}", at, at + 1_000, session, viewer, video, kind, i * 5_000, "720p", None, "sim", None
    )


def restore_rate(data: bytes, live_events: int, rounds: int = 5) -> None:
    """Load a snapshot as a restarted worker does (no cycle collection meanwhile), ``rounds`` times;
    the median in live events a second is recorded for ``tubestream estimate``."""
    took = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        began = time.perf_counter()
        PlaybackAggregator.from_snapshot(data)
        took.append(time.perf_counter() - began)
        gc.enable()
    seconds = statistics.median(took)
    per_s = live_events / seconds
    print(
        f"restore: a snapshot of {live_events:,} live events ({len(data) / 2**20:.1f} MiB) loads in "
        f"{seconds:.2f} s, median of {rounds} ({min(took):.2f}-{max(took):.2f} s): {per_s:,.0f} live events/s"
    )
    if live_events:
        rates_file = Settings.from_env().home / "capacity" / "rates.json"
        source = f"python benchmarks/playback.py, {datetime.now(UTC):%Y-%m-%d}: a snapshot loaded in process"
        record_rate(rates_file, "analytics_restore_events_per_s", round(per_s), source)


def state_bound(rate: int, minutes: int) -> None:
    """Peak state of the bounded aggregator over the run (two retirement settings), and the
    keep-everything one's bytes per event; all measured by tracemalloc, scaled to 10 000 events/s."""
    scale = 10_000 / rate
    settings: list[tuple[str, dict[str, Any]]] = [
        ("idle sessions retired after 15 min", {}),
        ("and ended ones after 5 min", {"retire_ended_after": timedelta(minutes=5)}),
    ]
    for label, kwargs in settings:
        gc.collect()
        tracemalloc.start()
        bounded = PlaybackAggregator(**kwargs)
        peak: dict[str, int] = {}
        chunk: list[PlaybackFact] = []
        events = 0
        for fact in simulated_facts(rate, minutes):
            chunk.append(fact)
            if len(chunk) == 2_000:
                bounded.apply_all(chunk)
                events += len(chunk)
                chunk = []
                if events % 100_000 == 0:
                    peak = {k: max(v, peak.get(k, 0)) for k, v in bounded.state_size().items()}
        bounded.apply_all(chunk)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        data = bounded.to_snapshot()
        snapshot = len(data)
        if not kwargs:  # the worker's default: how fast its live state comes back from a snapshot
            restore_rate(data, bounded.state_size()["live_events"])
        del bounded
        print(
            f"state, {label}: {minutes} simulated min at {rate:,}/s ({events:,} events): peak "
            f"{peak.get('live_sessions', 0):,} live sessions, {peak.get('live_events', 0):,} live events, "
            f"{peak.get('retired_sessions', 0):,} retired, {peak.get('buckets', 0):,} minute buckets, "
            f"{traced / 2**20:.0f} MiB (snapshot {snapshot / 2**20:.1f} MiB); at 10 000/s: "
            f"{scale * traced / 2**30:.1f} GiB, however long it runs"
        )
    tracemalloc.start()
    everything = PlaybackAggregator(retire_after=None)
    sample = []
    for fact in simulated_facts(rate, minutes):
        sample.append(fact)
        if len(sample) == 100_000:
            break
    before = tracemalloc.get_traced_memory()[0]
    everything.apply_all(sample)
    per_event = (tracemalloc.get_traced_memory()[0] - before) / len(sample)
    tracemalloc.stop()
    print(
        f"state, keeping every event: {per_event:.0f} B per event, so {per_event * 36e6 / 2**30:.0f} GiB "
        "after an hour at 10 000/s, and growing"
    )


async def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    broker = LocalKafka(settings.kafka_home, port=settings.kafka_port)
    broker.start()
    kafka = KafkaConfig(bootstrap=broker.bootstrap, namespace=f"bench{uuid.uuid4().hex[:6]}-")
    apply_topics(kafka)
    home = Path(tempfile.mkdtemp(prefix="tubestream-bench-"))
    ports = {"api": 18980, "collector": 18981}
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP": kafka.bootstrap,
        "TUBESTREAM_NAMESPACE": kafka.namespace,
        "TUBESTREAM_HOME": str(home),
        "TUBESTREAM_API_PORT": str(ports["api"]),
        "TUBESTREAM_COLLECTOR_PORT": str(ports["collector"]),
        "TUBESTREAM_PLAYER_TOKEN_SECRET": SECRET,
    }
    procs = start_processes(env)
    collector = f"http://127.0.0.1:{ports['collector']}/v1/playback/events"
    api = f"http://127.0.0.1:{ports['api']}"
    token = PlayerTokens(SECRET).issue("bench-viewer")
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            for _ in range(100):  # wait for the processes
                try:
                    async with (
                        http.get(f"{api}/healthz") as r1,
                        http.get(collector.replace("/v1/playback/events", "/healthz")) as r2,
                    ):
                        if r1.status == r2.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            pids = {"collector": procs[0].pid, "worker": procs[1].pid, "api": procs[2].pid}
            pids["load generator"] = os.getpid()
            if broker.pid() is not None:
                pids["kafka"] = broker.pid() or 0
            now = datetime.now(UTC)
            window = ((now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat())
            start_q, end_q = (w.replace("+00:00", "Z") for w in window)
            cpu = dict.fromkeys(pids, 0.0)  # spent during the rounds, not while their bodies were made
            accepted, through = [], []
            for round_ in range(args.rounds):  # the worker's state keeps growing, as it would
                prefix = f"bench-r{round_}"  # events as of now: later rounds are not late
                batches = bodies(args.events, now=datetime.now(UTC), prefix=prefix)
                cpu_before = cpu_use(pids)
                intake, end_to_end = await sustained(
                    http, collector, api, args, prefix, batches, (start_q, end_q)
                )
                cpu = {name: cpu[name] + used - cpu_before[name] for name, used in cpu_use(pids).items()}
                accepted.append(intake)
                through.append(end_to_end)
                print(
                    f"round {round_ + 1}: {args.events} events: collector accepted {intake:,.0f}/s; ", end=""
                )
                print(f"through to the API {end_to_end:,.0f}/s", flush=True)
            total = args.events * args.rounds
            per_event = ", ".join(f"{name} {s / total * 1e6:.1f}" for name, s in cpu.items())
            print(f"CPU per event (us): {per_event}; all {sum(cpu.values()) / total * 1e6:.1f}")
            rates_file = settings.home / "capacity" / "rates.json"
            measured = f"python benchmarks/playback.py, {now:%Y-%m-%d}"
            for name, rate in RATE_OF_PROCESS.items():
                if name in cpu:
                    record_rate(rates_file, rate, cpu[name] / total * 1e6, measured)
            print(f"rates for tubestream estimate recorded in {rates_file}")

            bare = ceiling(kafka, total)
            median = statistics.median(through)
            print(f"ceiling (bare consume + decode of the same topic): {bare:,.0f}/s")
            print(
                f"median of {args.rounds} rounds: collector {statistics.median(accepted):,.0f}/s, "
                f"end to end {median:,.0f}/s = {median / bare:.2f} of the ceiling"
            )

            latencies: list[float] = []
            pending: dict[str, float] = {}

            async def watch() -> None:
                while True:
                    for video, sent_at in list(pending.items()):
                        async with http.get(
                            f"{api}/v1/videos/{video}/stats?from={start_q}&to={end_q}&step=1h"
                        ) as r:
                            body = await r.json()
                        if r.status == 200 and body["totals"]["events"] > 0:
                            latencies.append(time.perf_counter() - sent_at)
                            del pending[video]
                    await asyncio.sleep(0.02)

            watcher = asyncio.create_task(watch())
            tokens = PlayerTokens(SECRET)  # a viewer per POST: one opens at most 20 sessions a minute
            paced = sessions(args.rate * args.seconds, VIDEOS, now=datetime.now(UTC), prefix="paced")
            interval = BATCH / args.rate
            tick = time.perf_counter()
            for n, i in enumerate(range(0, len(paced), BATCH)):
                batch = paced[i : i + BATCH - 1]
                tracer = f"trace-{n}"
                batch.append(
                    {**batch[0], "event_id": str(uuid.uuid4()), "video_id": tracer, "session_id": tracer}
                )
                body = orjson.dumps(batch)
                pending[tracer] = time.perf_counter()
                await post(http, collector, body, f"Bearer {tokens.issue(f'paced-viewer-{n}')}")
                tick += interval
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            deadline = time.perf_counter() + 30
            while pending and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # the watcher resolves tracers
            watcher.cancel()
            q = statistics.quantiles(latencies, n=100)
            seen = f"{len(latencies)} tracers, {len(pending)} never seen"
            print(f"freshness at {args.rate:,}/s over {args.seconds}s ({seen}): ", end="")
            print(f"p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms")

            # the same load played two hours ago: every event a backfill into its own minute
            late_window = (
                (now - timedelta(hours=3)).isoformat().replace("+00:00", "Z"),
                (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
            )
            batches = bodies(args.events, now=datetime.now(UTC) - timedelta(hours=2), prefix="backlog")
            _, backlog = await sustained(http, collector, api, args, "backlog", batches, late_window)
            print(
                f"backlog catch-up (sessions played 2 h before, all backfilled): {backlog:,.0f}/s through to "
                f"the API = {backlog / median:.2f} of the on-time median ({median:,.0f}/s)"
            )

            history = total + args.rate * args.seconds + args.events
            procs[1], warm = await restart(http, env, procs[1], collector, api, late_window, "snap")
            with sqlite3.connect(home / "views" / "playback.db") as conn:
                conn.execute("DELETE FROM playback_snapshots")
            procs[1], cold = await restart(http, env, procs[1], collector, api, late_window, "cold")
            print(
                f"restart after SIGKILL with {history:,} events in the log: caught up in {warm:.1f} s "
                f"from the last snapshot, {cold:.1f} s replaying from offset 0"
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    state_bound(args.state_rate, args.state_minutes)
    return 0


def main() -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--events", type=int, default=300_000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--state-rate", type=int, default=300, help="events/s of the simulated state run")
    parser.add_argument("--state-minutes", type=int, default=60, help="simulated minutes of it")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
