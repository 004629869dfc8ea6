"""Helpers the tests share: polling with a deadline, free ports, a small JSON HTTP client, a keyspace."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from blobs.s3 import S3BlobStore
from deploy.local_cassandra import LocalCassandra
from deploy.local_minio import LocalMinio
from topics.config import KafkaConfig
from views.stores import open_for_this_loop

__all__ = [
    "REPO",
    "CassandraKeyspace",
    "ConnectionSpy",
    "Platform",
    "Process",
    "free_port",
    "free_port_pair",
    "http_json",
    "kafka_env",
    "wait_for",
]

REPO = Path(__file__).resolve().parents[2]

T = TypeVar("T")
S = TypeVar("S")


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout_s: float = 30.0,
    what: str = "condition",
    interval_s: float = 0.1,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after the deadline."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
        except Exception as exc:  # a probe may fail while a server is starting
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval_s)
    suffix = f" (last error: {last_error!r})" if last_error else ""
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}{suffix}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair() -> int:
    """A free port whose successor is free too (a local broker listens on both)."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


class ConnectionSpy:
    """A listener on 127.0.0.1 that counts who connects: proof that nothing did.

    It hangs up at once, or with ``silent`` keeps the connection open and
    never answers (a server that stalls mid-read).
    """

    def __init__(self, *, silent: bool = False) -> None:
        self._silent = silent
        self._held: list[socket.socket] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/x.ts") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            if self._silent:
                self._held.append(conn)
            else:
                conn.close()

    def __enter__(self) -> ConnectionSpy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._sock.close()


def http_json(url: str, *, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        payload = exc.read()
        exc.close()
        return exc.code, json.loads(payload or b"null")


def kafka_env(kafka: KafkaConfig) -> dict[str, str]:
    """The ``KAFKA_*`` security settings that make ``tubestream`` reach the cluster as ``kafka`` does."""
    if kafka.security_protocol == "PLAINTEXT":
        return {}
    named = {
        "KAFKA_SECURITY_PROTOCOL": kafka.security_protocol,
        "KAFKA_SSL_CA_FILE": kafka.ssl_cafile,
        "KAFKA_SSL_CERT_FILE": kafka.ssl_certfile,
        "KAFKA_SSL_KEY_FILE": kafka.ssl_keyfile,
        "KAFKA_SASL_MECHANISM": kafka.sasl_mechanism,
        "KAFKA_SASL_USERNAME": kafka.sasl_username,
        "KAFKA_SASL_PASSWORD": kafka.sasl_password,
    }
    return {name: str(value) for name, value in named.items() if value is not None}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, timeout_s: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return int(self.popen.returncode)


@dataclass
class Platform:
    """The worker and the query API of one module, run as ``tubestream`` subprocesses."""

    kafka: KafkaConfig
    home: Path
    catalog_url: str
    api_port: int
    collector_port: int = field(default_factory=lambda: free_port())
    upload_port: int = field(default_factory=lambda: free_port())
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings (TLS, say) for every process
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "TUBESTREAM_NAMESPACE": self.kafka.namespace,
            "TUBESTREAM_HOME": str(self.home),
            "TUBESTREAM_CATALOG_URL": self.catalog_url,
            "TUBESTREAM_PLAYBACK_URL": f"sqlite:///{self.home / 'playback.db'}",
            "TUBESTREAM_BLOB_DIR": str(self.home / "blobs"),
            "TUBESTREAM_API_PORT": str(self.api_port),
            "TUBESTREAM_COLLECTOR_PORT": str(self.collector_port),
            "TUBESTREAM_UPLOAD_PORT": str(self.upload_port),
            "PYTHONUNBUFFERED": "1",
            **kafka_env(self.kafka),
            **self.extra_env,
        }

    def run(self, *args: str, input_text: str | None = None, timeout_s: float = 60.0) -> str:
        """Run a one-shot ``tubestream`` command; fail the test with its stderr if it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args],
            env=self.env(),
            cwd=REPO,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        assert result.returncode == 0, f"tubestream {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def start(self, name: str, *args: str) -> Process:
        log = self.home / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "deploy.cli", *args],
                env=self.env(),
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} log tail ---\n{p.log_tail()}" for p in self.processes.values())

    def wait_for(self, probe: Callable[[], T | None], *, timeout_s: float = 30.0, what: str = "it") -> T:
        try:
            return wait_for(probe, timeout_s=timeout_s, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            process.stop()


def fresh_bucket(minio: LocalMinio) -> S3BlobStore:
    """A new, private bucket of its own on the suite's MinIO."""
    store = S3BlobStore(
        bucket=f"t{uuid.uuid4().hex[:12]}",
        endpoint=minio.endpoint,
        access_key=minio.credentials.access_key,
        secret_key=minio.credentials.secret_key,
    )
    store.ensure_bucket()
    return store


def backend_params() -> list[Any]:
    """The contract suites' parameters: SQLite; Cassandra through the driver's reactor thread, as the
    writers open it; and Cassandra with its I/O on the test's own loop, as the query API opens it."""
    return [
        "sqlite",
        pytest.param("cassandra", marks=pytest.mark.cassandra),
        pytest.param("cassandra-loop", marks=pytest.mark.cassandra),
    ]


def store_opener(open_store: Callable[..., S], url: str, backend: str) -> Callable[[], Awaitable[S]]:
    """Opens a store at ``url`` as ``backend`` says: for the running loop when it is cassandra-loop."""

    async def opened() -> S:
        if backend == "cassandra-loop":
            return await open_for_this_loop(open_store, url)
        return open_store(url)

    return opened


@dataclass
class CassandraKeyspace:
    """A keyspace with both views' schemas; ``reset`` empties their tables for the next test."""

    node: LocalCassandra
    name: str
    _cluster: Any = None
    _session: Any = None

    @property
    def url(self) -> str:
        return self.node.url(self.name)

    def reset(self, prefix: str = "") -> None:
        """TRUNCATE the tables named ``prefix...`` (not the schema version), all at once."""
        session = self._connect()
        tables = [
            row[0]
            for row in session.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (self.name,)
            )
            if row[0] != "schema_versions" and row[0].startswith(prefix)
        ]
        for future in [session.execute_async(f"TRUNCATE {self.name}.{t}", timeout=60) for t in tables]:
            future.result()

    def execute(self, cql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """A statement outside the stores, to set up what a test needs (an old schema version...)."""
        return list(self._connect().execute(cql, params))

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
            self._cluster = self._session = None

    def _connect(self) -> Any:
        if self._session is None:
            from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
            from cassandra.policies import DCAwareRoundRobinPolicy

            profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(), request_timeout=60)
            self._cluster = Cluster(
                ["127.0.0.1"],
                port=self.node.native_port,
                protocol_version=5,
                execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            )
            self._session = self._cluster.connect()
        return self._session
