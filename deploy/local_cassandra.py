"""A single-node Apache Cassandra 5.0 on 127.0.0.1, fetched from Maven Central and run from ``.local/``.

Debian packages no Cassandra and there is no Docker engine on the machines
this runs on, so the node is the plain JVM process: ``cassandra-all`` and its
runtime dependencies copied by Maven into ``lib/``, a minimal
``cassandra.yaml``, then ``CassandraDaemon`` with the Java 17 flags of
Cassandra's own ``jvm17-server.options``. ``start`` is idempotent (a node
already answering CQL on the port is reused), waits with a deadline until the
native port accepts a CQL session, and reports the log tail if it fails.

The jars live in ``home``; the node's files (config, data, logs, pid) live in
``run_dir`` (``home`` by default), so tests can run a throwaway node from the
shared jar cache.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

from deploy.errors import FetchError, ServerStartError, ToolMissingError

__all__ = ["CassandraStatus", "LocalCassandra"]

_ASSETS = Path(__file__).parent / "cassandra"
HEAP = "-Xmx1g"  # one node, a test suite's keyspaces: about 540 MB resident

# From Cassandra's conf/jvm17-server.options: the JDK internals it reaches into on Java 17.
_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
)
_OPENS = (
    *(
        f"java.base/{package}"
        for package in (
            "java.lang.module",
            "jdk.internal.loader",
            "jdk.internal.ref",
            "jdk.internal.reflect",
            "jdk.internal.math",
            "jdk.internal.module",
            "jdk.internal.util.jar",
            "sun.nio.ch",
            "java.io",
            "java.lang.reflect",
            "java.lang",
            "java.util",
            "java.util.concurrent",
            "java.util.concurrent.atomic",
            "java.math",
            "java.net",
        )
    ),
    "jdk.management/com.sun.management.internal",
    "jdk.compiler/com.sun.tools.javac",
)


@dataclass(frozen=True)
class CassandraStatus:
    running: bool  # the native port accepts connections
    pid: int | None  # None when the node on the port was not started from this run_dir
    contact_point: str
    fetched: bool


class LocalCassandra:
    def __init__(
        self,
        home: Path,
        *,
        native_port: int = 9042,
        storage_port: int = 7000,
        jmx_port: int = 7199,
        run_dir: Path | None = None,
    ) -> None:
        self.home = home
        self.native_port = native_port
        self.storage_port = storage_port
        self.jmx_port = jmx_port
        self.lib = home / "lib"
        self.run_dir = run_dir or home
        self.data = self.run_dir / "data"
        self.logs = self.run_dir / "logs"
        self.config_file = self.run_dir / "cassandra.yaml"
        self.pid_file = self.run_dir / "cassandra.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def contact_point(self) -> str:
        return f"127.0.0.1:{self.native_port}"

    def url(self, keyspace: str, **options: str) -> str:
        """A view store URL for a keyspace on this node (replication 1: there is one node)."""
        query = "&".join(f"{k}={v}" for k, v in {"replication": "1", **options}.items())
        return f"cassandra://{self.contact_point}/{keyspace}?{query}"

    # -- fetching ----------------------------------------------------------------

    def fetched(self) -> bool:
        return any(self.lib.glob("cassandra-all-*.jar"))

    def fetch(self) -> None:
        """Copy the server's jars from Maven Central into ``lib/`` (once; about 67 MB, under a minute)."""
        if self.fetched():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolMissingError("mvn (Apache Maven) is needed to fetch Cassandra: apt-get install maven")
        self.home.mkdir(parents=True, exist_ok=True)
        staging = self.home / "lib.partial"
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
            raise FetchError(f"mvn could not fetch Cassandra:\n{_tail(result.stdout + result.stderr)}")
        shutil.rmtree(self.lib, ignore_errors=True)
        staging.rename(self.lib)  # all or nothing: a half download is never taken for a server

    # -- running -----------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Fetch and write the config; return the command that runs the node in the foreground."""
        self.fetch()
        for folder in ("data", "commitlog", "saved_caches", "hints", "cdc_raw"):
            (self.data / folder).mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "triggers").mkdir(parents=True, exist_ok=True)
        template = Template((_ASSETS / "cassandra.yaml").read_text())
        self.config_file.write_text(
            template.substitute(
                storage_port=self.storage_port, native_port=self.native_port, data_dir=self.data
            )
        )
        return [*self._java(), "org.apache.cassandra.service.CassandraDaemon"]

    def _java(self) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java:
            raise ToolMissingError(
                "java 17 is needed to run Cassandra: apt-get install openjdk-17-jre-headless"
            )
        jamm = sorted(self.lib.glob("jamm-*.jar"))
        if not jamm:
            raise FetchError(f"no jamm jar in {self.lib}: remove the folder and fetch again")
        return [
            java,
            HEAP,
            "-Xms256m",
            "-XX:+UseG1GC",
            "-Xss256k",
            "-Djava.awt.headless=true",
            "-Djdk.attach.allowAttachSelf=true",
            *(flag for module in _EXPORTS for flag in ("--add-exports", f"{module}=ALL-UNNAMED")),
            *(flag for module in _OPENS for flag in ("--add-opens", f"{module}=ALL-UNNAMED")),
            "-Dio.netty.tryReflectionSetAccessible=true",
            f"-javaagent:{jamm[-1]}",  # Cassandra measures objects with it
            f"-Dcassandra.config=file://{self.config_file}",
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.storagedir={self.data}",
            f"-Dcassandra.logdir={self.logs}",
            f"-Dcassandra.triggers_dir={self.run_dir / 'triggers'}",
            f"-Dlogback.configurationFile={_ASSETS / 'logback.xml'}",
            f"-Dcassandra.jmx.local.port={self.jmx_port}",  # JMX on 127.0.0.1 only (nodetool)
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",  # one node: no gossip to wait for
            "-cp",
            str(self.lib / "*"),
        ]

    def answering(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.native_port)) == 0

    def start(self, *, timeout_s: float = 120.0) -> bool:
        """Start a detached node unless one answers already; return True if this call started it."""
        if self.answering():
            self.wait_ready(timeout_s=timeout_s)
            return False
        command = self.prepare()
        with (self.logs / "console.log").open("ab") as console:
            proc = subprocess.Popen(
                command,
                cwd=self.run_dir,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the shell that started it; `cassandra stop` ends it
            )
        self.pid_file.write_text(str(proc.pid))
        self._process = proc
        try:
            self.wait_ready(timeout_s=timeout_s, process=proc)
        except BaseException:
            self.stop(timeout_s=10)  # never leave a half-started JVM holding a gigabyte
            raise
        return True

    def wait_ready(self, *, timeout_s: float, process: subprocess.Popen[bytes] | None = None) -> None:
        """Wait until a CQL session opens and reads ``system.local``; fail fast if the JVM died."""
        deadline = time.monotonic() + timeout_s
        last = "the native port is closed"
        while True:
            if process is not None and process.poll() is not None:
                raise ServerStartError(
                    f"Cassandra exited with code {process.returncode} while starting; "
                    f"log tail ({self.logs}):\n{self.log_tail()}"
                )
            if self.answering():
                problem = self._cql_probe()
                if problem is None:
                    return
                last = problem
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"Cassandra did not accept CQL on {self.contact_point} within {timeout_s:.0f}s "
                    f"({last}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.25)

    def _cql_probe(self) -> str | None:
        """None when a CQL session works; else what went wrong."""
        from cassandra import DriverException
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
        from cassandra.policies import DCAwareRoundRobinPolicy

        cluster = Cluster(
            ["127.0.0.1"],
            port=self.native_port,
            protocol_version=5,
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy())
            },
            connect_timeout=2.0,
            control_connection_timeout=2.0,
            schema_metadata_enabled=False,
            token_metadata_enabled=False,
        )
        quiet = logging.getLogger("cassandra")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)  # refused connections while it starts are expected
        try:
            session = cluster.connect()
            session.execute("SELECT release_version FROM system.local", timeout=5.0)
            return None
        except (NoHostAvailable, DriverException, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            cluster.shutdown()
            quiet.setLevel(level)

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Stop the node this run_dir started (SIGTERM, then SIGKILL); True if one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
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

    def status(self) -> CassandraStatus:
        return CassandraStatus(
            running=self.answering(), pid=self.pid(), contact_point=self.contact_point, fetched=self.fetched()
        )

    def log_tail(self, lines: int = 30) -> str:
        for name in ("system.log", "console.log"):
            path = self.logs / name
            if path.exists() and path.stat().st_size:
                return _tail(path.read_text(errors="replace"), lines)
        return "(no log written)"


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False  # our own child, exited and now reaped
    except ChildProcessError:
        pass  # not our child: started by another `tubestream cassandra start`
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
