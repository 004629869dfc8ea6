"""``tubestream`` as a user runs it: real subprocesses against the real broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from topics.config import KafkaConfig

from harness import REPO, Platform, free_port, http_json, wait_for

pytestmark = pytest.mark.kafka

COMPONENTS = ("worker", "analytics", "transcoder", "api", "collector", "uploads")


@pytest.fixture
def cli(kafka: KafkaConfig, tmp_path: Path) -> Platform:
    """Only for running one-shot commands against this module's namespace."""
    return Platform(
        kafka=kafka, home=tmp_path, catalog_url=f"sqlite:///{tmp_path / 'c.db'}", api_port=free_port()
    )


def _fail(cli: Platform, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        env=cli.env(),
        cwd=REPO,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, f"expected tubestream {' '.join(args)} to fail:\n{result.stdout}"
    return result


def test_topics_apply_is_idempotent(cli: Platform) -> None:
    out = cli.run("topics", "apply")
    lines = [line.split() for line in out.splitlines()]
    assert lines, "apply printed nothing"
    assert all(action == "unchanged" for action, *_ in lines), out  # the fixture applied them already
    assert any(name == cli.kafka.topic("upload-complete") for _, name, *_ in lines)


def test_publish_then_list_and_tail(cli: Platform) -> None:
    video_id = f"vid-{uuid.uuid4().hex[:8]}"
    doc = json.loads((REPO / "deploy/examples/upload-complete.json").read_text())
    doc["video_id"] = video_id
    out = cli.run("publish", "upload-complete", "-", input_text=json.dumps(doc))
    event_id = out.strip()
    assert uuid.UUID(event_id)

    listed = cli.run("topics", "list")
    row = next(
        line.split() for line in listed.splitlines() if line.startswith(cli.kafka.topic("upload-complete "))
    )
    assert int(row[-1]) >= 1

    tailed = [json.loads(line) for line in cli.run("tail", "upload-complete").splitlines()]
    mine = [r for r in tailed if r["key"] == video_id]
    assert len(mine) == 1
    assert mine[0]["event_type"] == "upload-complete"
    assert mine[0]["value"]["event_id"] == event_id
    assert mine[0]["value"]["title"] == doc["title"]


def test_an_invalid_file_publishes_nothing_and_says_why(cli: Platform) -> None:
    before = cli.run("tail", "upload-complete")
    good = json.loads((REPO / "deploy/examples/upload-complete.json").read_text())
    bad = {k: v for k, v in good.items() if k != "title"}

    result = _fail(cli, "publish", "upload-complete", "-", input_text=json.dumps([good, bad]))

    assert "event #2" in result.stderr and "title" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert cli.run("tail", "upload-complete") == before  # the valid first object was not sent either


def test_an_unknown_event_type_lists_the_known_ones(cli: Platform) -> None:
    result = _fail(cli, "publish", "video-liked", "-", input_text="{}")
    assert "unknown event type 'video-liked'" in result.stderr
    assert "upload-complete" in result.stderr


def _ctrl_c_enabled() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_up_runs_the_platform_and_ctrl_c_stops_all_of_it(kafka: KafkaConfig, tmp_path: Path) -> None:
    """The README's first command, after its setup step: one terminal, one log stream, Ctrl-C ends it."""
    port = free_port()
    env = Platform(
        kafka=kafka, home=tmp_path, catalog_url=f"sqlite:///{tmp_path / 'c.db'}", api_port=port
    ).env()
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "up"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            # as in a terminal: a suite started in the background inherits SIGINT ignored
            preexec_fn=_ctrl_c_enabled,
        )
    try:
        wait_for(
            lambda: http_json(f"http://127.0.0.1:{port}/healthz")[0] == 200,
            timeout_s=60.0,
            what=f"the API of `tubestream up`; log:\n{log.read_text()}",
        )
        wait_for(  # one stream, each line prefixed by its component
            lambda: all(f"{name} |" in log.read_text() for name in COMPONENTS),
            what="a prefixed line from every component",
        )
        assert "tubestream is up" in log.read_text()
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=60)
    text = log.read_text()
    assert code == 0, text
    assert "all stopped" in text
    assert all(f"stopping {name}" in text for name in COMPONENTS), text


def test_a_player_token_from_the_cli_is_accepted_by_the_collector(cli: Platform) -> None:
    collector = cli.start("collector", "collector")
    try:
        token = cli.run("player-token", "viewer-1").strip()
        url = f"http://127.0.0.1:{cli.collector_port}/v1/playback/events"
        event = {
            "event_id": str(uuid.uuid4()),
            "session_id": "s-cli",
            "video_id": "vid-cli",
            "kind": "start",
            "position_ms": 0,
            "occurred_at": int(time.time() * 1000),
        }
        wait_for(lambda: _post(url, event, "nope") == 401, what="the collector to answer")
        assert _post(url, event, token) == 202
    finally:
        assert collector.stop() in (0, -signal.SIGTERM), collector.log_tail()


def _post(url: str, body: dict[str, object], token: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
