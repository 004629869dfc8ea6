"""``tubestream``: the one console script, and the edge where settings are read.

Every subcommand builds ``Settings`` from the environment, then calls into
the room that does the work; errors of any room end as one line on stderr
and a non-zero exit code, never a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from deploy.errors import DeployError
from deploy.settings import Settings
from schemas.errors import SchemaError
from topics.errors import LogError
from views.errors import ViewStoreError

__all__ = ["main"]

Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        return handler(args, settings)
    except (DeployError, LogError, SchemaError, ViewStoreError, ValueError, KeyError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"tubestream: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tubestream",
        description="Event-streaming video platform on Kafka. Settings come from TUBESTREAM_* and "
        "KAFKA_BOOTSTRAP (see the README).",
    )
    sub = p.add_subparsers(metavar="COMMAND")

    up = sub.add_parser("up", help="run Kafka, the topics, the worker and the query API in this terminal")
    up.set_defaults(handler=_up)

    kafka = sub.add_parser("kafka", help="the local single-node Kafka broker")
    kafka_sub = kafka.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("fetch", "download the broker from Maven Central into the cache"),
        ("start", "start it in the background (reuses a running one)"),
        ("stop", "stop the broker that `kafka start` started"),
        ("status", "say whether it answers"),
        ("run", "run it in the foreground"),
    ):
        kafka_sub.add_parser(action, help=text).set_defaults(handler=_kafka, action=action)

    topics = sub.add_parser("topics", help="the topic catalogue on the cluster")
    topics_sub = topics.add_subparsers(metavar="ACTION", required=True)
    topics_sub.add_parser("apply", help="create and reconcile every topic").set_defaults(
        handler=_topics_apply
    )
    topics_sub.add_parser("list", help="partitions and end offsets").set_defaults(handler=_topics_list)

    publish = sub.add_parser("publish", help="publish events written as JSON")
    publish.add_argument("event_type", metavar="TYPE", help="e.g. upload-complete")
    publish.add_argument("file", metavar="FILE", help="JSON object, array or JSON lines; - for stdin")
    publish.add_argument("--schema-version", type=int, help="write with an older schema version")
    publish.set_defaults(handler=_publish)

    tail = sub.add_parser("tail", help="print a topic's messages so far as JSON lines")
    tail.add_argument(
        "topic", metavar="TOPIC", help="catalogue name, e.g. playback-event or upload-complete.dlq"
    )
    tail.set_defaults(handler=_tail)

    worker = sub.add_parser("worker", help="run the stream processors (Faust) that build the views")
    worker.add_argument("--loglevel", default="info")
    worker.set_defaults(handler=_worker)

    analytics = sub.add_parser("analytics", help="playback analytics: the worker, and batch recomputation")
    analytics_sub = analytics.add_subparsers(metavar="ACTION", required=True)
    run_worker = analytics_sub.add_parser("run", help="run the real-time worker")
    run_worker.add_argument("--batch-size", type=int, default=2000, help="events per write and commit")
    run_worker.add_argument(
        "--boards-every",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how often the worker holding partition 0 rebuilds the trending boards (default 10)",
    )
    run_worker.set_defaults(handler=_analytics)
    batch = analytics_sub.add_parser("batch", help="recompute from the raw topic; report differences")
    batch.add_argument("--from", dest="start", required=True, help="ISO-8601 time with a zone")
    batch.add_argument("--to", dest="end", required=True, help="ISO-8601 time with a zone")
    batch.add_argument(
        "--source",
        choices=["topic", "archives"],
        default="topic",
        help="raw events from the topic or archives",
    )
    batch.set_defaults(handler=_analytics_batch)
    archive = analytics_sub.add_parser("archive", help="write hourly Avro archives of the raw events")
    archive.add_argument("--lateness-minutes", type=float, default=5.0, help="wait this long after an hour")
    archive.set_defaults(handler=_analytics_archive)

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

    upload = sub.add_parser("upload", help="upload a video file in parallel parts (resumes if interrupted)")
    upload.add_argument("file", metavar="FILE", type=Path)
    upload.add_argument("--title", required=True)
    upload.add_argument("--description", default="")
    upload.add_argument("--tags", default="", help="comma-separated")
    upload.add_argument("--parallel", type=int, default=4, help="parts in flight at once")
    upload.set_defaults(handler=_upload)

    service = sub.add_parser("upload-service", help="run the upload service (pre-signed multipart uploads)")
    service.set_defaults(handler=_upload_service)

    clean = sub.add_parser("uploads-clean", help="abort multipart uploads abandoned for a while")
    clean.add_argument("--older-than-hours", type=float, default=24.0)
    clean.set_defaults(handler=_uploads_clean)

    utoken = sub.add_parser("upload-token", help="issue an uploader token (embedded setup, HS256)")
    utoken.add_argument("uploader", metavar="UPLOADER")
    utoken.set_defaults(handler=_upload_token)

    minio = sub.add_parser("minio", help="a local MinIO (S3) server, built from source")
    minio_sub = minio.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("build", "go install MinIO into the cache (minutes, once)"),
        ("start", "start it in the background"),
        ("stop", "stop it"),
        ("status", "say whether it answers"),
    ):
        minio_sub.add_parser(action, help=text).set_defaults(handler=_minio, action=action)

    api = sub.add_parser("api", help="run the query API")
    api.set_defaults(handler=_api)

    collector = sub.add_parser("collector", help="run the playback collector (players' events)")
    collector.set_defaults(handler=_collector)

    token = sub.add_parser("player-token", help="issue a player token, for trying the collector")
    token.add_argument("viewer", metavar="VIEWER", help="the viewer's id (pseudonymized before Kafka)")
    token.add_argument("--ttl", type=int, default=6 * 3600, help="seconds until it expires")
    token.set_defaults(handler=_player_token)

    catalog = sub.add_parser("catalog", help="the catalog view")
    catalog_sub = catalog.add_subparsers(metavar="ACTION", required=True)
    rebuild = catalog_sub.add_parser("rebuild", help="rebuild the view by replaying its topics from offset 0")
    rebuild.add_argument("--into", metavar="URL", help="store URL to rebuild into (default: the catalog's)")
    rebuild.set_defaults(handler=_catalog_rebuild)
    return p


def _positive_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {raw!r}") from None
    if not 0 < seconds < 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and a day, got {raw!r}")
    return seconds


# -- handlers ------------------------------------------------------------------------------------


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.up import run_platform

    return run_platform(settings)


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.local_kafka import LocalKafka

    if not settings.local_kafka:
        print(f"KAFKA_BOOTSTRAP={settings.kafka.bootstrap}: tubestream does not manage that broker")
        return 0 if args.action == "status" else 1
    kafka = LocalKafka(settings.kafka_home, port=settings.kafka_port)
    if args.action == "fetch":
        kafka.fetch()
        print(f"Kafka is in {kafka.libs}")
    elif args.action == "start":
        started = kafka.start()
        print(f"Kafka {'started' if started else 'already running'} on {kafka.bootstrap}")
    elif args.action == "stop":
        print("Kafka stopped" if kafka.stop() else "no Kafka started by tubestream is running")
    elif args.action == "status":
        status = kafka.status()
        owner = f" (pid {status.pid})" if status.pid else ""
        print(f"Kafka {'answers' if status.running else 'is not running'} on {status.bootstrap}{owner}")
        return 0 if status.running else 3
    elif args.action == "run":
        import os

        command = kafka.prepare()
        os.execvp(command[0], command)
    return 0


def _topics_apply(args: argparse.Namespace, settings: Settings) -> int:
    from topics.admin import apply_topics

    for change in apply_topics(settings.kafka):
        detail = f" ({change.detail})" if change.detail else ""
        print(f"{change.action:>10}  {change.topic}{detail}")
    return 0


def _topics_list(args: argparse.Namespace, settings: Settings) -> int:
    from topics.admin import describe_topics

    print(f"{'topic':<40} {'partitions':>10} {'messages':>10}")
    for state in describe_topics(settings.kafka):
        if not state.exists:
            print(f"{state.topic:<40} {'missing':>10} {'-':>10}")
            continue
        print(f"{state.topic:<40} {state.partitions:>10} {state.messages:>10}")
    return 0


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from producers.event_producer import EventProducer
    from producers.json_publisher import parse_json_documents, publish_json
    from schemas.registry import event_type_named

    event_type = event_type_named(args.event_type)
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    objects = parse_json_documents(text)
    with EventProducer(settings.kafka, client_id="tubestream-publish") as producer:
        ids = publish_json(producer, event_type, objects, version=args.schema_version)
    for event_id in ids:
        print(event_id)
    print(f"published {len(ids)} {event_type.name} event(s)", file=sys.stderr)
    return 0


def _tail(args: argparse.Namespace, settings: Settings) -> int:
    from topics.catalogue import topic_for
    from topics.log import read_to_end
    from topics.tail import record_as_json

    spec = topic_for(args.topic)
    for record in read_to_end(settings.kafka, [settings.kafka.topic(spec.name)]):
        print(json.dumps(record_as_json(record), ensure_ascii=False))
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.worker import build_worker_app, run_worker

    app = build_worker_app(settings.kafka, catalog_url=settings.catalog_url, datadir=settings.home / "faust")
    run_worker(app, loglevel=args.loglevel)


def _analytics(args: argparse.Namespace, settings: Settings) -> int:
    import gc
    import logging
    import signal
    from datetime import timedelta

    from stream_apps.playback_worker import run_playback_worker
    from views.stores import open_playback_store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The fold keeps each distinct event and a state per event as tuples: all tracked by the cyclic
    # GC, none ever in a cycle. At CPython's default thresholds rescanning them cost about a third of
    # the worker's time (benchmarks/playback.py); collecting young objects less often halves that.
    gc.set_threshold(50_000, 20, 10)

    async def main() -> None:
        store = open_playback_store(settings.playback_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"playback analytics: {settings.kafka.topic('playback-event')} → {settings.playback_url}",
            flush=True,
        )
        try:
            await run_playback_worker(
                settings.kafka,
                store,
                stop=stop,
                batch_size=args.batch_size,
                boards_every=timedelta(seconds=args.boards_every),
            )
        finally:
            await store.close()

    asyncio.run(main())
    return 0


def _analytics_batch(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from stream_apps.playback_archive import archive_key, read_archive
    from stream_apps.playback_batch import compare_buckets, recompute, topic_events
    from stream_apps.playback_rows import live_buckets
    from views.stores import open_playback_store

    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (args.start, args.end))
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("--from and --to must be ISO-8601 times with a zone, --from before --to")
    if args.source == "archives":
        from datetime import timedelta

        blobs = _blob_store(settings)
        events = []
        hour = start.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)  # late arrivals
        while hour < end + timedelta(hours=1):
            if blobs.exists(archive_key(hour)):
                events += read_archive(blobs.read_bytes(archive_key(hour)))
            hour += timedelta(hours=1)
    else:
        events = topic_events(settings.kafka)
    batch = recompute(events, start=start, end=end)

    async def read_live() -> Any:
        store = open_playback_store(settings.playback_url)
        try:
            return await store.all_minutes(start=start, end=end)
        finally:
            await store.close()

    differences = compare_buckets(batch, live_buckets(asyncio.run(read_live())))
    recomputed = f"{len(batch)} video-minute(s) recomputed from the topic"
    print(f"{recomputed}; {len(differences)} differ from the live view")
    for d in differences[:50]:
        print(f"  {d.key.video_id} {d.key.minute.isoformat()}: batch={d.batch} live={d.live}")
    return 0 if not differences else 4


def _transcode(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from schemas.transcode_requested import VideoCodec
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
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("transcode", total=100.0)
        result = package_source(
            args.source,
            args.outdir,
            config=config,
            encoder=args.encoder,
            speed=args.speed,
            on_progress=lambda pct: bar.update(task, completed=pct),
        )
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
    blobs = _blob_store(settings)
    where = settings.blob_url or settings.blobs_root
    print(f"transcoder: {settings.kafka.topic('transcode-requested')} with blobs in {where}", flush=True)
    options = WorkerOptions(encoder=args.encoder, speed=args.speed, workdir=settings.home / "work")
    (settings.home / "work").mkdir(parents=True, exist_ok=True)
    run_transcode_worker(settings.kafka, blobs, stop=stop, options=options)
    return 0


def _blob_store(settings: Settings) -> Any:
    """The blob store the settings name; the local one signs URLs for the upload service."""
    from blobs.signed_urls import UrlSigner
    from blobs.stores import open_blob_store
    from deploy.secrets import local_secret

    secret = local_secret(settings.home, "blob-urls").encode()
    url = settings.blob_url or f"file://{settings.blobs_root}"
    return open_blob_store(
        url,
        signer=UrlSigner(secret, settings.upload_service_url),
        s3_access_key=settings.s3_access_key,
        s3_secret_key=settings.s3_secret_key,
    )


def _uploader_auth(settings: Settings) -> Any:
    from deploy.secrets import local_secret
    from producers.uploader_auth import UploaderAuth

    if settings.upload_jwt_public_key:
        return UploaderAuth(rs256_public_key=settings.upload_jwt_public_key)
    return UploaderAuth(
        hs256_secret=local_secret(settings.home, "upload-jwt", configured=settings.upload_jwt_secret)
    )


def _upload(args: argparse.Namespace, settings: Settings) -> int:
    import getpass
    import os

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from producers.upload_client import UploadError, upload_file

    token = os.environ.get("TUBESTREAM_UPLOAD_TOKEN") or _uploader_auth(settings).issue(getpass.getuser())
    with Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("upload", total=args.file.stat().st_size)
        try:
            outcome = asyncio.run(
                upload_file(
                    args.file,
                    service_url=settings.upload_service_url,
                    token=token,
                    title=args.title,
                    description=args.description,
                    tags=[t.strip() for t in args.tags.split(",") if t.strip()],
                    state_dir=settings.home / "uploads",
                    concurrency=args.parallel,
                    on_progress=lambda done, total: bar.update(task, completed=done),
                )
            )
        except UploadError as exc:
            raise ValueError(str(exc)) from exc
    if outcome.resumed:
        print("resumed an interrupted upload", file=sys.stderr)
    print(outcome.video_id)
    return 0


def _upload_service(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from producers.upload_server import run
    from producers.upload_tickets import TicketSigner

    run(
        kafka=settings.kafka,
        blobs=_blob_store(settings),
        auth=_uploader_auth(settings),
        tickets=TicketSigner(local_secret(settings.home, "upload-tickets")),
        host=settings.api_host,
        port=settings.upload_port,
        max_bytes=settings.upload_max_bytes,
    )
    return 0


def _uploads_clean(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime, timedelta

    blobs = _blob_store(settings)
    cutoff = datetime.now(UTC) - timedelta(hours=args.older_than_hours)
    abandoned = blobs.open_uploads(started_before=cutoff)
    for key, upload_id in abandoned:
        blobs.abort_multipart(key, upload_id)
    print(f"aborted {len(abandoned)} upload(s) started before {cutoff.isoformat(timespec='seconds')}")
    return 0


def _upload_token(args: argparse.Namespace, settings: Settings) -> int:
    print(_uploader_auth(settings).issue(args.uploader))
    return 0


def _minio(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.local_minio import LocalMinio

    minio = LocalMinio(settings.home / "minio")
    if args.action == "build":
        minio.build()
        print(f"MinIO is in {minio.binary}")
    elif args.action == "start":
        started = minio.start()
        creds = minio.credentials
        print(f"MinIO {'started' if started else 'already running'} on {minio.endpoint}")
        print(f"  TUBESTREAM_BLOB_URL='s3://tubestream?endpoint={minio.endpoint}'")
        print(f"  TUBESTREAM_S3_ACCESS_KEY={creds.access_key} TUBESTREAM_S3_SECRET_KEY={creds.secret_key}")
    elif args.action == "stop":
        print("MinIO stopped" if minio.stop() else "no MinIO started by tubestream is running")
    else:
        print(f"MinIO {'answers' if minio.healthy() else 'is not running'} on {minio.endpoint}")
        return 0 if minio.healthy() else 3
    return 0


def _analytics_archive(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime, timedelta

    from stream_apps.playback_archive import archive_key, archive_ready, events_by_hour, write_archive
    from stream_apps.playback_batch import topic_events

    blobs = _blob_store(settings)
    now, lateness = datetime.now(UTC), timedelta(minutes=args.lateness_minutes)
    written = waiting = 0
    for hour, events in events_by_hour(topic_events(settings.kafka)).items():
        if not archive_ready(hour, now=now, lateness=lateness):
            waiting += 1
            continue
        blobs.put_bytes(archive_key(hour), write_archive(events), content_type="avro/binary")
        written += 1
        print(f"{archive_key(hour)}: {len(events)} event(s)")
    print(f"{written} hour(s) archived; {waiting} not over yet")
    return 0


def _api(args: argparse.Namespace, settings: Settings) -> int:
    from query_api.server import run

    run(
        catalog_url=settings.catalog_url,
        playback_url=settings.playback_url,
        media=_blob_store(settings),
        host=settings.api_host,
        port=settings.api_port,
    )
    return 0


def _collector(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from producers.collector_server import run

    run(
        kafka=settings.kafka,
        host=settings.api_host,
        port=settings.collector_port,
        token_secret=local_secret(settings.home, "player-token", configured=settings.player_token_secret),
        pseudonym_key=local_secret(settings.home, "pseudonym", configured=settings.pseudonym_key).encode(),
    )
    return 0


def _player_token(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.secrets import local_secret
    from producers.player_tokens import PlayerTokens

    secret = local_secret(settings.home, "player-token", configured=settings.player_token_secret)
    print(PlayerTokens(secret).issue(args.viewer, ttl_s=args.ttl))
    return 0


def _catalog_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from stream_apps.catalog_rebuild import rebuild_catalog
    from views.stores import open_catalog_store

    url = args.into or settings.catalog_url

    async def rebuild() -> Any:
        store = open_catalog_store(url)
        try:
            return await rebuild_catalog(settings.kafka, store)
        finally:
            await store.close()

    report = asyncio.run(rebuild())
    print(
        f"replayed {report.messages} message(s), {report.rejected} rejected; "
        f"{report.videos} video(s) in {url}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
