"""A single-node Apache Kafka (KRaft) on 127.0.0.1, fetched from Maven Central and run from ``.local/``.

There is no Docker engine on the machines this runs on, so the broker is the
plain JVM process: ``kafka_2.13`` and its runtime dependencies copied by
Maven into one folder, the storage formatted once, then ``kafka.Kafka``.
``start`` is idempotent (a broker already answering on the port is reused),
waits for readiness with a deadline, and reports the log tail if it fails.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from deploy.errors import FetchError, ServerStartError, ToolMissingError
from topics.admin import wait_for_broker
from topics.config import KafkaConfig
from topics.errors import BrokerUnavailableError

__all__ = ["KafkaStatus", "LocalKafka"]

_ASSETS = Path(__file__).parent / "kafka"
HEAP = "-Xmx512m"  # plenty for one node and a test suite


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None  # None when the broker on the port was not started by us
    bootstrap: str
    fetched: bool


class LocalKafka:
    def __init__(self, home: Path, *, port: int = 9092) -> None:
        self.home = home
        self.port = port
        self.controller_port = port + 1
        self.libs = home / "libs"
        self.data = home / "data"
        self.logs = home / "logs"
        self.config_file = home / "server.properties"
        self.pid_file = home / "kafka.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- fetching and formatting -------------------------------------------------

    def fetched(self) -> bool:
        return any(self.libs.glob("kafka_2.13-*.jar"))

    def fetch(self) -> None:
        """Copy the broker's jars from Maven Central into ``libs/`` (once; ~60 MB)."""
        if self.fetched():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolMissingError("mvn (Apache Maven) is needed to fetch Kafka: apt-get install maven")
        self.home.mkdir(parents=True, exist_ok=True)
        staging = self.home / "libs.partial"
        shutil.rmtree(staging, ignore_errors=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(_ASSETS / "pom.xml"),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise FetchError(f"mvn could not fetch Kafka:\n{_tail(result.stdout + result.stderr)}")
        shutil.rmtree(self.libs, ignore_errors=True)
        staging.rename(self.libs)  # all or nothing: a half download is never taken for a broker

    def _write_config(self) -> None:
        template = Template((_ASSETS / "server.properties").read_text())
        self.config_file.write_text(
            template.substitute(port=self.port, controller_port=self.controller_port, data_dir=self.data)
        )

    def _format_storage(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        result = subprocess.run(
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config_file),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = _tail(result.stdout + result.stderr)
            raise ServerStartError(f"formatting Kafka storage failed:\n{output}")

    def _java(self) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java:
            raise ToolMissingError("java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless")
        return [
            java,
            HEAP,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{_ASSETS / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            str(self.libs / "*"),
        ]

    # -- running -----------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Fetch, configure and format; return the command that runs the broker in the foreground."""
        self.fetch()
        self.data.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._format_storage()
        return [*self._java(), "kafka.Kafka", str(self.config_file)]

    def answering(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def start(self, *, timeout_s: float = 90.0) -> bool:
        """Start a detached broker unless one answers already; return True if this call started it."""
        if self.answering():
            self.wait_ready(timeout_s=timeout_s)
            return False
        command = self.prepare()
        with (self.logs / "console.log").open("ab") as console:
            proc = subprocess.Popen(
                command,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the shell that started it; `kafka stop` ends it
            )
        self.pid_file.write_text(str(proc.pid))
        self._process = proc  # kept so stop() can reap it; `kafka start` leaves it running on exit
        self.wait_ready(timeout_s=timeout_s, process=proc)
        return True

    def wait_ready(self, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until the broker answers a metadata request; fail fast if its process died."""
        deadline = time.monotonic() + timeout_s
        while True:
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"Kafka exited with code {process.returncode} while starting; "
                    f"log tail ({self.logs / 'server.log'}):\n{self.log_tail()}"
                )
            if self.answering():
                try:
                    wait_for_broker(KafkaConfig(bootstrap=self.bootstrap), timeout_s=5.0)
                    return
                except BrokerUnavailableError:
                    pass
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"Kafka did not answer on {self.bootstrap} within {timeout_s:.0f}s; "
                    f"log tail:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Stop the broker this folder started (SIGTERM, then SIGKILL); True if one was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.2)
        self.pid_file.unlink(missing_ok=True)
        if self._process is not None:
            self._process.wait()
            self._process = None
        return True

    def status(self) -> KafkaStatus:
        return KafkaStatus(
            running=self.answering(), pid=self.pid(), bootstrap=self.bootstrap, fetched=self.fetched()
        )

    def log_tail(self, lines: int = 30) -> str:
        for name in ("server.log", "console.log"):
            path = self.logs / name
            if path.exists():
                return _tail(path.read_text(errors="replace"), lines)
        return "(no log written)"


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False  # our own child, exited and now reaped
    except ChildProcessError:
        pass  # not our child: started by another `tubestream kafka start`
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
