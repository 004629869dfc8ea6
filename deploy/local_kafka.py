"""A single-node Apache Kafka (KRaft) on 127.0.0.1, fetched from Maven Central and run from ``.local/``.

There is no Docker engine on the machines this runs on, so the broker is the
plain JVM process: ``kafka_2.13`` and its runtime dependencies copied by
Maven into one folder, the storage formatted once, then ``kafka.Kafka``.
``start`` is idempotent (a broker already answering on the port is reused),
waits for readiness with a deadline, and reports the log tail if it fails.

The embedded broker listens in plaintext on 127.0.0.1. A ``ListenerSecurity``
turns that listener into SASL_SSL (SCRAM-SHA-512 users made when the storage
is formatted), for a second broker of its own home and ports: how the tests
prove every client's security settings against a real broker.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from deploy.errors import FetchError, ServerStartError, ToolMissingError
from topics.admin import wait_for_broker
from topics.config import KafkaConfig
from topics.errors import BrokerRefusedError, BrokerUnavailableError

__all__ = ["KafkaStatus", "ListenerSecurity", "LocalKafka"]

_ASSETS = Path(__file__).parent / "kafka"
HEAP = "-Xmx512m"  # plenty for one node and a test suite


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None  # None when the broker on the port was not started by us
    bootstrap: str
    fetched: bool


@dataclass(frozen=True, kw_only=True)
class ListenerSecurity:
    """The broker's listener as SASL_SSL with SCRAM-SHA-512 instead of PLAINTEXT.

    The controller's listener (the next port) stays plaintext on 127.0.0.1: it is
    the node talking to itself. There is no authorizer: any user that logs in may
    do anything, which is what a test of the clients' settings needs.
    """

    keystore: Path  # PKCS12: the broker's key and its certificate chain
    keystore_password: str = field(repr=False)
    ca_file: Path  # PEM: the CA that signed it; the broker's truststore, and what clients trust
    users: Mapping[str, str] = field(repr=False)  # name → password, made when the storage is formatted
    broker_user: str  # one of ``users``: the broker logs in to its own listener as it

    def __post_init__(self) -> None:
        if self.broker_user not in self.users:
            raise ValueError(f"the broker's user {self.broker_user!r} is not among the SCRAM users")
        # they go into a JAAS line and into StorageTool's [name=...,password=...] as they are
        for text in (*self.users, *self.users.values(), self.keystore_password):
            if not _PLAIN_WORD.fullmatch(text):
                raise ValueError("SCRAM users, passwords and the keystore password must be [A-Za-z0-9._-]+")

    def properties(self, port: int) -> dict[str, str]:
        """What replaces (or adds to) the plaintext broker's server.properties."""
        password = self.users[self.broker_user]
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{port + 1}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_SSL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{self.broker_user}" password="{password}";'
            ),
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.keystore),
            "ssl.keystore.password": self.keystore_password,
            "ssl.key.password": self.keystore_password,
            # the broker checks at startup that a client trusting this can reach it
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
        }

    def client(self, bootstrap: str, *, user: str | None = None, password: str | None = None) -> KafkaConfig:
        """How a client reaches the broker: as ``user`` (the broker's own by default)."""
        name = user or self.broker_user
        return KafkaConfig(
            bootstrap=bootstrap,
            security_protocol="SASL_SSL",
            ssl_cafile=self.ca_file,
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=name,
            sasl_password=password if password is not None else self.users[name],
        )


_PLAIN_WORD = re.compile(r"[A-Za-z0-9._-]+")


class LocalKafka:
    def __init__(
        self,
        home: Path,
        *,
        port: int = 9092,
        libs: Path | None = None,
        security: ListenerSecurity | None = None,
    ) -> None:
        """``libs``: the jars of another home (a second broker need not fetch them again)."""
        self.home = home
        self.port = port
        self.controller_port = port + 1
        self.security = security
        self.libs = libs or home / "libs"
        self.data = home / "data"
        self.logs = home / "logs"
        self.config_file = home / "server.properties"
        self.pid_file = home / "kafka.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def client(self) -> KafkaConfig:
        """How this process reaches the broker (as the broker's own user when it is secured)."""
        if self.security is None:
            return KafkaConfig(bootstrap=self.bootstrap)
        return self.security.client(self.bootstrap)

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
        text = template.substitute(port=self.port, controller_port=self.controller_port, data_dir=self.data)
        if self.security is not None:
            text = _override(text, self.security.properties(self.port))
        self.config_file.write_text(text)

    def _format_storage(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        result = subprocess.run(
            [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",  # as "-t ID", an id starting with "-" read as an option
                "-c",
                str(self.config_file),
                "--ignore-formatted",
                *self._scram_users(),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = _tail(result.stdout + result.stderr)
            raise ServerStartError(f"formatting Kafka storage failed:\n{output}")

    def _scram_users(self) -> list[str]:
        """KRaft keeps SCRAM credentials in the metadata log: they are written when it is formatted."""
        if self.security is None:
            return []
        return [
            arg
            for name, password in self.security.users.items()
            for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")
        ]

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
        refused = ""
        while True:
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"Kafka exited with code {process.returncode} while starting; "
                    f"log tail ({self.logs / 'server.log'}):\n{self.log_tail()}"
                )
            if self.answering():
                try:
                    wait_for_broker(self.client, timeout_s=5.0)
                    return
                except BrokerUnavailableError:
                    pass
                except BrokerRefusedError as exc:  # not final while it starts; said at the deadline
                    refused = f" ({exc})"
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"Kafka did not answer on {self.bootstrap} within {timeout_s:.0f}s{refused}; "
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


def _override(properties: str, values: Mapping[str, str]) -> str:
    """``properties`` with each key of ``values`` set in place (comments kept), new keys at the end."""
    lines, pending = [], dict(values)
    for line in properties.splitlines():
        key = line.split("=", 1)[0].strip()
        if not line.lstrip().startswith("#") and key in pending:
            line = f"{key}={pending.pop(key)}"
        lines.append(line)
    if pending:
        lines += ["", "# security of the listener (deploy/local_kafka.py ListenerSecurity)"]
        lines += [f"{key}={value}" for key, value in pending.items()]
    return "\n".join(lines) + "\n"


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
