"""``tubestream transcode`` (a local file, no Kafka) and ``tubestream transcoder`` (the Kafka worker)."""

from __future__ import annotations

import argparse
from pathlib import Path

from deploy.blob_store import blob_store_for
from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    transcode = sub.add_parser(
        "transcode", help="transcode a file into a folder (HLS + DASH), no Kafka needed"
    )
    transcode.add_argument("source", metavar="SOURCE", type=Path)
    transcode.add_argument("outdir", metavar="OUTDIR", type=Path)
    transcode.add_argument("--codecs", default="h264", help="comma-separated: h264,h265,vp9,av1")
    transcode.add_argument("--max-height", type=int, default=2160, help="tallest rung, on the short side")
    transcode.add_argument("--segment", type=float, default=4.0, help="segment duration in seconds")
    transcode.add_argument("--encoder", default="auto", help="auto (GPU if it works), cpu, gpu")
    transcode.add_argument("--speed", choices=["fast", "balanced"], default="balanced")
    transcode.set_defaults(handler=_transcode)

    tworker = sub.add_parser("transcoder", help="run a transcoder worker (consumes transcode-requested)")
    tworker.add_argument("--encoder", default="auto", help="auto (GPU if it works), cpu, gpu")
    tworker.add_argument("--speed", choices=["fast", "balanced"], default="balanced")
    tworker.set_defaults(handler=_transcoder)


def _transcode(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from schemas.transcode_requested import VideoCodec
    from transcoder.errors import SourceError
    from transcoder.ladder import LadderConfig
    from transcoder.package import package_source

    try:
        codecs = tuple(VideoCodec(c.strip().upper()) for c in args.codecs.split(",") if c.strip())
    except ValueError:
        raise ValueError(f"--codecs: choose from h264, h265, vp9, av1; got {args.codecs!r}") from None
    config = LadderConfig(codecs=codecs, max_height=args.max_height, segment_duration_s=args.segment)
    columns = (
        TextColumn("transcoding"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
    )
    bar = Progress(*columns, console=Console(stderr=True))
    task = bar.add_task("transcode", total=100.0)

    def on_progress(pct: float) -> None:
        if not bar.live.is_started:  # shown once FFmpeg runs: a source refused by the probe prints one line
            bar.start()
        bar.update(task, completed=pct)

    try:
        result = package_source(
            args.source,
            args.outdir,
            config=config,
            encoder=args.encoder,
            speed=args.speed,
            on_progress=on_progress,
        )
    except SourceError as exc:  # the refusal leaves out the path (a server's own); here it is the user's
        raise SourceError(f"{args.source}: {exc.reason}", detail=exc.detail) from exc
    finally:
        bar.stop()
    for r in result.renditions:
        size = f"{r.rung.width}x{r.rung.height}"
        print(f"{r.rung.name:>12}  {size:>9}  {r.encoder:<11} {r.average_bps / 1000:8.0f} kb/s")
    print(f"HLS:  {args.outdir / result.hls_master}")
    print(f"DASH: {args.outdir / result.dash_manifest}")
    return 0


def _transcoder(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import signal
    import threading

    from transcoder.worker import WorkerOptions, run_transcode_worker

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    blobs = blob_store_for(settings)
    where = settings.blob_url or settings.blobs_root
    print(f"transcoder: {settings.kafka.topic('transcode-requested')} with blobs in {where}", flush=True)
    options = WorkerOptions(encoder=args.encoder, speed=args.speed, workdir=settings.home / "work")
    (settings.home / "work").mkdir(parents=True, exist_ok=True)
    run_transcode_worker(settings.kafka, blobs, stop=stop, options=options)
    return 0
