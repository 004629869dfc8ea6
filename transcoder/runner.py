"""The one place that runs FFmpeg: progress out, stderr kept for the error, cancellable."""

from __future__ import annotations

import subprocess
import threading
from collections import deque
from collections.abc import Callable, Sequence

from transcoder.errors import FfmpegError, JobCancelledError
from transcoder.progress import ProgressParser

__all__ = ["run_ffmpeg"]

STDERR_LINES = 30


def run_ffmpeg(
    args: Sequence[str],
    *,
    duration_s: float,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ``ffmpeg *args``; ``FfmpegError`` with the tail of stderr if it fails."""
    command = ["ffmpeg", "-hide_banner", *args]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    stderr: deque[str] = deque(maxlen=STDERR_LINES)
    assert proc.stdout is not None and proc.stderr is not None
    drain = threading.Thread(target=lambda: stderr.extend(proc.stderr or ()), daemon=True)
    drain.start()
    watcher = None
    if cancel is not None:
        watcher = threading.Thread(target=_kill_on, args=(cancel, proc), daemon=True)
        watcher.start()
    parser = ProgressParser(duration_s)
    for line in proc.stdout:
        percent = parser.feed(line)
        if percent is not None and on_progress is not None:
            on_progress(percent)
    returncode = proc.wait()
    drain.join(timeout=5)
    if cancel is not None and cancel.is_set():
        raise JobCancelledError(f"{what} was cancelled")
    if returncode != 0:
        tail = " | ".join(line.strip() for line in stderr if line.strip())
        raise FfmpegError(f"{what} failed", returncode=returncode, stderr_tail=tail[-2000:])


def _kill_on(cancel: threading.Event, proc: subprocess.Popen[str]) -> None:
    while proc.poll() is None:
        if cancel.wait(0.2):
            proc.kill()
            return
