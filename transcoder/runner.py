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
    stderr: deque[str] = deque(maxlen=STDERR_LINES)
    parser = ProgressParser(duration_s)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        errors = proc.stderr
        drain = threading.Thread(target=lambda: stderr.extend(errors), daemon=True)
        drain.start()
        if cancel is not None:
            threading.Thread(target=_kill_on, args=(cancel, proc), daemon=True).start()
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
