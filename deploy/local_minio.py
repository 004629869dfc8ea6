"""A single-node MinIO on 127.0.0.1, built from source with ``go install`` and run from ``.local/``.

MinIO publishes no binaries through the registries these machines reach, but
its module builds with the Go toolchain (``go install``, as its README says),
pinned to one commit. The build takes minutes on two cores, once; the binary
is cached under ``$TUBESTREAM_HOME/minio/bin``. ``start`` is idempotent and
waits for ``/minio/health/live`` with a deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deploy.errors import FetchError, ServerStartError, ToolMissingError

__all__ = ["MINIO_MODULE", "LocalMinio", "MinioCredentials"]

# The MinIO module at a fixed commit (its last published state on the Go proxy when pinned).
MINIO_MODULE = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"


@dataclass(frozen=True)
class MinioCredentials:
    access_key: str = "tubestream"
    secret_key: str = "tubestream-secret"  # MinIO wants 8+ characters; local development only


class LocalMinio:
    def __init__(
        self, home: Path, *, port: int = 9000, credentials: MinioCredentials = MinioCredentials()
    ) -> None:
        self.home = home
        self.port = port
        self.console_port = port + 1
        self.credentials = credentials
        self.binary = home / "bin" / "minio"
        self.data = home / "data"
        self.log_file = home / "minio.log"
        self.pid_file = home / "minio.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def built(self) -> bool:
        return self.binary.is_file()

    def build(self, *, timeout_s: float = 1800.0) -> None:
        """``go install`` the pinned module into the cache (minutes, once)."""
        if self.built():
            return
        go = shutil.which("go")
        if go is None:
            raise ToolMissingError("building MinIO needs the Go toolchain ('go' is not on PATH)")
        (self.home / "bin").mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GOBIN": str(self.home / "bin"), "CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}
        result = subprocess.run(
            [go, "install", MINIO_MODULE],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if result.returncode != 0 or not self.built():
            raise FetchError(f"go install {MINIO_MODULE} failed:\n{result.stderr[-3000:]}")

    def answering(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/minio/health/live", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, *, timeout_s: float = 60.0) -> bool:
        """Start it detached unless one answers; True if this call started it."""
        if self.healthy():
            return False
        self.build()
        self.data.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.credentials.access_key,
            "MINIO_ROOT_PASSWORD": self.credentials.secret_key,
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
        }
        command = [
            str(self.binary), "server", str(self.data), "--quiet",
            "--address", f"127.0.0.1:{self.port}", "--console-address", f"127.0.0.1:{self.console_port}",
        ]  # fmt: skip
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        self._process = proc
        deadline = time.monotonic() + timeout_s
        while not self.healthy():
            if proc.poll() is not None:
                raise ServerStartError(f"MinIO exited with code {proc.returncode}:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise ServerStartError(
                    f"MinIO did not become healthy within {timeout_s:.0f}s:\n{self._log_tail()}"
                )
            time.sleep(0.2)
        return True

    def stop(self, *, timeout_s: float = 20.0) -> bool:
        """Stop the server this object started, else the one the pid file names; True if one was running.

        Its own process first: another run on the same folder (a second test suite, `tubestream up`)
        may have written the pid file since, and that server is not this one's to stop.
        """
        own = self._process
        if own is not None:
            if own.poll() is not None:  # ours has exited already; whatever the pid file names is not ours
                self._forget(own.pid)
                return False
            pid = own.pid
        else:
            try:
                pid = int(self.pid_file.read_text().strip())
            except (OSError, ValueError):
                return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            self._forget(pid)
            return False
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        self._forget(pid)
        return True

    def _forget(self, pid: int) -> None:
        """Reap our own process; remove the pid file if it still names ``pid``."""
        with contextlib.suppress(OSError, ValueError):
            if int(self.pid_file.read_text().strip()) == pid:
                self.pid_file.unlink(missing_ok=True)
        if self._process is not None:
            self._process.wait()
            self._process = None

    def _log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False
