"""``tubestream up``: the whole platform in one terminal, embedded or as a cluster on one machine.

Kafka first (reused when one already answers, skipped when
``KAFKA_BOOTSTRAP`` points elsewhere), then the topics, then the processes
as children of one ``Supervisor``.

``--distributed`` runs the platform as it runs across machines: the views on
Cassandra, search on Elasticsearch, blobs on S3 (MinIO), each started here
once unless the settings already point at one, and every process kind in
replicas (two by default) that share the work: the stateless services on
ports of their own, the workers as members of their consumer groups. The
replicas' environment names the backends by URL, exactly as a process on
another machine would be configured; ``cluster_components`` builds it, a
pure function the tests run the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from deploy.local_cassandra import LocalCassandra
from deploy.local_elasticsearch import LocalElasticsearch
from deploy.local_kafka import LocalKafka
from deploy.local_minio import LocalMinio
from deploy.settings import Settings
from deploy.supervisor import Component, Supervisor
from topics.admin import apply_topics, wait_for_broker

__all__ = [
    "BLOB_BUCKET",
    "KEYSPACE",
    "REPLICA_PORT_STEP",
    "RESTART_AFTER_S",
    "Backends",
    "cluster_components",
    "replica_port",
    "run_platform",
]

KEYSPACE = "tubestream"  # the local Cassandra's keyspace for both views
BLOB_BUCKET = "tubestream"  # the local MinIO's bucket
REPLICA_PORT_STEP = 10  # replica i of a service listens on its port + 10 * i: 8080, 8090, ...
# A process that exits (a crash, a store outage) is started again this long after: past the consumer
# groups' 10 s session timeout, so its siblings take its partitions over first and the group settles
# in two rebalances (loss, return) rather than one stalled on a member that is gone.
RESTART_AFTER_S = 20.0


def _tubestream(*args: str) -> list[str]:
    return [sys.executable, "-m", "deploy.cli", *args]


@dataclass(frozen=True, kw_only=True)
class Backends:
    """Where the distributed stores are, as the settings' URLs."""

    catalog_url: str
    playback_url: str
    search_url: str
    blob_url: str
    s3_access_key: str | None = None
    s3_secret_key: str | None = None

    def env(self) -> dict[str, str]:
        """The variables of ``deploy/settings.py`` that point a process at these backends."""
        env = {
            "TUBESTREAM_CATALOG_URL": self.catalog_url,
            "TUBESTREAM_PLAYBACK_URL": self.playback_url,
            "TUBESTREAM_SEARCH_URL": self.search_url,
            "TUBESTREAM_BLOB_URL": self.blob_url,
        }
        if self.s3_access_key and self.s3_secret_key:
            env["TUBESTREAM_S3_ACCESS_KEY"] = self.s3_access_key
            env["TUBESTREAM_S3_SECRET_KEY"] = self.s3_secret_key
        return env


def replica_port(port: int, index: int) -> int:
    """The port of replica ``index`` (0-based) of a service whose first replica listens on ``port``."""
    return port + REPLICA_PORT_STEP * index


def cluster_components(settings: Settings, backends: Backends, *, replicas: int = 2) -> list[Component]:
    """Every process of the cluster, ``replicas`` of each kind but the recommender, in start order.

    Each is restarted ``RESTART_AFTER_S`` after it exits on its own, as an
    orchestrator would; meanwhile its siblings carry its share.

    Workers first (they join their groups while the services start), then the
    services, each replica with its own ports. The recommendations trainer is
    one: its view is SQLite on this machine and it trains under a lock anyway.
    """
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, got {replicas}")
    shared = backends.env()

    def process(name: str, args: list[str], *, group: str = "", **env: str) -> Component:
        return Component(
            name, _tubestream(*args), env={**shared, **env}, group=group, restart_after_s=RESTART_AFTER_S
        )

    workers = [("worker", ["worker"]), ("analytics", ["analytics", "run"]), ("transcoder", ["transcoder"])]
    components = [
        process(f"{kind}-{i + 1}", args, group=kind) for kind, args in workers for i in range(replicas)
    ]
    components.append(process("recs", ["recs", "run"]))
    services = [
        ("api", ["api"], "TUBESTREAM_API_PORT", settings.api_port),
        ("collector", ["collector"], "TUBESTREAM_COLLECTOR_PORT", settings.collector_port),
        ("uploads", ["upload-service"], "TUBESTREAM_UPLOAD_PORT", settings.upload_port),
    ]
    for i in range(replicas):
        for kind, args, variable, port in services:
            components.append(
                process(f"{kind}-{i + 1}", args, group=kind, **{variable: str(replica_port(port, i))})
            )
    return components


def run_platform(settings: Settings, *, distributed: bool = False, replicas: int = 2) -> int:
    sup = Supervisor()
    stop_servers: list[Callable[[], object]] = []  # the servers this run started, to stop at the end
    try:
        try:
            _start_kafka(sup, settings)
            if distributed:
                backends = _start_backends(sup, settings, stop_servers)
                _provision(sup, backends)
                for component in cluster_components(settings, backends, replicas=replicas):
                    sup.start(component)
            else:
                for name, args in (
                    ("worker", ["worker"]),
                    ("analytics", ["analytics", "run"]),
                    ("recs", ["recs", "run"]),
                    ("transcoder", ["transcoder"]),
                    ("api", ["api"]),
                    ("collector", ["collector"]),
                    ("uploads", ["upload-service"]),
                ):
                    sup.start(Component(name, _tubestream(*args)))
        except BaseException:
            sup.stop_all()
            raise
        for line in _greeting(settings, replicas=replicas if distributed else 1):
            sup.say("up", line)
        return sup.wait()
    finally:
        for stop in reversed(stop_servers):
            stop()


