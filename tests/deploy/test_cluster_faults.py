"""The cluster when Cassandra is not there: at start, and gone for a while in the middle of a stream.

At start, ``tubestream up --distributed`` stops before any process starts,
in one line naming the contact points it tried. Later, behind a TCP relay
the test cuts and restores, the API's ``/healthz`` answers 503 while the
node is unreachable and 200 again after; the analytics worker stops without
committing what it could not write, and the worker started after it (as the
supervisor or an orchestrator restarts it) makes the numbers exact again:
the analytics SIGKILL test's stream and reference, from its own file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from deploy.local_cassandra import LocalCassandra
from deploy.local_elasticsearch import LocalElasticsearch
from deploy.local_minio import LocalMinio
from stream_apps.playback.aggregates import PlaybackStats, aggregate_playback
from topics.config import KafkaConfig
from views.stores import migrate_store

from harness import REPO, Platform, free_port, http_json

pytestmark = [pytest.mark.kafka, pytest.mark.cassandra]


def _analytics_truth() -> ModuleType:
    path = REPO / "tests" / "stream_apps" / "playback" / "test_worker.py"
    spec = importlib.util.spec_from_file_location("playback_truth_faults", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_up_distributed_without_cassandra_stops_at_once_naming_the_contact_points(
    kafka: KafkaConfig, elasticsearch: LocalElasticsearch, minio: LocalMinio, tmp_path: Path
) -> None:
    first, second = free_port(), free_port()
    nowhere = f"cassandra://127.0.0.1:{first},127.0.0.2:{second}/tubestream?connect_timeout=2"
    platform = Platform(
        kafka=kafka,
        home=tmp_path,
        catalog_url=nowhere,
        api_port=free_port(),
        extra_env={
            "TUBESTREAM_PLAYBACK_URL": nowhere,
            "TUBESTREAM_SEARCH_URL": f"{elasticsearch.url}?index=t{uuid.uuid4().hex[:10]}",
            "TUBESTREAM_BLOB_URL": f"s3://t{uuid.uuid4().hex[:12]}?endpoint={minio.endpoint}",
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", "up", "--distributed"],
        env=platform.env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        f"tubestream: error: cannot open the catalog store: no Cassandra node answered at "
        f"127.0.0.1:{first},127.0.0.2:{second} (keyspace tubestream)"
    ), result.stderr
    assert "started worker-1" not in result.stdout  # nothing ran against a store that is not there


class _Relay:
    """A TCP relay in front of the node that can be cut (listener and connections) and restored."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._server: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        server = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the same port again
        with self._lock:
            self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            doomed = [s for s in (self._server, *self._sockets) if s is not None]
            self._server, self._sockets = None, []
        for s in doomed:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._server is not server:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relay(cassandra: LocalCassandra) -> Iterator[_Relay]:
    proxy = _Relay(cassandra.native_port)
    yield proxy
    proxy.cut()


def test_cassandra_gone_mid_stream_is_a_503_and_no_event_is_lost(
    kafka: KafkaConfig, cassandra: LocalCassandra, relay: _Relay, tmp_path: Path
) -> None:
    keyspace = f"t{uuid.uuid4().hex[:12]}"
    migrate_store(cassandra.url(keyspace), view="catalog")
    migrate_store(cassandra.url(keyspace), view="playback")
    url = f"cassandra://127.0.0.1:{relay.port}/{keyspace}?connect_timeout=2&request_timeout=3"
    platform = Platform(
        kafka=kafka,
        home=tmp_path,
        catalog_url=url,
        api_port=free_port(),
        extra_env={"TUBESTREAM_PLAYBACK_URL": url},
    )
    truth = _analytics_truth()
    # its stream shuffles events over 40 minutes, past the idle time after which sessions are retired:
    # every event is kept, as the analytics worker's own test does
    keep_all = ("--batch-size", "20", "--retire-after", "0")
    distinct, published = truth._stream(seed=23)
    half = len(published) // 2
    healthz = f"{platform.api}/healthz"
    try:
        platform.start("api", "api")
        worker = platform.start("analytics", "analytics", "run", *keep_all)
        platform.wait_for(lambda: http_json(healthz)[0] == 200, timeout_s=60, what="the API")
        truth._publish(kafka, published[:half])
        platform.wait_for(
            lambda: any((truth._totals(platform, f"vid-{v}") or {}).get("events") for v in "ABCDE"),
            timeout_s=60,
            what="the worker's first writes",
        )

        relay.cut()
        platform.wait_for(lambda: http_json(healthz)[0] == 503, timeout_s=30, what="a 503 on /healthz")
        status, body = http_json(healthz)
        assert status == 503, body
        assert str(relay.port) in body["error"]["message"], body  # it says which store it cannot reach
        truth._publish(kafka, published[half:])  # Kafka keeps taking events meanwhile
        assert platform.wait_for(
            lambda: worker.popen.poll() is not None, timeout_s=60, what="the worker to stop"
        )
        assert worker.popen.returncode == 2
        assert f"127.0.0.1:{relay.port}" in worker.log_tail(5).splitlines()[-1]  # one line, naming the store

        relay.restore()
        platform.wait_for(lambda: http_json(healthz)[0] == 200, timeout_s=60, what="/healthz to recover")
        platform.start("analytics-2", "analytics", "run", *keep_all)  # as the supervisor restarts it
        buckets = aggregate_playback(distinct)
        for video in sorted({e.video_id for e in distinct}):
            want = truth._expected(
                PlaybackStats.merge_all(s for k, s in buckets.items() if k.video_id == video)
            )
            platform.wait_for(
                lambda v=video, w=want: truth._totals(platform, v) == w,  # type: ignore[misc]
                timeout_s=90,
                what=f"exact totals of {video} after the outage: {want}",
            )
    finally:
        platform.stop()
