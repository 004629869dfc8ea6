"""Benchmark: time to first playable of a progressive transcode job, against the whole ladder.

    python benchmarks/first_playable.py [--height 1080] [--duration 60] [--repeat 3] [--speed balanced]

On one generated source (FFmpeg's testsrc2 + a tone, encoded as an upload would be) and the
ladder the planner gives it, runs ``run_job`` against a local blob store, from job start
(the source is in the store) to:
  first  the progressive job's first ``on_playable``: the lowest rung, its audio and a master
         listing it are stored (what the worker announces with the first ``rendition-ready``)
  full   the progressive job's end: every rung stored, the master grown to the whole ladder
  single the one-process job (``progressive=False``) that publishes everything at its end
in interleaved rounds, the order rotated, and prints the medians and the ratios first/full
(goal <= 0.35), first/single (what a viewer waits, against before) and full/single (what the
second decode of the source costs): the ratio of the medians, and the median of each round's
ratio, which moves less when the load of a shared machine changes between rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from blobs.local import LocalBlobStore
from transcoder.job import JobResult, run_job
from transcoder.ladder import plan_ladder
from transcoder.probe import probe_source
from transcoder.profiles import Speed

SOURCE_KEY = "uploads/bench/source.mp4"


def make_source(path: Path, *, height: int, duration: float) -> None:
    width = height * 16 // 9 // 2 * 2
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=30:duration={duration}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip


def timed_job(
    blobs: LocalBlobStore, work: Path, job_id: str, *, speed: Speed, progressive: bool
) -> dict[str, float]:
    """Seconds from job start to the first playable master (progressive only) and to the job's end."""
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def playable(_: JobResult) -> None:
        marks.setdefault("first", time.perf_counter() - started)

    run_job(
        video_id="bench",
        job_id=job_id,
        source_key=SOURCE_KEY,
        blobs=blobs,
        encoder="cpu",
        speed=speed,
        workdir=work,
        progressive=progressive,
        on_playable=playable,
    )
    marks["full"] = time.perf_counter() - started
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--speed", choices=["fast", "balanced"], default="balanced")
    args = parser.parse_args()
    speed: Speed = args.speed

    with tempfile.TemporaryDirectory(prefix="tubestream-bench-") as tmp:
        work = Path(tmp)
        source = work / "source.mp4"
        make_source(source, height=args.height, duration=args.duration)
        probed = probe_source(source)
        blobs = LocalBlobStore(work / "blobs")
        blobs.put_file(SOURCE_KEY, source)
        ladder = ", ".join(r.name for r in plan_ladder(probed))
        print(
            f"source {probed.width}x{probed.height} {probed.duration_s:.0f}s; ladder {ladder}; speed {speed}"
        )

        first: list[float] = []
        full: list[float] = []
        single: list[float] = []

        def progressive_job() -> None:
            marks = timed_job(blobs, work, "progressive", speed=speed, progressive=True)
            first.append(marks["first"])
            full.append(marks["full"])

        def single_job() -> None:
            single.append(timed_job(blobs, work, "single", speed=speed, progressive=False)["full"])

        jobs: list[Callable[[], None]] = [progressive_job, single_job]
        for round_ in range(args.repeat):
            for job in jobs[round_ % 2 :] + jobs[: round_ % 2]:  # interleaved, the order rotated
                job()
            print(
                f"round {round_ + 1}: first playable {first[-1]:.2f}s, full ladder {full[-1]:.2f}s, "
                f"one-process job {single[-1]:.2f}s; first/full {first[-1] / full[-1]:.3f}",
                flush=True,
            )
        m_first, m_full, m_single = (statistics.median(v) for v in (first, full, single))
        print(f"median  first playable (progressive)  {m_first:7.2f}s")
        print(f"median  full ladder (progressive)     {m_full:7.2f}s")
        print(f"median  one-process job (before)      {m_single:7.2f}s")
        rounds = list(zip(first, full, single, strict=True))
        for name, a, b, ratio, note in (
            ("first/full  ", m_first, m_full, [f / u for f, u, _ in rounds], "goal <= 0.35"),
            (
                "first/single",
                m_first,
                m_single,
                [f / s for f, _, s in rounds],
                "a viewer's wait, against before",
            ),
            (
                "full/single ",
                m_full,
                m_single,
                [u / s for _, u, s in rounds],
                "the cost of the second decode",
            ),
        ):
            print(
                f"{name} = {a / b:.3f} of the medians, "
                f"{statistics.median(ratio):.3f} median per round  ({note})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