def _start_kafka(sup: Supervisor, settings: Settings) -> None:
    if settings.local_kafka:
        kafka = LocalKafka(settings.kafka_home, port=settings.kafka_port)
        if kafka.answering():
            sup.say("up", f"reusing the Kafka broker on {kafka.bootstrap}")
        else:
            if not kafka.fetched():
                sup.say("up", "fetching Apache Kafka from Maven Central (once; a minute or two)")
                kafka.fetch()
            proc = sup.start(Component("kafka", _tubestream("kafka", "run")))
            kafka.wait_ready(timeout_s=120.0, process=proc)
    sup.say("up", f"Kafka ready at {settings.kafka.bootstrap}")
    wait_for_broker(settings.kafka, timeout_s=60.0)
    created = [c.topic for c in apply_topics(settings.kafka) if c.action == "created"]
    sup.say("up", f"topics applied ({len(created)} created)")


def _start_backends(sup: Supervisor, settings: Settings, stops: list[Callable[[], object]]) -> Backends:
    """The settings' own distributed stores where they name one; the local servers for the rest.

    The local servers start side by side (Cassandra and Elasticsearch take
    20 to 40 s each); the ones started here are added to ``stops``.
    """
    catalog_url = settings.catalog_url if settings.catalog_url.startswith("cassandra://") else ""
    playback_url = settings.playback_url if settings.playback_url.startswith("cassandra://") else ""
    search_url = settings.search_url if settings.search_url.startswith(("http://", "https://")) else ""
    blob_url, access, secret = settings.blob_url, settings.s3_access_key, settings.s3_secret_key
    starts: list[Callable[[], None]] = []
    if not (catalog_url and playback_url):
        node = LocalCassandra(
            settings.cassandra_home,
            native_port=settings.cassandra_port,
            storage_port=settings.cassandra_storage_port,
            jmx_port=settings.cassandra_jmx_port,
        )
        starts.append(
            lambda: _start_server(sup, "Cassandra", node.start, node.stop, stops, node.contact_point)
        )
        catalog_url = catalog_url or node.url(KEYSPACE)
        playback_url = playback_url or node.url(KEYSPACE)
    if not search_url:
        es = LocalElasticsearch(settings.home / "elasticsearch", port=settings.elasticsearch_port)
        starts.append(lambda: _start_server(sup, "Elasticsearch", es.start, es.stop, stops, es.url))
        search_url = es.url
    if not blob_url.startswith("s3://"):
        minio = LocalMinio(settings.home / "minio", port=settings.minio_port)
        if not minio.built():
            sup.say("up", "building MinIO with go install (minutes, once)")
        starts.append(lambda: _start_server(sup, "MinIO", minio.start, minio.stop, stops, minio.endpoint))
        blob_url = f"s3://{BLOB_BUCKET}?endpoint={minio.endpoint}"
        access, secret = minio.credentials.access_key, minio.credentials.secret_key
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(start) for start in starts]:
            future.result()  # every start has finished (and registered its stop) before one failure is raised
    return Backends(
        catalog_url=catalog_url,
        playback_url=playback_url,
        search_url=search_url,
        blob_url=blob_url,
        s3_access_key=access,
        s3_secret_key=secret,
    )


def _start_server(
    sup: Supervisor,
    name: str,
    start: Callable[[], bool],
    stop: Callable[[], object],
    stops: list[Callable[[], object]],
    where: str,
) -> None:
    sup.say("up", f"starting {name} on {where} (or reusing one there)")
    if not start():
        sup.say("up", f"reusing the {name} on {where}")
        return

    def stop_it() -> None:
        sup.say("up", f"stopping {name}")
        stop()

    stops.append(stop_it)
    sup.say("up", f"{name} started on {where}")


def _provision(sup: Supervisor, backends: Backends) -> None:
    """What the replicas would otherwise race to make: the views' schema and the bucket.

    ``tubestream views migrate`` is harmless on a current schema and needed on a
    fresh keyspace; opening the blob store creates its bucket, which two
    processes creating at once can fail (S3 answers the second one 409).
    """
    from blobs.stores import open_blob_store
    from views.stores import migrate_store

    sup.say("up", migrate_store(backends.catalog_url, view="catalog"))
    sup.say("up", migrate_store(backends.playback_url, view="playback"))
    open_blob_store(
        backends.blob_url, s3_access_key=backends.s3_access_key, s3_secret_key=backends.s3_secret_key
    )
    sup.say("up", f"blob store ready at {backends.blob_url}")


def _greeting(settings: Settings, *, replicas: int) -> list[str]:
    scheme, host = settings.web_scheme, settings.api_host

    def urls(port: int) -> str:
        return ", ".join(f"{scheme}://{host}:{replica_port(port, i)}" for i in range(replicas))

    base = f"{scheme}://{host}:{settings.api_port}"
    return [
        f"tubestream is up: query API on {urls(settings.api_port)} (OpenAPI at {base}/openapi.json)",
        f"  the web app: open {base}/ in a browser (watch, search, upload)",
        f"  playback collector on {urls(settings.collector_port)}",
        f"  upload service on {urls(settings.upload_port)}",
        "try it in another terminal:",
        "  tubestream publish upload-complete deploy/examples/upload-complete.json",
        f"  curl {base}/v1/videos",
        f"  playback: POST {scheme}://{host}:{settings.collector_port}/v1/playback/events "
        "with a token from `tubestream player-token VIEWER`",
        "  tubestream upload my-video.mp4 --title 'My video'   (then watch it transcode in /v1/videos)",
        "Ctrl-C stops everything.",
    ]
