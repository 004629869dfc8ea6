"""Benchmark: tubestream's one-process ladder job against two ways of doing the same work.

    python benchmarks/transcode.py [--height 1080] [--duration 10] [--repeat 3] [--speed balanced]

On one generated source (FFmpeg's testsrc2 + a tone) and one ladder, times:
  x  tubestream: ``package_source`` (one decode, every rung, CMAF + MPD + HLS, poster, storyboard)
  a  the plain single FFmpeg command for the same encodes, into MP4 files, nothing else
  b  one FFmpeg process per rendition, one after the other (how PeerTube encodes)
and prints the medians and the ratios x/a (goal <= 1.05) and x/b (goal <= 0.85).
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

import ffmpeg

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


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


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

        runs: dict[str, list[float]] = {"x": [], "a": [], "b": []}
        for round_ in range(args.repeat):
            for name, job in (("x", ours), ("a", plain), ("b", separate)):  # interleaved: noise hits all
                runs[name].append(timed(job))
            print(
                f"round {round_ + 1}: " + "  ".join(f"{k}={v[-1]:.2f}s" for k, v in runs.items()), flush=True
            )
        x, a, b = (statistics.median(runs[k]) for k in ("x", "a", "b"))
        print(f"median  x (tubestream, packaged + thumbnails) {x:.2f}s")
        print(f"median  a (plain single ffmpeg)               {a:.2f}s")
        print(f"median  b (one ffmpeg per rendition)          {b:.2f}s")
        print(f"x/a = {x / a:.3f}  (goal <= 1.05)")
        print(f"x/b = {x / b:.3f}  (goal <= 0.85)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
