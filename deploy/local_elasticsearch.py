"""A single-node Elasticsearch 8 on 127.0.0.1, fetched from Maven Central and run from ``.local/``.

Elastic publishes no full 8.x distribution to Maven Central, only its test
distribution (``integ-test-zip``): the server with the transport, security
and core x-pack modules, and no analysis-common (no asciifolding, edge_ngram
or language analyzers; ``views.search.elasticsearch`` works within that). It
runs on the system's JDK 17.

Elasticsearch refuses to run as root, so as root the node runs as a system
user (``tubestream-es``, created if missing) through ``setpriv``, and its
config, data, logs, temp folder and pid file are that user's. The
distribution is unpacked once into ``home/elasticsearch`` and shared; each
node's own files live in ``home/nodes/<http port>/``. ``start`` is idempotent
and waits for ``/_cluster/health`` with a deadline (``GET /`` answers 405 on
this build: it lacks the rest-root module).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import FetchError, ServerStartError, ToolMissingError

__all__ = ["ES_ARTIFACT", "ES_USER", "ES_VERSION", "ElasticsearchStatus", "LocalElasticsearch"]

ES_VERSION = "8.19.21"  # the newest 8.x on Maven Central; the Python client is pinned to 8.x to match
ES_ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
ES_USER = "tubestream-es"
HEAP = "512m"  # plenty for one node and a test suite (about 750 MB resident)


@dataclass(frozen=True, kw_only=True)
class ElasticsearchStatus:
    running: bool  # answers /_cluster/health on the port
    pid: int | None  # None when the node on the port was not started from this folder
    url: str
    fetched: bool


class LocalElasticsearch:
    def __init__(
        self, home: Path, *, port: int = 9200, transport_port: int | None = None, user: str = ES_USER
    ) -> None:
        """``transport_port`` defaults to ``port + 100`` (9300 beside 9200, as Elasticsearch does)."""
        self.home = home.absolute()  # the node's config names its folders, and mvn runs in another folder
        self.port = port
        self.transport_port = port + 100 if transport_port is None else transport_port
        self.user = user
        self.dist = self.home / "elasticsearch"
        self.node_dir = self.home / "nodes" / str(port)
        self.config_dir = self.node_dir / "config"
        self.data = self.node_dir / "data"
        self.logs = self.node_dir / "logs"
        self.tmp = self.node_dir / "tmp"
        self.pid_file = self.node_dir / "elasticsearch.pid"
        self.console_log = self.node_dir / "console.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- fetching ----------------------------------------------------------------------------

    def fetched(self) -> bool:
        return (self.dist / "lib").is_dir() and (self.dist / "bin" / "elasticsearch").is_file()

    def fetch(self, *, timeout_s: float = 900.0) -> None:
        """Copy the distribution from Maven Central (about 107 MB, cached in ~/.m2) and unpack it, once."""
        if self.fetched():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolMissingError(
                "mvn (Apache Maven) is needed to fetch Elasticsearch: apt-get install maven"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        download = self.home / "download"
        staging = self.home / "elasticsearch.partial"
        shutil.rmtree(download, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "dependency:copy",
                    f"-Dartifact={ES_ARTIFACT}",
                    f"-DoutputDirectory={download}",
                ],
                cwd=self.home,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise FetchError(f"mvn did not fetch {ES_ARTIFACT} within {timeout_s:.0f}s") from exc
        archives = list(download.glob("*.zip"))
        if result.returncode != 0 or len(archives) != 1:
            raise FetchError(f"mvn could not fetch {ES_ARTIFACT}:\n{_tail(result.stdout + result.stderr)}")
        try:
            _unzip(archives[0], staging)
        except (OSError, zipfile.BadZipFile) as exc:
            raise FetchError(f"cannot unpack {archives[0]}: {exc}") from exc
        tops = list(staging.iterdir())
        if len(tops) != 1 or not (tops[0] / "bin" / "elasticsearch").is_file():
            raise FetchError(f"{archives[0]} is not an Elasticsearch distribution")
        shutil.rmtree(self.dist, ignore_errors=True)
        tops[0].rename(self.dist)  # all or nothing: a half unpacked distribution is never taken for one
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(download, ignore_errors=True)

    # -- running -----------------------------------------------------------------------------

    def healthy(self) -> bool:
        """The node answers ``/_cluster/health`` with a status other than red."""
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health", timeout=2) as response:
                return bool(json.loads(response.read()).get("status") in ("green", "yellow"))
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def answering(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def start(self, *, timeout_s: float = 120.0) -> bool:
        """Start a detached node unless one is healthy on the port; True if this call started it."""
        if self.healthy():
            return False
        if self.answering():
            raise ServerStartError(
                f"port {self.port} is taken by something that is not a healthy Elasticsearch"
            )
        self.fetch()
        command, owner = self._prepare()
        env = {
            **os.environ,
            "ES_PATH_CONF": str(self.config_dir),
            "ES_TMPDIR": str(self.tmp),
            "ES_JAVA_OPTS": f"-Xms{HEAP} -Xmx{HEAP}",
            "ES_JAVA_HOME": str(_java_home()),
            "HOME": str(self.node_dir),
        }
        self.pid_file.unlink(missing_ok=True)
        with self.console_log.open("ab") as console:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=self.node_dir,
                stdout=console,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the shell that started it; stop() ends it
            )
        self._process = proc
        started = time.monotonic()
        deadline = started + timeout_s
        while not self.healthy():
            if proc.poll() is not None:
                raise ServerStartError(
                    f"Elasticsearch exited with code {proc.returncode} while starting (as {owner}):\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"Elasticsearch did not become healthy on {self.url} within {timeout_s:.0f}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.5)
        return True

    def _prepare(self) -> tuple[list[str], str]:
        """Write the node's config and folders, owned by the user it runs as; return its command."""
        for folder in (self.config_dir, self.data, self.logs, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties"):
            if not (self.config_dir / name).exists():
                shutil.copy2(self.dist / "config" / name, self.config_dir / name)
        (self.config_dir / "jvm.options.d").mkdir(exist_ok=True)
        (self.config_dir / "elasticsearch.yml").write_text(
            "\n".join(
                [
                    "cluster.name: tubestream",
                    "node.name: tubestream-es",
                    "discovery.type: single-node",
                    "network.host: 127.0.0.1",
                    f"http.port: {self.port}",
                    f"transport.port: {self.transport_port}",
                    f"path.data: {self.data}",
                    f"path.logs: {self.logs}",
                    "xpack.security.enabled: false",
                    "",
                ]
            )
        )
        command = [str(self.dist / "bin" / "elasticsearch"), "-p", str(self.pid_file)]
        if os.geteuid() != 0:
            return command, pwd.getpwuid(os.geteuid()).pw_name
        account = self._system_user()
        for path in [self.node_dir, *self.node_dir.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
        self._check_reachable(account)
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise ToolMissingError("setpriv (util-linux) is needed to run Elasticsearch as a non-root user")
        drop = [setpriv, f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups"]
        return [*drop, *command], self.user

    def _system_user(self) -> pwd.struct_passwd:
        """The account the node runs as, created (system, no login, no home) if missing."""
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            pass
        useradd = shutil.which("useradd")
        if useradd is None:
            raise ToolMissingError(
                f"useradd is needed to create the system user {self.user} for Elasticsearch"
            )
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--user-group",
                self.user,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            return pwd.getpwnam(self.user)  # another process may have created it meanwhile
        except KeyError:
            raise ServerStartError(f"cannot create the user {self.user}: {result.stderr.strip()}") from None

    def _check_reachable(self, account: pwd.struct_passwd) -> None:
        """Fail with a reason if the node's user cannot reach the distribution or its folder."""
        for path in (self.dist / "lib", self.node_dir):
            for folder in [path, *path.parents]:
                mode = folder.stat()
                if folder == path or mode.st_uid == account.pw_uid:
                    continue
                if not mode.st_mode & stat.S_IXOTH:
                    raise ServerStartError(
                        f"Elasticsearch runs as {self.user}, who cannot enter {folder}; "
                        "put its home (TUBESTREAM_HOME) where every user may enter, e.g. under /opt or /srv"
                    )

    def pid(self) -> int | None:
        """The node's server process (the JVM the launcher started), if it is alive."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    def stop(self, *, timeout_s: float = 30.0) -> bool:
        """Stop the node this folder started (SIGTERM, then SIGKILL); True if one was running."""
        pids = [
            p for p in (self.pid(), None if self._process is None else self._process.pid) if p is not None
        ]
        stopped = False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
                stopped = True
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + timeout_s
        for pid in pids:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        if self._process is not None:
            self._process.wait()
            self._process = None
        return stopped

    def discard(self) -> None:
        """Remove the node's folder (config, data, logs); the distribution stays. Stop it first."""
        shutil.rmtree(self.node_dir, ignore_errors=True)

    def status(self) -> ElasticsearchStatus:
        return ElasticsearchStatus(
            running=self.healthy(), pid=self.pid(), url=self.url, fetched=self.fetched()
        )

    def log_tail(self, lines: int = 30) -> str:
        for path in (self.logs / "tubestream.log", self.console_log):
            if path.exists():
                return _tail(path.read_text(errors="replace"), lines)
        return "(no log written)"


def _unzip(archive: Path, target: Path) -> None:
    """Unpack keeping the files' Unix modes (zipfile drops them: bin/ would not be executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                path.chmod(stat.S_IMODE(mode))


def _java_home() -> Path:
    java_home = os.environ.get("ES_JAVA_HOME") or os.environ.get("JAVA_HOME")
    if java_home:
        return Path(java_home)
    java = shutil.which("java")
    if java is None:
        raise ToolMissingError(
            "java 17+ is needed to run Elasticsearch: apt-get install openjdk-17-jre-headless"
        )
    return Path(java).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False  # our own child, exited and now reaped
    except ChildProcessError:
        pass  # not our child: the launcher's server process, or a node another command started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as gone
        with open(f"/proc/{pid}/stat") as proc_stat:
            return proc_stat.read().split()[2] != "Z"
    except OSError:
        return False


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
