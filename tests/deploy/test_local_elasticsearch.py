"""The local Elasticsearch manager: reuse a healthy node, run as a non-root user, fail fast and say why.

The session's node is only looked at here; managers pointed at it from another
home have no pid file and cannot stop it.
"""

from __future__ import annotations

import os
import pwd
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from deploy.errors import ServerStartError
from deploy.local_elasticsearch import ES_USER, LocalElasticsearch, _unzip

from harness import free_port


def test_the_session_node_is_healthy_and_reports_itself(elasticsearch: LocalElasticsearch) -> None:
    status = elasticsearch.status()
    assert status.running and status.fetched
    assert status.url == f"http://127.0.0.1:{elasticsearch.port}"
    assert status.pid is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root run switches to the node's own user")
def test_as_root_the_node_runs_as_its_own_user(elasticsearch: LocalElasticsearch) -> None:
    pid = elasticsearch.status().pid
    assert pid is not None
    uid = os.stat(f"/proc/{pid}").st_uid
    assert pwd.getpwuid(uid).pw_name == ES_USER
    assert pwd.getpwuid(elasticsearch.data.stat().st_uid).pw_name == ES_USER


def test_start_reuses_a_healthy_node(tmp_path: Path, elasticsearch: LocalElasticsearch) -> None:
    other = LocalElasticsearch(tmp_path, port=elasticsearch.port)
    assert other.start(timeout_s=10) is False  # nothing started, nothing fetched
    assert not other.fetched()
    assert other.stop(timeout_s=5) is False  # and it leaves the session's node alone
    assert elasticsearch.healthy()


def test_a_port_held_by_something_else_fails_at_once(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        node = LocalElasticsearch(tmp_path, port=sock.getsockname()[1], transport_port=free_port())
        started = time.monotonic()
        with pytest.raises(ServerStartError, match="not a healthy Elasticsearch"):
            node.start(timeout_s=30)
        assert time.monotonic() - started < 10


def test_a_stale_pid_file_is_not_taken_for_a_node(tmp_path: Path) -> None:
    node = LocalElasticsearch(tmp_path, port=free_port())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    node.node_dir.mkdir(parents=True)
    node.pid_file.write_text(str(dead.pid))
    assert node.pid() is None
    assert node.stop(timeout_s=5) is False


def test_unpacking_keeps_the_launchers_executable(tmp_path: Path) -> None:
    archive = tmp_path / "dist.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        script = zipfile.ZipInfo("es/bin/elasticsearch")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(script, "#!/bin/sh\n")
        zf.writestr("es/config/jvm.options", "-Xms1g\n")
    _unzip(archive, tmp_path / "out")
    assert os.access(tmp_path / "out" / "es" / "bin" / "elasticsearch", os.X_OK)
    assert (tmp_path / "out" / "es" / "config" / "jvm.options").read_text() == "-Xms1g\n"
