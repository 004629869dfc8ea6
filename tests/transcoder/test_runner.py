"""The runner on real FFmpeg processes: progress, the stderr tail on failure, cancellation."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from transcoder.errors import DeadlineError, FfmpegError, JobCancelledError
from transcoder.runner import run_ffmpeg

PROGRESS = ["-nostats", "-progress", "pipe:1", "-loglevel", "error"]


def test_progress_rises_to_100_and_the_run_says_how_far_it_got() -> None:
    seen: list[float] = []
    run = run_ffmpeg(
        [*PROGRESS, "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=2", "-f", "null", "-"],
        duration_s=2.0,
        on_progress=seen.append,
    )
    assert seen[-1] == 100.0 and seen == sorted(seen)
    assert run.encoded_s == pytest.approx(2.0, abs=0.1)
    assert run.stderr_tail == ""


def test_a_failure_carries_ffmpegs_own_words(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    with pytest.raises(FfmpegError, match="No such file or directory") as caught:
        run_ffmpeg([*PROGRESS, "-i", str(missing), "-f", "null", "-"], duration_s=1.0, what="the test encode")
    assert caught.value.returncode != 0
    assert str(missing) in caught.value.stderr_tail
    assert str(caught.value).startswith("the test encode failed (exit ")


def test_an_unknown_encoder_is_an_ffmpeg_error() -> None:
    args = [
        *PROGRESS,
        "-f",
        "lavfi",
        "-i",
        "testsrc2=duration=0.1",
        "-c:v",
        "no_such_encoder",
        "-f",
        "null",
        "-",
    ]
    with pytest.raises(FfmpegError, match="no_such_encoder"):
        run_ffmpeg(args, duration_s=0.1)


def test_cancelling_kills_the_process_promptly() -> None:
    cancel = threading.Event()
    seen: list[float] = []

    def on_progress(percent: float) -> None:
        seen.append(percent)
        cancel.set()  # stop at the first progress block

    endless = [*PROGRESS, "-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-f", "null", "-"]
    with pytest.raises(JobCancelledError):
        run_ffmpeg(endless, duration_s=60.0, on_progress=on_progress, cancel=cancel)
    assert seen and seen[-1] < 100


def test_no_ffmpeg_on_the_path_is_an_ffmpeg_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(FfmpegError, match="could not start"):
        run_ffmpeg(["-version"], duration_s=1.0)


def test_a_run_past_its_deadline_is_killed() -> None:
    endless = [*PROGRESS, "-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-f", "null", "-"]
    started = time.monotonic()
    with pytest.raises(DeadlineError, match="the test encode ran past its deadline of 1 s"):
        run_ffmpeg(endless, duration_s=60.0, deadline_s=1, what="the test encode")
    assert time.monotonic() - started < 10
