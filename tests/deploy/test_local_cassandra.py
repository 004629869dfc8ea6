"""The local Cassandra manager: reuse a running node, never stop one it did not start, say where it is.

The session's node is only looked at here: every LocalCassandra below has
its own empty home, so it has no pid file and cannot stop it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local_cassandra import LocalCassandra

from harness import REPO, free_port


@pytest.mark.cassandra
def test_start_reuses_a_node_that_answers(tmp_path: Path, cassandra: LocalCassandra) -> None:
    node = LocalCassandra(tmp_path, native_port=cassandra.native_port)

    assert node.start(timeout_s=30) is False  # nothing started, nothing fetched

    assert not node.fetched()
    status = node.status()
    assert (status.running, status.pid, status.contact_point) == (True, None, cassandra.contact_point)


@pytest.mark.cassandra
def test_stop_leaves_a_node_it_did_not_start(tmp_path: Path, cassandra: LocalCassandra) -> None:
    node = LocalCassandra(tmp_path, native_port=cassandra.native_port)
    assert node.stop(timeout_s=5) is False
    cassandra.wait_ready(timeout_s=10)  # still serving the session


def test_a_stale_pid_file_is_not_taken_for_a_node(tmp_path: Path) -> None:
    node = LocalCassandra(tmp_path, native_port=free_port())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    node.pid_file.write_text(str(dead.pid))

    assert node.pid() is None
    assert node.stop(timeout_s=5) is False
    assert node.status().running is False


def test_the_config_names_the_ports_and_folders(tmp_path: Path) -> None:
    """What ``prepare`` writes, without running Java (the jars are faked)."""
    home, run = tmp_path / "home", tmp_path / "run"
    (home / "lib").mkdir(parents=True)
    for jar in ("cassandra-all-5.0.9.jar", "jamm-0.4.0.jar"):
        (home / "lib" / jar).touch()
    node = LocalCassandra(home, native_port=19042, storage_port=17000, jmx_port=17199, run_dir=run)

    command = node.prepare()

    config = node.config_file.read_text()
    for line in ("storage_port: 17000", "native_transport_port: 19042", 'seeds: "127.0.0.1:17000"'):
        assert line in config
    assert f"  - {run / 'data' / 'data'}" in config and "$" not in config
    assert command[-1] == "org.apache.cassandra.service.CassandraDaemon"
    assert "-Xmx1g" in command and "-Dcassandra.jmx.local.port=17199" in command
    assert f"-javaagent:{home / 'lib' / 'jamm-0.4.0.jar'}" in command
    assert node.url("views") == "cassandra://127.0.0.1:19042/views?replication=1"


@pytest.mark.cassandra
def test_the_status_command_says_whether_it_answers(tmp_path: Path, cassandra: LocalCassandra) -> None:
    def status(port: int) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TUBESTREAM_HOME": str(tmp_path), "TUBESTREAM_CASSANDRA_PORT": str(port)}
        return subprocess.run(
            [sys.executable, "-m", "deploy.cli", "cassandra", "status"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )

    up = status(cassandra.native_port)
    assert (up.returncode, up.stdout.strip()) == (0, f"Cassandra answers on {cassandra.contact_point}")
    port = free_port()
    down = status(port)
    assert (down.returncode, down.stdout.strip()) == (3, f"Cassandra is not running on 127.0.0.1:{port}")
