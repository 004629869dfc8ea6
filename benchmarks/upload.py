"""Benchmark: ``tubestream upload`` against raw boto3 ``upload_file`` of the same file to the same MinIO.

    python benchmarks/upload.py [--size-mib 512] [--repeat 3] [--parallel 4]

Starts (or reuses) the project's MinIO and Kafka, runs the upload service in
this process against MinIO, makes one file (a real MP4 followed by random
bytes, so the service's probe accepts it), then in interleaved rounds times
  x  tubestream: create → pre-signed parts PUT in parallel → complete (checks, probe, upload-complete)
  a  boto3's managed transfer (``upload_file``, multipart, 10 threads)
and prints median throughputs and x/a (goal >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import boto3
from aiohttp import web
from botocore.client import Config

from blobs.s3 import S3BlobStore
from deploy.local_kafka import LocalKafka
from deploy.local_minio import LocalMinio
from deploy.settings import Settings
from producers.uploads.app import create_upload_app
from producers.uploads.auth import UploaderAuth
from producers.uploads.client import upload_file
from producers.uploads.tickets import TicketSigner
from topics.admin import apply_topics
from topics.async_producer import AsyncEventProducer
from topics.config import KafkaConfig

MiB = 1024 * 1024


def make_file(path: Path, size_mib: int) -> None:
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", str(path),
        ],
        check=True,
    )  # fmt: skip
    with path.open("ab") as out:
        for _ in range(size_mib):
            out.write(os.urandom(MiB))


async def main_async(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    minio = LocalMinio(settings.home / "minio", port=19900)
    minio.start()
    kafka_server = LocalKafka(settings.kafka_home, port=settings.kafka_port)
    kafka_server.start()
    kafka = KafkaConfig(bootstrap=kafka_server.bootstrap, namespace=f"bench-{uuid.uuid4().hex[:6]}-")
    apply_topics(kafka)
    bucket = f"bench{uuid.uuid4().hex[:8]}"
    creds = minio.credentials
    store = S3BlobStore(
        bucket=bucket, endpoint=minio.endpoint, access_key=creds.access_key, secret_key=creds.secret_key
    )
    store.ensure_bucket()
    auth = UploaderAuth(hs256_secret="benchmark-secret-of-32-bytes-or-more")
    producer = AsyncEventProducer(kafka)
    app = create_upload_app(blobs=store, auth=auth, tickets=TicketSigner("t" * 32), producer=producer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 18982)
    await site.start()
    s3 = boto3.client(
        "s3",
        endpoint_url=minio.endpoint,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        region_name="us-east-1",
    )
    with tempfile.TemporaryDirectory(prefix="tubestream-bench-") as tmp:
        source = Path(tmp) / "video.mp4"
        make_file(source, args.size_mib)
        size = source.stat().st_size
        print(f"file {size / MiB:.0f} MiB on MinIO {minio.endpoint}; {args.parallel} parts in flight")
        runs: dict[str, list[float]] = {"x": [], "a": []}
        for round_ in range(args.repeat):
            started = time.perf_counter()
            await upload_file(
                source,
                service_url="http://127.0.0.1:18982",
                token=auth.issue("bench"),
                title="benchmark",
                state_dir=Path(tmp) / "state",
                concurrency=args.parallel,
            )
            runs["x"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await asyncio.to_thread(s3.upload_file, str(source), bucket, f"boto3/{round_}")
            runs["a"].append(time.perf_counter() - started)
            print(f"round {round_ + 1}: x={runs['x'][-1]:.2f}s  a={runs['a'][-1]:.2f}s", flush=True)
        x, a = statistics.median(runs["x"]), statistics.median(runs["a"])
        print(f"median  x (tubestream upload)   {x:.2f}s  {size / MiB / x:7.1f} MiB/s")
        print(f"median  a (boto3 upload_file)   {a:.2f}s  {size / MiB / a:7.1f} MiB/s")
        print(f"throughput x/a = {a / x:.3f}  (goal >= 0.8)")
    await runner.cleanup()
    await producer.close()
    minio.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=4)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
