"""Run the platform's processes in one terminal (``tubestream up``).

Each component is a child process with its own session, so Ctrl-C reaches
only the supervisor, which then stops the children in reverse start order
(SIGTERM, then SIGKILL after a grace period) — Kafka last, after everything
that writes to it has committed. Output is one stream, each line prefixed
with the component's name, like ``docker compose up`` or ``honcho``.

Components may come in replicas (``group``): a replica that dies is reported
and its siblings carry on (a consumer group hands them its partitions); only
when the last of a group is gone does the supervisor stop everything. A
component with ``restart_after_s`` is started again that long after it exits
on its own (twice as long after each exit within a minute of starting, up to
eight times), so it never counts as gone: what a cluster's orchestrator does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

__all__ = ["Component", "Supervisor"]

_COLOURS = ("36", "33", "35", "32", "34", "31")


@dataclass
class Component:
    name: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    group: str = ""  # replicas share a group; empty: a group of its own
    restart_after_s: float | None = None  # start it again this long after it exits on its own; None: never
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # time.monotonic() of the last start
    quick_exits: int = 0  # exits in a row within a minute of starting: the restart delay doubles with each

    @property
    def group_name(self) -> str:
        return self.group or self.name


class Supervisor:
    def __init__(
        self, *, out: TextIO = sys.stdout, grace_s: float = 20.0, colour: bool | None = None
    ) -> None:
        self._out = out
        self._grace_s = grace_s
        self._colour = out.isatty() if colour is None else colour
        self._components: list[Component] = []
        self._lock = threading.Lock()
        self._pumps: list[threading.Thread] = []
        self._width = 8

    def say(self, name: str, line: str) -> None:
        """Write one prefixed line; safe from the pump threads."""
        prefix = f"{name:>{self._width}} |"
        if self._colour:
            code = _COLOURS[hash(name) % len(_COLOURS)]
            prefix = f"\033[{code}m{prefix}\033[0m"
        with self._lock:
            self._out.write(f"{prefix} {line}\n")
            self._out.flush()

    def start(self, component: Component) -> subprocess.Popen[bytes]:
        self._width = max(self._width, len(component.name))
        self._components.append(component)
        proc = self._spawn(component)
        self.say("up", f"started {component.name} (pid {proc.pid})")
        return proc

    def _spawn(self, component: Component) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            list(component.argv),
            env={**os.environ, **component.env},
            cwd=component.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C goes to us; we stop children in order
        )
        component.process = proc
        component.started_at = time.monotonic()
        assert proc.stdout is not None
        pump = threading.Thread(target=self._pump, args=(component.name, proc.stdout), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return proc

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode(errors="replace").rstrip())
        stream.close()

    def wait(self, *, until: Callable[[], bool] = lambda: False) -> int:
        """Block until Ctrl-C/SIGTERM, ``until()`` is true, or a whole group has exited; then stop all.

        A replica that exits while others of its group run is reported and left
        down, or started again later if it has ``restart_after_s``. Returns the
        exit code for the supervisor: 0 after a requested stop, 1 when a
        component (the last of its group) died on its own (its log says why).
        """
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        failed: Component | None = None
        reported: set[str] = set()
        restarts: dict[str, float] = {}  # component name -> when to start it again
        try:
            while not stop.is_set() and not until():
                failed = self._look_after(reported, restarts)
                if failed is not None:
                    break
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        if failed is not None:
            assert failed.process is not None
            self.say("up", f"{failed.name} exited with code {failed.process.returncode}; stopping the rest")
        self.stop_all()
        return 1 if failed is not None else 0

    def _look_after(self, reported: set[str], restarts: dict[str, float]) -> Component | None:
        """Restart what is due, report what exited since the last look; the last of a group gone, if any."""
        now = time.monotonic()
        for component in self._components:
            assert component.process is not None
            if component.name in restarts:
                if now >= restarts[component.name]:
                    del restarts[component.name]
                    proc = self._spawn(component)
                    self.say("up", f"restarted {component.name} (pid {proc.pid})")
                continue
            if component.name in reported or component.process.poll() is None:
                continue
            group = [c for c in self._components if c.group_name == component.group_name]
            alive = [c.name for c in group if c.process is not None and c.process.poll() is None]
            carry_on = f"; {', '.join(alive)} carr{'ies' if len(alive) == 1 else 'y'} on" if alive else ""
            code = component.process.returncode
            if component.restart_after_s is not None:
                quick = now - component.started_at < 60.0
                component.quick_exits = component.quick_exits + 1 if quick else 0
                delay = component.restart_after_s * 2 ** min(component.quick_exits, 3)
                restarts[component.name] = now + delay
                self.say(
                    "up", f"{component.name} exited with code {code}{carry_on}; restarting it in {delay:g}s"
                )
                continue
            reported.add(component.name)
            if not alive:
                return component
            self.say("up", f"{component.name} exited with code {code}{carry_on}")
        return None

    def stop_all(self) -> None:
        for component in reversed(self._components):
            proc = component.process
            if proc is None or proc.poll() is not None:
                continue
            self.say("up", f"stopping {component.name}")
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=self._grace_s)
            except subprocess.TimeoutExpired:
                self.say("up", f"{component.name} did not stop in {self._grace_s:g}s; killing it")
                _kill_group(proc)
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting politely
                _kill_group(proc)
        for pump in self._pumps:
            pump.join(timeout=2.0)
        self.say("up", "all stopped")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child and whatever it started (its own session: the group id is its pid).

    A component killed this way cannot stop its own children (FFmpeg under the
    transcoder), so they would be left running without it.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
