"""Benchmark: tubestream's one-process ladder job against two ways of doing the same work.

    python benchmarks/transcode.py [--height 1080] [--duration 10] [--repeat 3] [--speed balanced]

On one generated source (FFmpeg's testsrc2 + a tone) and one ladder, times:
  x  tubestream: ``package_source`` (one decode, every rung, CMAF + MPD + HLS, poster, storyboard)
  a  the plain single FFmpeg command for the same encodes, into MP4 files, nothing else
  b  one FFmpeg process per rendition, one after the other (how PeerTube encodes)
and prints the medians and the ratios x/a (goal <= 1.05) and x/b (goal <= 0.85), in wall-clock
time and in CPU time (user + system of this process and its FFmpeg children): on a shared machine
the CPU figures move less when something else runs at the same time.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ffmpeg

from deploy.capacity.rates import record_rate
from deploy.settings import Settings
from transcoder.command import PackagingPlan, build_plain_command
from transcoder.encoders import choose_encoder
from transcoder.ladder import LadderConfig, plan_ladder
from transcoder.package import package_source
from transcoder.probe import probe_source
from transcoder.profiles import Speed, audio_options, video_options


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


def per_rendition_commands(source: Path, out: Path, plan: PackagingPlan) -> list[list[str]]:
    commands = []
    for index, rung in enumerate(plan.rungs):
        gop = round(plan.segment_duration_s * rung.frame_rate)
        src = ffmpeg.input(str(source))
        video = src.video.filter("fps", fps=rung.frame_rate).filter("scale", rung.width, rung.height)
        opts = video_options(
            plan.encoders[index], 0, bitrate_kbps=rung.bitrate_kbps, gop_frames=gop, speed=plan.speed
        )
        streams = [video, src.audio] if index == 0 and plan.has_audio else [video]
        extra = audio_options() if index == 0 and plan.has_audio else {}
        output = ffmpeg.output(*streams, str(out / f"rung-{index}.mp4"), **opts, **extra)
        commands.append(list(output.global_args("-loglevel", "error").overwrite_output().get_args()))
    return commands


def cpu_seconds() -> float:
    """User + system time of this process and of every child it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run."""
    started, cpu = time.perf_counter(), cpu_seconds()
    run()
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--speed", choices=["fast", "balanced"], default="balanced")
    args = parser.parse_args()
    speed: Speed = args.speed

    with tempfile.TemporaryDirectory(prefix="tubestream-bench-") as tmp:
        work = Path(tmp)
        source = work / "source.mp4"
        make_source(source, height=args.height, duration=args.duration)
        probed = probe_source(source)
        config = LadderConfig()
        rungs = plan_ladder(probed, config)
        plan = PackagingPlan(
            rungs=rungs,
            encoders=tuple(choose_encoder(r.codec, "cpu") for r in rungs),
            has_audio=probed.has_audio,
            segment_duration_s=config.segment_duration_s,
            speed=speed,
            display_width=probed.width,
            display_height=probed.height,
            source_format=probed.demuxer,
        )
        ladder = ", ".join(f"{r.name} {r.bitrate_kbps}k" for r in rungs)
        print(
            f"source {probed.width}x{probed.height} {probed.duration_s:.0f}s; ladder {ladder}; speed {speed}"
        )

        def ours() -> None:
            package_source(source, work / "x", config=config, encoder="cpu", speed=speed)

        def plain() -> None:
            (work / "a").mkdir(exist_ok=True)
            subprocess.run(["ffmpeg", "-hide_banner", *build_plain_command(source, work / "a", plan)],
                           check=True, capture_output=True)  # fmt: skip

        def separate() -> None:
            (work / "b").mkdir(exist_ok=True)
            for command in per_rendition_commands(source, work / "b", plan):
                subprocess.run(["ffmpeg", "-hide_banner", *command], check=True)

        runs: dict[str, list[tuple[float, float]]] = {"x": [], "a": [], "b": []}
        for round_ in range(args.repeat):
            jobs = [("x", ours), ("a", plain), ("b", separate)]
            for name, job in jobs[round_ % 3 :] + jobs[: round_ % 3]:  # interleaved, the order rotated
                runs[name].append(timed(job))
            print(
                f"round {round_ + 1}: "
                + "  ".join(f"{k}={v[-1][0]:.2f}s (cpu {v[-1][1]:.2f}s)" for k, v in runs.items()),
                flush=True,
            )
        wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
        labels = {
            "x": "x (tubestream, packaged + thumbnails)",
            "a": "a (plain single ffmpeg)",
            "b": "b (one ffmpeg per rendition)",
        }
        for key, label in labels.items():
            print(f"median  {label:<38} {wall[key]:6.2f}s wall  {cpu[key]:6.2f}s cpu")
        print(f"x/a = {wall['x'] / wall['a']:.3f} wall, {cpu['x'] / cpu['a']:.3f} cpu  (goal <= 1.05)")
        print(f"x/b = {wall['x'] / wall['b']:.3f} wall, {cpu['x'] / cpu['b']:.3f} cpu  (goal <= 0.85)")
        if args.height == 1080 and speed == "balanced":  # the ladder the planner's rate stands for
            rates_file = Settings.from_env().home / "capacity" / "rates.json"
            command = f"python benchmarks/transcode.py --height 1080 --duration {args.duration:g}"
            record_rate(rates_file, "transcode_cpu_s_per_source_s", cpu["x"] / args.duration, command)
            print(f"rate for tubestream estimate recorded in {rates_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
