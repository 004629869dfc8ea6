"""``tubestream up``, and the local servers: ``kafka``, ``minio`` and ``cassandra`` (for the views)."""

from __future__ import annotations

import argparse

from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    up = sub.add_parser("up", help="run Kafka, the topics, the worker and the query API in this terminal")
    up.add_argument(
        "--distributed",
        action="store_true",
        help="as a cluster: views on Cassandra, search on Elasticsearch, blobs on MinIO (started here "
        "unless the settings name one), and every process in replicas sharing the work",
    )
    up.add_argument(
        "--replicas", type=_replicas, default=2, metavar="N", help="with --distributed: copies of each kind"
    )
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

    minio = sub.add_parser("minio", help="a local MinIO (S3) server, built from source")
    minio_sub = minio.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("build", "go install MinIO into the cache (minutes, once)"),
        ("start", "start it in the background"),
        ("stop", "stop it"),
        ("status", "say whether it answers"),
    ):
        minio_sub.add_parser(action, help=text).set_defaults(handler=_minio, action=action)

    cassandra = sub.add_parser("cassandra", help="a local single-node Cassandra for the views")
    cassandra_sub = cassandra.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("fetch", "download the server from Maven Central into the cache"),
        ("start", "start it in the background (reuses a running one)"),
        ("stop", "stop the node that `cassandra start` started"),
        ("status", "say whether it answers"),
    ):
        cassandra_sub.add_parser(action, help=text).set_defaults(handler=_cassandra, action=action)


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.up import run_platform

    if args.replicas != 2 and not args.distributed:
        raise ValueError("--replicas goes with --distributed")
    return run_platform(settings, distributed=args.distributed, replicas=args.replicas)


def _replicas(raw: str) -> int:
    if not raw.isdecimal() or not 1 <= int(raw) <= 9:
        raise argparse.ArgumentTypeError(f"expected a number of replicas from 1 to 9, got {raw!r}")
    return int(raw)


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


def _minio(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.local_minio import LocalMinio

    minio = LocalMinio(settings.home / "minio", port=settings.minio_port)
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


def _cassandra(args: argparse.Namespace, settings: Settings) -> int:
    from deploy.local_cassandra import LocalCassandra

    node = LocalCassandra(
        settings.cassandra_home,
        native_port=settings.cassandra_port,
        storage_port=settings.cassandra_storage_port,
        jmx_port=settings.cassandra_jmx_port,
    )
    if args.action == "fetch":
        node.fetch()
        print(f"Cassandra is in {node.lib}")
    elif args.action == "start":
        started = node.start()
        print(f"Cassandra {'started' if started else 'already running'} on {node.contact_point}")
        print(f"  TUBESTREAM_CATALOG_URL='{node.url('tubestream')}'")
        print(f"  TUBESTREAM_PLAYBACK_URL='{node.url('tubestream')}'")
        print("  then: tubestream views migrate")
    elif args.action == "stop":
        print("Cassandra stopped" if node.stop() else "no Cassandra started by tubestream is running")
    else:
        status = node.status()
        owner = f" (pid {status.pid})" if status.pid else ""
        state = "answers" if status.running else "is not running"
        print(f"Cassandra {state} on {status.contact_point}{owner}")
        return 0 if status.running else 3
    return 0
