"""Shared fixtures: a real Kafka broker, a namespace of topics per module, the platform's processes.

The broker is the project's own local Kafka (started here if none answers,
stopped at the end if this run started it) or the one ``KAFKA_BOOTSTRAP``
names. Every test module gets its own topic namespace, so modules never see
each other's events and can replay their topics from offset 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from harness import free_port, http_json, wait_for

from deploy.local_kafka import LocalKafka
from deploy.settings import Settings
from topics.admin import apply_topics, wait_for_broker
from topics.config import KafkaConfig

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    settings = Settings.from_env()
    if not settings.local_kafka:
        wait_for_broker(settings.kafka, timeout_s=60.0)
        yield settings.kafka.bootstrap
        return
    broker = LocalKafka(settings.kafka_home, port=settings.kafka_port)
    started = broker.start(timeout_s=120.0)
    try:
        yield broker.bootstrap
    finally:
        if started:
            broker.stop()


@pytest.fixture(scope="module")
def kafka(kafka_bootstrap: str) -> KafkaConfig:
    """A fresh namespace with every catalogue topic created in it."""
    config = KafkaConfig(bootstrap=kafka_bootstrap, namespace=f"t{uuid.uuid4().hex[:8]}-")
    apply_topics(config)
    return config


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
            "TUBESTREAM_API_PORT": str(self.api_port),
            "PYTHONUNBUFFERED": "1",
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


@pytest.fixture(scope="module")
def platform(kafka: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The worker and API running against this module's namespace, ready to serve."""
    home = tmp_path_factory.mktemp("platform")
    running = Platform(
        kafka=kafka,
        home=home,
        catalog_url=f"sqlite:///{home / 'catalog.db'}",
        api_port=free_port(),
    )
    running.start("worker", "worker")
    running.start("api", "api")
    try:
        running.wait_for(
            lambda: http_json(f"{running.api}/healthz")[0] == 200, timeout_s=30.0, what="the API's /healthz"
        )
        yield running
    finally:
        running.stop()
