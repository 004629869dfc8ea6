"""``tubestream up``'s supervisor: one prefixed stream, ordered shutdown, a dead child noticed."""

from __future__ import annotations

import io
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.supervisor import Component, Supervisor

from harness import wait_for

# A component: says it is ready, notes its name in a file when asked to stop, then exits.
CHILD = """
import os, signal, sys
name, stops = sys.argv[1], sys.argv[2]
def stop(*_):
    with open(stops, "a") as f:
        f.write(name + "\\n")
    print("bye from " + name, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("ready " + name, flush=True)
print("second line of " + name, flush=True)
while True:
    signal.pause()
"""

# Ignores SIGTERM and keeps a grandchild of its own (as the transcoder keeps FFmpeg).
STUBBORN = """
import signal, subprocess, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal\\nwhile True: signal.pause()"])
print("grandchild " + str(child.pid), flush=True)
while True:
    signal.pause()
"""


class Output(io.StringIO):
    def lines(self) -> list[str]:
        return self.getvalue().splitlines()

    def said(self) -> list[tuple[str, str]]:
        """(component, text) of every line; the prefix column widens with the longest name."""
        pairs = []
        for line in self.lines():
            prefix, text = line.split(" | ", 1)
            assert prefix == prefix.strip().rjust(len(prefix)), line
            pairs.append((prefix.strip(), text))
        return pairs


@pytest.fixture
def out() -> Output:
    return Output()


@pytest.fixture
def supervisor(out: Output) -> Iterator[Supervisor]:
    sup = Supervisor(out=out, grace_s=10.0, colour=False)
    yield sup
    sup.stop_all()  # whatever a failed test left running


def component(name: str, stops: Path) -> Component:
    return Component(name, [sys.executable, "-c", CHILD, name, str(stops)])


def ready(out: Output, *names: str) -> None:
    wait_for(
        lambda: all(f"ready {n}" in out.getvalue() for n in names),
        timeout_s=20,
        what=f"{', '.join(names)} to start",
    )


