"""Every Kafka client over SASL_SSL (SCRAM-SHA-512), against a second local broker of this module's own.

The broker's keystore is signed by a CA made here with ``keytool``; its users
are made when its storage is formatted. The session's plaintext broker is not
touched. ``tubestream`` commands and services reach this one only through the
``KAFKA_*`` settings, as an operator would point them at a secured cluster.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy.local_kafka import ListenerSecurity, LocalKafka
from deploy.settings import Settings
from topics.admin import describe_topics, wait_for_broker
from topics.config import KafkaConfig
from topics.errors import BrokerRefusedError, BrokerUnavailableError

from certs import broker_keystore
from harness import REPO, Platform, free_port, http_json

pytestmark = pytest.mark.kafka

APP_USER = "tubestream"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A SASL_SSL broker on free ports, its own home under tmp, the session's jars."""
    home = tmp_path_factory.mktemp("sasl-ssl")
    store = broker_keystore(home / "tls", password=secrets.token_hex(12))
    security = ListenerSecurity(
        keystore=store.keystore,
        keystore_password=store.password,
        ca_file=store.ca_file,
        users={"broker": secrets.token_hex(16), APP_USER: secrets.token_hex(16)},
        broker_user="broker",
    )
    libs = Settings.from_env().kafka_home / "libs"
    broker = LocalKafka(home / "kafka", port=_two_free_ports(), libs=libs, security=security)
    broker.start(timeout_s=120.0)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def kafka_sasl(secured: LocalKafka) -> KafkaConfig:
    """The application's user, in a namespace of this module's."""
    assert secured.security is not None
    config = secured.security.client(secured.bootstrap, user=APP_USER)
    return dataclasses.replace(config, namespace=f"t{uuid.uuid4().hex[:8]}-")


