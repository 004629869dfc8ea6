"""``tubestream api --processes N``: N processes on one port; one of them dying does not take the API down."""

from __future__ import annotations

import os
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from topics.config import KafkaConfig

from harness import Platform, free_port

pytestmark = pytest.mark.kafka


def _listening_pids(port: int) -> set[int]:
    """Processes holding a socket that listens on ``port`` (Linux ``/proc``: no tool needed)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(fields[9])
    pids: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:  # gone, or not ours
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.add(int(entry.name))
    return pids


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # a new connection each time
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_processes_share_the_port_and_one_that_dies_is_replaced_while_the_others_answer(
    kafka: KafkaConfig, tmp_path: Path
) -> None:
    platform = Platform(
        kafka=kafka, home=tmp_path, catalog_url=f"sqlite:///{tmp_path / 'catalog.db'}", api_port=free_port()
    )
    parent = platform.start("api", "api", "--processes", "2")
    try:
        serving = platform.wait_for(
            lambda: pids if len(pids := _listening_pids(platform.api_port)) == 2 else None,
            timeout_s=60,
            what="two API processes listening on the one port",
        )
        assert parent.popen.pid not in serving  # the parent only looks after them
        platform.wait_for(lambda: _status(f"{platform.api}/healthz") == 200, what="the API to answer")

        victim = min(serving)
        os.kill(victim, signal.SIGKILL)
        platform.wait_for(
            lambda: victim not in _listening_pids(platform.api_port), what="the killed one's socket to close"
        )
        # the survivor answers every request meanwhile, each on a connection of its own
        assert [_status(f"{platform.api}/v1/videos?limit=1") for _ in range(30)] == [200] * 30

        replaced = platform.wait_for(
            lambda: pids if len(pids := _listening_pids(platform.api_port) - serving) == 1 else None,
            timeout_s=60,
            what="a new process in place of the killed one",
        )
        assert "exited with code -9; api-" in parent.log.read_text()
        assert _status(f"{platform.api}/healthz") == 200

        parent.popen.send_signal(signal.SIGTERM)
        assert parent.popen.wait(timeout=60) == 0
        assert not _listening_pids(platform.api_port) & (serving | replaced)  # no process left behind
    finally:
        platform.stop()