def test_each_line_is_prefixed_with_its_component(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    supervisor.start(component("api", tmp_path / "stops"))
    supervisor.start(component("analytics", tmp_path / "stops"))
    ready(out, "api", "analytics")
    wait_for(lambda: "second line of analytics" in out.getvalue(), timeout_s=10, what="the second lines")

    said = out.said()
    assert ("api", "ready api") in said
    assert ("api", "second line of api") in said
    assert ("analytics", "ready analytics") in said
    assert any(who == "up" and text.startswith("started api (pid ") for who, text in said)
    assert "\033[" not in out.getvalue()  # not a terminal: no colour codes


def test_colour_wraps_only_the_prefix(tmp_path: Path) -> None:
    out = Output()
    Supervisor(out=out, colour=True).say("worker", "hello")
    line = out.getvalue()
    assert line.startswith("\033[") and line.endswith("  worker |\033[0m hello\n")


def test_components_get_their_environment_and_folder(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    script = "import os; print('greeting=' + os.environ['GREETING'], 'cwd=' + os.getcwd(), flush=True)"
    supervisor.start(Component("env", [sys.executable, "-c", script], env={"GREETING": "hi"}, cwd=tmp_path))
    wait_for(lambda: "greeting=" in out.getvalue(), timeout_s=20, what="the child's output")
    assert ("env", f"greeting=hi cwd={tmp_path}") in out.said()


def test_a_requested_stop_stops_the_children_in_reverse_start_order(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    """Kafka starts first and stops last, after everything that writes to it."""
    stops = tmp_path / "stops"
    for name in ("kafka", "worker", "api"):
        supervisor.start(component(name, stops))
    ready(out, "kafka", "worker", "api")

    code = supervisor.wait(until=lambda: True)

    assert code == 0
    assert stops.read_text().split() == ["api", "worker", "kafka"]
    said = out.said()
    order = [said.index(("up", f"stopping {n}")) for n in ("api", "worker", "kafka")]
    assert order == sorted(order)
    assert ("api", "bye from api") in said  # the last words of each child are still shown
    assert said[-1] == ("up", "all stopped")


def test_sigterm_stops_everything_and_restores_the_handler(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    stops = tmp_path / "stops"
    supervisor.start(component("worker", stops))
    supervisor.start(component("api", stops))
    ready(out, "worker", "api")
    before = signal.getsignal(signal.SIGTERM)
    sent: list[bool] = []

    def send_sigterm_once() -> bool:
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill <pid of tubestream up>` would
        return False

    assert supervisor.wait(until=send_sigterm_once) == 0
    assert stops.read_text().split() == ["api", "worker"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_component_that_dies_is_reported_and_the_rest_are_stopped(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    stops = tmp_path / "stops"
    worker = supervisor.start(component("worker", stops))
    ready(out, "worker")
    supervisor.start(Component("api", [sys.executable, "-c", "print('address in use', flush=True); exit(3)"]))

    code = supervisor.wait()

    assert code == 1
    said = out.said()
    assert ("api", "address in use") in said
    assert ("up", "api exited with code 3; stopping the rest") in said
    assert stops.read_text().split() == ["worker"]
    assert worker.returncode == 0


def test_a_component_that_ignores_sigterm_is_killed_with_its_children(out: Output) -> None:
    supervisor = Supervisor(out=out, grace_s=0.5, colour=False)
    proc = supervisor.start(Component("transcoder", [sys.executable, "-c", STUBBORN]))
    line = wait_for(
        lambda: next((ln for ln in out.lines() if "grandchild " in ln), None),
        timeout_s=20,
        what="the grandchild's pid",
    )
    grandchild = int(line.rsplit(" ", 1)[1])

    supervisor.stop_all()

    assert proc.returncode == -signal.SIGKILL
    assert ("up", "transcoder did not stop in 0.5s; killing it") in out.said()
    wait_for(lambda: not _running(grandchild), timeout_s=10, what="the grandchild to be gone")


def _running(pid: int) -> bool:
    """Alive and not a zombie (a container's init may be slow to reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_replica_that_dies_is_reported_and_its_siblings_carry_on(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    """In a cluster a lost replica's partitions move to the others: nothing else is stopped."""
    stops = tmp_path / "stops"
    first = supervisor.start(Component("api-1", component("api-1", stops).argv, group="api"))
    supervisor.start(Component("api-2", component("api-2", stops).argv, group="api"))
    supervisor.start(component("kafka", stops))
    ready(out, "api-1", "api-2", "kafka")
    first.kill()
    first.wait()

    code = supervisor.wait(until=lambda: "api-1 exited" in out.getvalue())  # then a requested stop

    assert code == 0
    assert ("up", "api-1 exited with code -9; api-2 carries on") in out.said()
    assert stops.read_text().split() == ["kafka", "api-2"]  # both survivors ran until asked to stop


def test_the_last_replica_of_a_group_gone_stops_everything(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    stops = tmp_path / "stops"
    replicas = [
        supervisor.start(
            Component(f"analytics-{i}", component(f"analytics-{i}", stops).argv, group="analytics")
        )
        for i in (1, 2)
    ]
    supervisor.start(component("api", stops))
    ready(out, "analytics-1", "analytics-2", "api")
    replicas[0].kill()

    def kill_the_second_once_the_first_is_reported() -> bool:
        if "analytics-1 exited" in out.getvalue() and replicas[1].poll() is None:
            replicas[1].kill()
        return False

    code = supervisor.wait(until=kill_the_second_once_the_first_is_reported)

    assert code == 1
    said = out.said()
    assert ("up", "analytics-1 exited with code -9; analytics-2 carries on") in said
    assert ("up", "analytics-2 exited with code -9; stopping the rest") in said
    assert stops.read_text().split() == ["api"]


def test_a_component_with_a_restart_delay_comes_back_and_is_never_counted_gone(
    supervisor: Supervisor, out: Output, tmp_path: Path
) -> None:
    """As an orchestrator would: started again after its delay, twice as long after a quick exit."""
    stops = tmp_path / "stops"
    flaky = Component(
        "analytics-1", component("analytics-1", stops).argv, group="analytics", restart_after_s=0.2
    )
    first = supervisor.start(flaky)
    ready(out, "analytics-1")
    first.kill()
    first.wait()

    def restarted_then_killed_again() -> bool:
        restarted = [
            t for who, t in out.said() if who == "up" and t.startswith("restarted analytics-1 (pid ")
        ]
        if len(restarted) == 1 and flaky.process is not None and flaky.process.poll() is None:
            wait_for(lambda: out.getvalue().count("ready analytics-1") == 2, timeout_s=20, what="the restart")
            flaky.process.kill()
        return len(restarted) == 2

    code = supervisor.wait(until=restarted_then_killed_again)

    assert code == 0  # the only replica died twice, and the platform stayed up
    said = out.said()
    assert ("up", "analytics-1 exited with code -9; restarting it in 0.4s") in said  # a quick exit: doubled
    assert ("up", "analytics-1 exited with code -9; restarting it in 0.8s") in said
    assert out.getvalue().count("ready analytics-1") == 3
    assert stops.read_text().split() == ["analytics-1"]  # the third one ran until asked to stop