@pytest.fixture(scope="module")
def platform(kafka_sasl: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """Topics applied through SASL_SSL by ``tubestream topics apply``; then the Faust worker and the API."""
    home = tmp_path_factory.mktemp("platform-sasl")
    running = Platform(
        kafka=kafka_sasl, home=home, catalog_url=f"sqlite:///{home / 'catalog.db'}", api_port=free_port()
    )
    applied = running.run("topics", "apply")
    assert f"created  {kafka_sasl.topic('upload-complete')}" in applied, applied
    for name, command in (("worker", "worker"), ("api", "api")):
        running.start(name, command)
    try:
        running.wait_for(lambda: http_json(f"{running.api}/healthz")[0] == 200, what="the API")
        yield running
    finally:
        running.stop()


def test_topics_apply_publish_and_tail_go_through_sasl_ssl(
    platform: Platform, kafka_sasl: KafkaConfig
) -> None:
    assert all(state.exists for state in describe_topics(kafka_sasl))  # made by the fixture's apply
    assert all(line.split()[0] == "unchanged" for line in platform.run("topics", "apply").splitlines())
    video_id = f"vid-{uuid.uuid4().hex[:8]}"

    published = platform.run("publish", "upload-complete", "-", input_text=json.dumps(_upload(video_id)))

    tailed = [json.loads(line) for line in platform.run("tail", "upload-complete").splitlines()]
    assert [r["value"]["event_id"] for r in tailed if r["key"] == video_id] == [published.strip()]


def test_the_faust_worker_builds_the_catalog_over_sasl_ssl(platform: Platform) -> None:
    video_id = f"vid-{uuid.uuid4().hex[:8]}"

    platform.run("publish", "upload-complete", "-", input_text=json.dumps(_upload(video_id)))

    def video() -> dict[str, Any] | None:
        status, body = http_json(f"{platform.api}/v1/videos/{video_id}")
        return body if status == 200 else None

    body = platform.wait_for(video, timeout_s=60.0, what=f"{video_id} in the catalog")
    assert (body["id"], body["title"], body["status"]) == (video_id, f"Video {video_id}", "uploaded")
    worker_log = platform.processes["worker"].log.read_text()
    assert f"Authenticated as {APP_USER} via SCRAM-SHA-512" in worker_log  # aiokafka's own word
    assert platform.kafka.sasl_password and platform.kafka.sasl_password not in worker_log


def test_the_collector_and_the_analytics_worker_work_over_sasl_ssl(platform: Platform) -> None:
    """The playback path: the collector's producer (a 202 is an acknowledgement) and the worker's consumer."""
    collector = platform.start("collector", "collector")
    analytics = platform.start("analytics", "analytics", "run")
    try:
        token = platform.run("player-token", "viewer-sasl").strip()
        video_id = f"vid-{uuid.uuid4().hex[:8]}"
        now = datetime.now(UTC)
        batch = [_playback(video_id, kind, now) for kind in ("start", "heartbeat", "end")]
        url = f"http://127.0.0.1:{platform.collector_port}/v1/playback/events"

        platform.wait_for(lambda: _post(url, batch, token) == 202, timeout_s=30.0, what="the collector's 202")

        since = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        until = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        stats = f"{platform.api}/v1/videos/{video_id}/stats?from={since}&to={until}&step=10m"

        def counted() -> int:
            status, body = http_json(stats)
            return int(body["totals"]["events"]) if status == 200 else 0

        platform.wait_for(lambda: counted() >= 3, timeout_s=60.0, what="the analytics worker's numbers")
        assert counted() == 3
    finally:
        analytics.stop()
        collector.stop()


def test_a_wrong_password_is_refused_at_once_in_one_line(
    platform: Platform, kafka_sasl: KafkaConfig, tmp_path: Path
) -> None:
    wrong = dataclasses.replace(kafka_sasl, sasl_password="not-the-password")
    denied = Platform(kafka=wrong, home=tmp_path, catalog_url="sqlite:///:memory:", api_port=free_port())
    for args in (["topics", "apply"], ["publish", "upload-complete", "-"], ["tail", "upload-complete"]):
        began = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args],
            env=denied.env(),
            cwd=REPO,
            input=json.dumps(_upload("vid-denied")),
            capture_output=True,
            text=True,
            timeout=60,
        )
        took = time.monotonic() - began

        assert result.returncode == 2, result.stdout
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(
            f"tubestream: error: Kafka at {kafka_sasl.bootstrap} refused the connection"
        ), line
        assert "Authentication failed" in line and "SCRAM-SHA-512" in line, line
        assert "not-the-password" not in line
        assert took < 15.0, f"tubestream {' '.join(args)} took {took:.1f}s to give up"


def test_a_client_that_does_not_trust_the_ca_or_speaks_plaintext_is_not_let_in(
    kafka_sasl: KafkaConfig,
) -> None:
    system_cas = dataclasses.replace(kafka_sasl, ssl_cafile=None)
    with pytest.raises(BrokerRefusedError, match="certificate verify failed"):
        wait_for_broker(system_cas, timeout_s=15.0)
    with pytest.raises(BrokerUnavailableError):
        wait_for_broker(KafkaConfig(bootstrap=kafka_sasl.bootstrap), timeout_s=2.0)


def _two_free_ports() -> int:
    """A free port whose next one is free too: the broker's controller listens there."""
    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports")


def _upload(video_id: str) -> dict[str, Any]:
    return {
        "video_id": video_id,
        "uploader_id": "user-sasl",
        "object_key": f"uploads/{video_id}/source.mp4",
        "size_bytes": 1000,
        "content_type": "video/mp4",
        "title": f"Video {video_id}",
        "description": "",
        "tags": [],
    }


def _playback(video_id: str, kind: str, at: datetime) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "session_id": "s-sasl",
        "video_id": video_id,
        "kind": kind,
        "position_ms": 0,
        "occurred_at": int(at.timestamp() * 1000),
    }


def _post(url: str, body: Any, token: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
