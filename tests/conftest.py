"""Shared fixtures: a real Kafka broker, a namespace of topics per module, the platform's processes,
and the real servers other adapters talk to (MinIO, Elasticsearch, a Cassandra node with a keyspace
per module).

The broker is the project's own local Kafka (started here if none answers,
stopped at the end if this run started it) or the one ``KAFKA_BOOTSTRAP``
names. Every test module gets its own topic namespace, so modules never see
each other's events and can replay their topics from offset 0.

Cassandra is the project's own local node (``deploy/local_cassandra.py``),
started on free ports in a throwaway folder the first time a test asks for
it, once per run; each module gets its own keyspace, migrated as
``tubestream views migrate`` would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from deploy.local_cassandra import LocalCassandra
from deploy.local_elasticsearch import LocalElasticsearch
from deploy.local_kafka import LocalKafka
from deploy.local_minio import LocalMinio
from deploy.settings import Settings
from topics.admin import apply_topics, wait_for_broker
from topics.config import KafkaConfig
from views.stores import migrate_store

from harness import CassandraKeyspace, Platform, free_port, http_json


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    settings = Settings.from_env()
    if not settings.local_kafka:
        wait_for_broker(settings.kafka, timeout_s=60.0)
        yield settings.kafka.bootstrap
        return
    broker = LocalKafka(settings.kafka_home, port=settings.kafka_port)
    started = broker.start(timeout_s=120.0)
    try:
        yield broker.bootstrap
    finally:
        if started:
            broker.stop()


@pytest.fixture(scope="module")
def kafka(kafka_bootstrap: str) -> KafkaConfig:
    """A fresh namespace with every catalogue topic created in it."""
    config = KafkaConfig(bootstrap=kafka_bootstrap, namespace=f"t{uuid.uuid4().hex[:8]}-")
    apply_topics(config)
    return config


@pytest.fixture(scope="module")
def platform(kafka: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The worker and API running against this module's namespace, ready to serve."""
    home = tmp_path_factory.mktemp("platform")
    running = Platform(
        kafka=kafka,
        home=home,
        catalog_url=f"sqlite:///{home / 'catalog.db'}",
        api_port=free_port(),
    )
    running.start("worker", "worker")
    running.start("api", "api")
    try:
        running.wait_for(
            lambda: http_json(f"{running.api}/healthz")[0] == 200, timeout_s=30.0, what="the API's /healthz"
        )
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def minio() -> Iterator[LocalMinio]:
    """A real MinIO (S3) for the tests, from the project's cache."""
    server = LocalMinio(Settings.from_env().home / "minio", port=free_port())
    server.start(timeout_s=120)  # builds it first if the cache is cold (minutes, once)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[LocalElasticsearch]:
    """A real single-node Elasticsearch, fetched into the project's cache once, on free ports.

    Its node folder (data, logs) is removed at the end; the distribution stays cached.
    """
    server = LocalElasticsearch(
        Settings.from_env().home / "elasticsearch", port=free_port(), transport_port=free_port()
    )
    server.start(timeout_s=180)
    try:
        yield server
    finally:
        server.stop()
        server.discard()


@pytest.fixture(scope="session")
def cassandra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCassandra]:
    """A real single-node Cassandra 5.0 from the project's jar cache, on free ports, for this run only."""
    node = LocalCassandra(
        Settings.from_env().cassandra_home,
        native_port=free_port(),
        storage_port=free_port(),
        jmx_port=free_port(),
        run_dir=tmp_path_factory.mktemp("cassandra"),
    )
    node.start(timeout_s=240.0)  # fetches the jars first on a cold cache
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def cassandra_keyspace(cassandra: LocalCassandra) -> Iterator[CassandraKeyspace]:
    """A fresh keyspace for this module, migrated for the catalog and the playback views."""
    keyspace = CassandraKeyspace(cassandra, f"t{uuid.uuid4().hex[:12]}")
    for view in ("catalog", "playback"):
        migrate_store(keyspace.url, view=view)
    yield keyspace
    keyspace.close()
