"""``tubestream up --distributed`` on one machine: two of every process, one of each SIGKILLed mid-stream.

The cluster runs as a user runs it, the command itself as a subprocess, here
pointed by the settings at the suite's own servers (Kafka in this module's
namespace, a Cassandra keyspace, an Elasticsearch index, a MinIO bucket), so
it starts none of its own. While a playback stream and an upload are in
flight, one replica of each kind is killed without warning (the upload
begun through the first upload service is resumed through the second); the survivors
must take over the partitions and the numbers must come out exact: the
analytics SIGKILL test's stream and references (its batch aggregation and
its count by hand) against what the surviving API serves from Cassandra, and
a batch a player sent again to the other collector counted once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from deploy.local_elasticsearch import LocalElasticsearch
from deploy.local_minio import LocalMinio
from deploy.up import REPLICA_PORT_STEP
from producers.uploads.client import UploadError, upload_file
from stream_apps.playback.aggregates import PlaybackStats, aggregate_playback
from stream_apps.playback.worker import PLAYBACK_GROUP
from topics.catalogue import PLAYBACK_EVENT_TOPIC
from topics.config import KafkaConfig
from topics.producer import EventProducer

from harness import REPO, CassandraKeyspace, Platform, free_port, http_json, wait_for
from upload_service import tiny_video

pytestmark = [pytest.mark.kafka, pytest.mark.cassandra]

KINDS = ("worker", "analytics", "transcoder", "api", "collector", "uploads")


def _analytics_truth() -> ModuleType:
    """The analytics SIGKILL test's stream generator and references, from its own file (one truth)."""
    path = REPO / "tests" / "stream_apps" / "playback" / "test_worker.py"
    spec = importlib.util.spec_from_file_location("playback_truth", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _two_ports() -> int:
    """A free port whose second replica's port is free too."""
    while True:
        port = free_port()
        try:
            with socket.create_server(("127.0.0.1", port + REPLICA_PORT_STEP)):
                return port
        except OSError:
            continue


class Cluster:
    """The running ``tubestream up --distributed``: its log, its components' pids, its URLs."""

    def __init__(self, platform: Platform, log: Path, popen: subprocess.Popen[bytes]) -> None:
        self.platform = platform
        self.log = log
        self.popen = popen

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self, name: str) -> list[int]:
        """Every pid the component has had, the one running now last (it is restarted after a crash)."""
        return [int(p) for p in re.findall(rf"started {re.escape(name)} \(pid (\d+)\)", self.text())]

    def pid(self, name: str) -> int:
        pids = self.pids(name)
        assert pids, f"no pid for {name}:\n{self.text()[-3000:]}"
        return pids[-1]

    def url(self, service: str, replica: int) -> str:
        port = {
            "api": self.platform.api_port,
            "collector": self.platform.collector_port,
            "uploads": self.platform.upload_port,
        }[service]
        return f"http://127.0.0.1:{port + REPLICA_PORT_STEP * (replica - 1)}"

    def said(self, name: str) -> list[str]:
        """The lines one component wrote, without their prefix."""
        return [
            line.split(" | ", 1)[1]
            for line in self.text().splitlines()
            if line.strip().startswith(f"{name} |")
        ]

    def kill(self, name: str) -> None:
        """SIGKILL the component and its children, as a machine lost would."""
        os.killpg(self.pid(name), signal.SIGKILL)

    def wait_for(self, probe: Any, *, timeout_s: float, what: str) -> Any:
        try:
            return wait_for(probe, timeout_s=timeout_s, what=what, interval_s=0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- cluster log tail ---\n{self.text()[-6000:]}") from None


@pytest.fixture
def cluster(
    kafka: KafkaConfig,
    cassandra_keyspace: CassandraKeyspace,
    elasticsearch: LocalElasticsearch,
    minio: LocalMinio,
    tmp_path: Path,
) -> Any:
    platform = Platform(
        kafka=kafka,
        home=tmp_path,
        catalog_url=cassandra_keyspace.url,
        api_port=_two_ports(),
        collector_port=_two_ports(),
        upload_port=_two_ports(),
        extra_env={
            "TUBESTREAM_PLAYBACK_URL": cassandra_keyspace.url,
            "TUBESTREAM_SEARCH_URL": f"{elasticsearch.url}?index=t{uuid.uuid4().hex[:10]}",
            "TUBESTREAM_BLOB_URL": f"s3://t{uuid.uuid4().hex[:12]}?endpoint={minio.endpoint}",
            "TUBESTREAM_S3_ACCESS_KEY": minio.credentials.access_key,
            "TUBESTREAM_S3_SECRET_KEY": minio.credentials.secret_key,
            # the analytics test's stream shuffles events over 40 minutes, past the 15 minutes after which
            # idle sessions are retired: keep every event, as that test does
            "TUBESTREAM_SESSION_RETIRE_MINUTES": "0",
        },
    )
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "up", "--distributed"],
            env=platform.env(),
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # Ctrl-C, as in a terminal
        )
    running = Cluster(platform, log, popen)
    try:
        yield running
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGINT)
            try:
                popen.wait(timeout=90)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def _post(url: str, body: Any, token: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def _player_batch(video: str, count: int) -> list[dict[str, Any]]:
    """One session's events as a player posts them, stamped now (so none is late)."""
    now = datetime.now(UTC)
    session = str(uuid.uuid4())
    return [
        {
            "event_id": str(uuid.uuid4()),
            "session_id": session,
            "video_id": video,
            "kind": "start" if i == 0 else "heartbeat",
            "position_ms": 5000 * i,
            "occurred_at": (now - timedelta(seconds=5 * (count - i))).isoformat().replace("+00:00", "Z"),
        }
        for i in range(count)
    ]


def _ffmpeg_children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and comm == "ffmpeg":
            children.append(int(stat.parent.name))
    return children


def _restored(lines: list[str]) -> set[int]:
    """The playback partitions a worker's log says it took (and rebuilt) over its life."""
    return {int(m.group(1)) for line in lines if (m := re.search(r"partition (\d+) restored from", line))}


def test_a_cluster_with_one_of_each_process_killed_loses_and_doubles_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    truth = _analytics_truth()
    distinct, published = truth._stream(seed=11)
    half = len(published) // 2

    for service in ("api", "collector", "uploads"):
        for replica in (1, 2):
            url = f"{cluster.url(service, replica)}/healthz"
            cluster.wait_for(lambda u=url: http_json(u)[0] == 200, timeout_s=180, what=f"{url} to answer 200")
    assert "query API on " + ", ".join(cluster.url("api", r) for r in (1, 2)) in cluster.text()
    cluster.wait_for(  # both analytics workers hold partitions: the group has two members
        lambda: all(_restored(cluster.said(f"analytics-{r}")) for r in (1, 2)),
        timeout_s=120,
        what="both analytics workers to be assigned partitions",
    )

    # the first half of the playback stream, and a player's batch through the first collector
    with EventProducer(cluster.platform.kafka, client_id="test-cluster") as producer:
        for event in published[:half]:
            producer.publish(event)
    token = cluster.platform.run("player-token", "viewer-cluster").strip()
    batch = _player_batch("vid-Z", 6)
    assert _post(f"{cluster.url('collector', 1)}/v1/playback/events", batch, token) == 202
    api_1, api_2 = cluster.url("api", 1), cluster.url("api", 2)
    cluster.wait_for(
        lambda: any(
            (truth._totals(_at(cluster.platform, 1), f"vid-{v}") or {}).get("events") for v in "ABCDE"
        ),
        timeout_s=90,
        what="the analytics workers' first writes",
    )

    # an upload begun through the first upload service: its first part sent, then the service is lost
    source = tiny_video(tmp_path / "source.mp4", size="854x480", duration_s=20, padding_mib=10)
    title = f"Cluster kestrel {uuid.uuid4().hex[:6]}"
    upload_token = cluster.platform.run("upload-token", "uploader-cluster").strip()
    with pytest.raises(UploadError, match="interrupted after 1 part"):
        asyncio.run(
            upload_file(
                source,
                service_url=cluster.url("uploads", 1),
                token=upload_token,
                title=title,
                state_dir=cluster.platform.home / "uploads",  # where `tubestream upload` keeps its state
                stop_after_parts=1,
            )
        )

    # one of each kind gone at once, mid-stream
    held_by_first = _restored(cluster.said("analytics-1"))
    for name in ("analytics-1", "worker-1", "api-1", "collector-1", "uploads-1"):
        cluster.kill(name)
    with EventProducer(cluster.platform.kafka, client_id="test-cluster") as producer:
        for event in published[half:]:
            producer.publish(event)
    # the player never heard back from the first collector (say): the same batch again, to the second
    assert _post(f"{cluster.url('collector', 2)}/v1/playback/events", batch, token) == 202
    assert http_json(f"{api_2}/healthz")[0] == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{api_1}/healthz", timeout=5)

    # the upload resumed through the surviving upload service; the transcoder encoding it is killed
    cluster.platform.extra_env.update(
        {"TUBESTREAM_UPLOAD_URL": cluster.url("uploads", 2), "TUBESTREAM_UPLOAD_TOKEN": upload_token}
    )
    resumed = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "upload", str(source), "--title", title],
        env=cluster.platform.env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed an interrupted upload" in resumed.stderr  # the second service took the first's upload
    video_id = resumed.stdout.strip()
    encoding = cluster.wait_for(
        lambda: next((n for n in ("transcoder-1", "transcoder-2") if _ffmpeg_children(cluster.pid(n))), None),
        timeout_s=120,
        what="a transcoder to be encoding the upload",
    )
    cluster.kill(encoding)

    # exact numbers from the survivors, read through the surviving API from Cassandra
    buckets = aggregate_playback(distinct)
    for video in sorted({e.video_id for e in distinct}):
        want = truth._expected(PlaybackStats.merge_all(s for k, s in buckets.items() if k.video_id == video))
        cluster.wait_for(
            lambda v=video, w=want: truth._totals(_at(cluster.platform, 2), v) == w,
            timeout_s=120,
            what=f"exact totals of {video}: {want}",
        )
    for video, hand in truth._by_hand(distinct).items():
        got = truth._totals(_at(cluster.platform, 2), video)
        assert (got["views"], got["unique_viewers"], got["watch_ms"]) == (
            hand["views"],
            hand["unique_viewers"],
            hand["watch_ms"],
        ), video
        assert (got["events"], got["late_events"]) == (hand["events"], hand["late"]), video
    cluster.wait_for(
        lambda: _caught_up(cluster.platform.kafka),
        timeout_s=60,
        what="the analytics group to commit every event",
    )
    assert _player_events(api_2, "vid-Z") == len(batch)  # posted twice, counted once

    # the survivor took the killed worker's partitions and rebuilt them from the log
    survivor = cluster.wait_for(
        lambda: held_by_first <= (took := _restored(cluster.said("analytics-2"))) and took,
        timeout_s=60,
        what=f"analytics-2 to take partitions {sorted(held_by_first)} over",
    )
    assert survivor == set(range(6))

    # the upload: ready once, each rendition once, found in Elasticsearch, its media on MinIO
    survivor_transcoder = "transcoder-2" if encoding == "transcoder-1" else "transcoder-1"
    ready = cluster.wait_for(
        lambda: (v := http_json(f"{api_2}/v1/videos/{video_id}")[1]) and v.get("status") == "ready" and v,
        timeout_s=240,
        what=f"{video_id} to be transcoded by {survivor_transcoder}",
    )
    names = [r["name"] for r in ready["renditions"]]
    assert names and len(names) == len(set(names)), names
    assert any(f"{len(names)} rendition(s) ready" in line for line in cluster.said(survivor_transcoder))
    found = cluster.wait_for(
        lambda: http_json(f"{api_2}/v1/search?q={urllib.parse.quote(title)}")[1].get("videos"),
        timeout_s=60,
        what=f"{title!r} in the search index",
    )
    assert [v["id"] for v in found] == [video_id]
    with urllib.request.urlopen(f"{api_2}{ready['hls_url']}", timeout=10) as manifest:
        assert manifest.read().startswith(b"#EXTM3U")

    # the batch path agrees with the live view in Cassandra
    span = ["--from", truth.START.isoformat(), "--to", truth.NOW.isoformat()]
    assert "0 differ from the live view" in cluster.platform.run("analytics", "batch", *span)

    # a replica lost is reported, not fatal; Ctrl-C stops the rest and every process is gone
    text = cluster.text()
    for name in ("analytics-1", "worker-1", "api-1", "collector-1", "uploads-1", encoding):
        assert re.search(rf"{name} exited with code -9; .* carr(y|ies) on; restarting it in \d+s", text), name
    cluster.wait_for(  # and the lost one comes back, as an orchestrator would bring it
        lambda: "restarted analytics-1 (pid " in cluster.text(), timeout_s=120, what="analytics-1 restarted"
    )
    pids = [pid for kind in KINDS for r in (1, 2) for pid in cluster.pids(f"{kind}-{r}")]
    cluster.popen.send_signal(signal.SIGINT)
    assert cluster.popen.wait(timeout=90) == 0, cluster.text()[-3000:]
    assert "all stopped" in cluster.text()
    assert not [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _at(platform: Platform, replica: int) -> Platform:
    """The platform as seen through one replica of the API (``_totals`` reads ``platform.api``)."""
    port = platform.api_port + REPLICA_PORT_STEP * (replica - 1)
    return Platform(kafka=platform.kafka, home=platform.home, catalog_url=platform.catalog_url, api_port=port)


def _player_events(api: str, video: str) -> int | None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = (
        t.isoformat().replace("+00:00", "Z")
        for t in (minute - timedelta(minutes=30), minute + timedelta(minutes=10))
    )
    status, body = http_json(f"{api}/v1/videos/{video}/stats?from={start}&to={end}&step=10m")
    return int(body["totals"]["events"]) if status == 200 else None


def _caught_up(kafka: KafkaConfig) -> bool:
    """Every playback event is behind the analytics group's committed offsets (so in the view)."""
    topic = kafka.topic(PLAYBACK_EVENT_TOPIC.name)
    consumer = Consumer(kafka.client_config(**{"group.id": kafka.group(PLAYBACK_GROUP)}))
    try:
        partitions = [TopicPartition(topic, p) for p in range(PLAYBACK_EVENT_TOPIC.partitions)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in committed}
        return all(committed[p] >= ends[p] for p in committed if ends[p] > 0)
    finally:
        consumer.close()
