"""The one place that runs FFmpeg: progress out, stderr kept for the error, cancellable, a deadline.

Progress arrives as FFmpeg writes it: one ``-progress`` block every
``stats_period`` (0.5 s by default), so the callback is called at most twice
a second; a worker that publishes events throttles further on its own clock.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from transcoder.errors import DeadlineError, FfmpegError, JobCancelledError
from transcoder.progress import ProgressParser

__all__ = ["FfmpegRun", "run_ffmpeg"]

log = logging.getLogger(__name__)

STDERR_LINES = 30
STDERR_CHARS = 2000


@dataclass(frozen=True, kw_only=True)
class FfmpegRun:
    """What a successful run says about itself: how far the output got, and what FFmpeg complained of."""

    encoded_s: float  # the furthest ``out_time`` of any output (an image output may end past the video)
    stderr_tail: str  # non-empty even on success when the input had errors (a truncated file)


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    deadline_s: float | None = None,
    what: str = "ffmpeg",
) -> FfmpegRun:
    """Run ``ffmpeg *args`` (which must include ``-progress pipe:1``).

    ``FfmpegError`` with the tail of stderr if it exits non-zero,
    ``JobCancelledError`` if ``cancel`` was set, ``DeadlineError`` if it
    was still running ``deadline_s`` seconds after its start (killed in
    both cases: a stalled input or a source built to be slow holds no worker).
    """
    command = ["ffmpeg", "-hide_banner", *args]
    log.debug("%s: %s", what, shlex.join(command))
    stderr: deque[str] = deque(maxlen=STDERR_LINES)
    parser = ProgressParser(duration_s)
    try:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
    except OSError as exc:  # no ffmpeg on PATH, or not executable
        raise FfmpegError(f"{what} could not start", returncode=-1, stderr_tail=str(exc)) from exc
    with proc:
        assert proc.stdout is not None and proc.stderr is not None
        errors = proc.stderr
        drain = threading.Thread(target=lambda: stderr.extend(errors), daemon=True)
        drain.start()
        overdue = threading.Event()
        deadline = None if deadline_s is None else time.monotonic() + deadline_s
        if cancel is not None or deadline is not None:
            stop = cancel or threading.Event()
            threading.Thread(target=_kill_on, args=(stop, deadline, overdue, proc), daemon=True).start()
        for line in proc.stdout:
            percent = parser.feed(line)
            if percent is not None and on_progress is not None:
                on_progress(percent)
        returncode = proc.wait()
        drain.join(timeout=5)
    tail = " | ".join(line.strip() for line in stderr if line.strip())[-STDERR_CHARS:]
    if cancel is not None and cancel.is_set():
        raise JobCancelledError(f"{what} was cancelled")
    if overdue.is_set():
        raise DeadlineError(f"{what} ran past its deadline of {deadline_s:g} s")
    if returncode != 0:
        raise FfmpegError(f"{what} failed", returncode=returncode, stderr_tail=tail)
    return FfmpegRun(encoded_s=parser.out_time_s, stderr_tail=tail)


def _kill_on(
    cancel: threading.Event, deadline: float | None, overdue: threading.Event, proc: subprocess.Popen[str]
) -> None:
    while proc.poll() is None:
        if cancel.wait(0.2):
            proc.kill()
            return
        if deadline is not None and time.monotonic() > deadline:
            overdue.set()
            proc.kill()
            return
