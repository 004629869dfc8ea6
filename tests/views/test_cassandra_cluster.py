"""The Cassandra stores' shared edge: URLs, an unreachable or vanished cluster, schema versions.

The URL tests need no server; the rest run against the suite's real node,
in this module's own keyspace (whose schema version they move on purpose).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cassandra import ConsistencyLevel

from deploy.cli.main import main
from deploy.local_cassandra import LocalCassandra
from views.cassandra_catalog import CATALOG_MIGRATIONS
from views.cassandra_cluster import CassandraSettings
from views.cassandra_playback import PLAYBACK_MIGRATIONS
from views.catalog import VideoRecord, VideoStatus, Visibility
from views.errors import SchemaVersionError, StoreUnavailableError, ViewStoreError
from views.stores import migrate_store, open_catalog_store, open_for_this_loop, open_playback_store

from harness import CassandraKeyspace, free_port, store_opener


def test_a_url_names_contact_points_keyspace_and_options() -> None:
    s = CassandraSettings.from_url(
        "cassandra://views:p%40ss@cass-1:9142,cass-2,[::1]:9043/tube_stream"
        "?replication=dc1:3,dc2:2&consistency=local_one&local_dc=dc1&connect_timeout=2&request_timeout=0.5"
    )
    assert s.contact_points == (("cass-1", 9142), ("cass-2", 9042), ("::1", 9043))
    assert s.keyspace == "tube_stream"
    assert s.replication == (("dc1", 3), ("dc2", 2))
    assert s.consistency == ConsistencyLevel.LOCAL_ONE
    assert (s.local_dc, s.connect_timeout_s, s.request_timeout_s) == ("dc1", 2.0, 0.5)
    assert (s.username, s.password) == ("views", "p@ss")
    assert s.replication_cql() == "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"
    assert "p@ss" not in s.url() and "p@ss" not in repr(s)
    assert s.url() == (
        "cassandra://views@cass-1:9142,cass-2:9042,[::1]:9043/tube_stream"
        "?replication=dc1:3,dc2:2&consistency=LOCAL_ONE&local_dc=dc1"
    )


def test_a_bare_url_takes_the_one_node_defaults() -> None:
    s = CassandraSettings.from_url("cassandra://127.0.0.1/tubestream")
    assert s.contact_points == (("127.0.0.1", 9042),)
    assert (s.replication, s.consistency, s.local_dc) == ((("", 1),), ConsistencyLevel.LOCAL_QUORUM, None)
    assert s.replication_cql() == "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    assert CassandraSettings.from_url(s.url()) == s


def test_no_node_answering_is_a_quick_clear_error_naming_every_contact_point() -> None:
    """Nothing listens on these ports: the error says where it looked, in well under the timeouts."""
    first, second = free_port(), free_port()
    url = f"cassandra://127.0.0.1:{first},127.0.0.2:{second}/tubestream?connect_timeout=5"
    for opener in (open_catalog_store, open_playback_store):
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError) as caught:
            opener(url)
        assert time.monotonic() - began < 5.0
        message = str(caught.value)
        assert f"no Cassandra node answered at 127.0.0.1:{first},127.0.0.2:{second}" in message
        assert "keyspace tubestream" in message
    with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{first}"):
        migrate_store(url, view="catalog")


@pytest.mark.cassandra
def test_a_keyspace_never_migrated_is_refused_with_the_command_to_run(cassandra: LocalCassandra) -> None:
    url = cassandra.url("never_migrated")
    with pytest.raises(SchemaVersionError) as caught:
        open_catalog_store(url)
    assert "has no tubestream schema yet" in str(caught.value)
    assert f"run `tubestream views migrate --catalog-url '{url}'` first" in str(caught.value)
    with pytest.raises(SchemaVersionError, match="tubestream views migrate --playback-url"):
        open_playback_store(url)


@pytest.fixture
def versions(cassandra_keyspace: CassandraKeyspace) -> Iterator[CassandraKeyspace]:
    """This module's keyspace; its schema versions are put back to this code's after the test."""
    yield cassandra_keyspace
    for view, version in (("catalog", len(CATALOG_MIGRATIONS)), ("playback", len(PLAYBACK_MIGRATIONS))):
        cassandra_keyspace.execute(
            f"UPDATE {cassandra_keyspace.name}.schema_versions SET version = %s WHERE view_name = %s",
            (version, view),
        )


@pytest.mark.cassandra
async def test_an_older_schema_is_refused_until_migrated(versions: CassandraKeyspace) -> None:
    """A keyspace last migrated by older code: the store says to migrate; migrating lets it open."""
    versions.execute(f"UPDATE {versions.name}.schema_versions SET version = 0 WHERE view_name = 'catalog'")
    with pytest.raises(SchemaVersionError) as caught:
        open_catalog_store(versions.url)
    assert str(caught.value) == (
        f"the catalog schema in keyspace {versions.name!r} is at version 0, this code reads version 2: "
        f"run `tubestream views migrate --catalog-url '{versions.url}'`"
    )
    await open_playback_store(versions.url).close()  # the other view's version is its own

    assert migrate_store(versions.url, view="catalog") == (
        f"catalog: {versions.url} migrated from schema version 0 to 2"
    )
    await open_catalog_store(versions.url).close()


@pytest.mark.cassandra
async def test_migration_2_adds_visibility_and_rows_written_before_it_read_as_public(
    versions: CassandraKeyspace,
) -> None:
    """A keyspace at version 1 (no visibility column) holding a row: migrated, the row is public."""
    versions.reset("videos_")
    versions.execute(f"ALTER TABLE {versions.name}.videos_by_id DROP visibility")
    versions.execute(f"UPDATE {versions.name}.schema_versions SET version = 1 WHERE view_name = 'catalog'")
    old_doc = '{"video_id": "old", "status": "ready", "updated_at": "2026-11-01T12:00:00+00:00"}'
    versions.execute(
        f"INSERT INTO {versions.name}.videos_by_id (video_id, doc, listed_us) VALUES (%s, %s, null)",
        ("old", old_doc),
    )
    assert migrate_store(versions.url, view="catalog") == (
        f"catalog: {versions.url} migrated from schema version 1 to 2"
    )
    store = open_catalog_store(versions.url)
    try:
        assert await store.visibility_of("old") is Visibility.PUBLIC
        old = await store.get("old")
        assert old is not None and old.visibility is Visibility.PUBLIC
    finally:
        await store.close()
        versions.reset("videos_")


@pytest.mark.cassandra
def test_a_newer_schema_is_refused_rather_than_misread(versions: CassandraKeyspace) -> None:
    versions.execute(f"UPDATE {versions.name}.schema_versions SET version = 7 WHERE view_name = 'playback'")
    with pytest.raises(
        SchemaVersionError,
        match=f"at version 7, newer than this code's {len(PLAYBACK_MIGRATIONS)}: upgrade tubestream",
    ):
        open_playback_store(versions.url)
    with pytest.raises(SchemaVersionError, match=f"newer than this code's {len(PLAYBACK_MIGRATIONS)}"):
        migrate_store(versions.url, view="playback")


@pytest.mark.cassandra
def test_the_migrate_command_creates_the_keyspace_once(
    cassandra: LocalCassandra, capsys: pytest.CaptureFixture[str]
) -> None:
    url = cassandra.url("made_by_the_cli")
    assert main(["views", "migrate", "--catalog-url", url, "--playback-url", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"catalog: {url} migrated from schema version 0 to 2",
        f"playback: {url} migrated from schema version 0 to {len(PLAYBACK_MIGRATIONS)}",
    ]
    assert main(["views", "migrate", "--catalog-url", url, "--playback-url", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"catalog: {url} is at schema version 2, nothing to do",
        f"playback: {url} is at schema version {len(PLAYBACK_MIGRATIONS)}, nothing to do",
    ]


@pytest.mark.cassandra
def test_an_old_schema_is_one_line_from_the_cli(
    versions: CassandraKeyspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line shows the migration message as its one error line, exit code 2."""
    versions.execute(f"UPDATE {versions.name}.schema_versions SET version = 0 WHERE view_name = 'catalog'")
    assert main(["catalog", "rebuild", "--into", versions.url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tubestream: error: the catalog schema in keyspace") and err.count("\n") == 1
    assert f"tubestream views migrate --catalog-url '{versions.url}'" in err


class _Proxy:
    """A TCP relay in front of the node, so a test can cut the store off mid-run."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = [self._server]
        self._lock = threading.Lock()
        self.stalled = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.stalled.is_set():  # stalled: the bytes are swallowed, the connection stays up
                    sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.mark.cassandra
@pytest.mark.parametrize("backend", ["cassandra", "cassandra-loop"])
async def test_a_cluster_gone_mid_run_is_unavailable_not_a_driver_error(
    cassandra_keyspace: CassandraKeyspace, backend: str
) -> None:
    proxy = _Proxy(cassandra_keyspace.node.native_port)
    url = f"cassandra://127.0.0.1:{proxy.port}/{cassandra_keyspace.name}?connect_timeout=1&request_timeout=2"
    store = await store_opener(open_catalog_store, url, backend)()
    try:
        await store.check()
        assert await store.get("v1") is None
        proxy.cut()
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=f"catalog store at 127.0.0.1:{proxy.port}"):
            for _ in range(20):  # the first request may be the one that finds the connection closed
                await store.get("v1")
        assert time.monotonic() - began < 10
    finally:
        await store.close()


@pytest.mark.cassandra
@pytest.mark.parametrize("backend", ["cassandra", "cassandra-loop"])
async def test_a_node_that_stops_answering_times_out_at_the_request_timeout(
    cassandra_keyspace: CassandraKeyspace, backend: str
) -> None:
    """The connection stays open and the node says nothing: only the request's own timer ends the wait."""
    proxy = _Proxy(cassandra_keyspace.node.native_port)
    url = f"cassandra://127.0.0.1:{proxy.port}/{cassandra_keyspace.name}?connect_timeout=2&request_timeout=1"
    store = await store_opener(open_catalog_store, url, backend)()
    try:
        assert await store.get("v1") is None
        proxy.stalled.set()
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="OperationTimedOut"):
            await asyncio.wait_for(store.get("v1"), timeout=10)
        assert 0.9 < time.monotonic() - began < 5
    finally:
        proxy.cut()
        await store.close()


@pytest.mark.cassandra
async def test_a_store_for_this_loop_opened_on_the_loop_itself_is_refused_not_a_hang(
    cassandra_keyspace: CassandraKeyspace,
) -> None:
    began = time.monotonic()
    with pytest.raises(ValueError, match="from another thread"):
        open_catalog_store(cassandra_keyspace.url, loop=asyncio.get_running_loop())
    assert time.monotonic() - began < 1


@pytest.mark.cassandra
async def test_a_store_for_one_loop_refuses_to_be_read_on_another(
    cassandra_keyspace: CassandraKeyspace,
) -> None:
    store = await open_for_this_loop(open_catalog_store, cassandra_keyspace.url)
    try:
        with pytest.raises(ViewStoreError, match="another event loop"):
            await asyncio.to_thread(asyncio.run, store.get("v1"))
        assert await store.get("v1") is None  # still fine on its own loop
    finally:
        await store.close()


@pytest.mark.cassandra
async def test_on_its_loop_a_burst_of_writes_reads_and_scans_of_many_pages_come_back_whole(
    cassandra_keyspace: CassandraKeyspace,
) -> None:
    """5 200 puts at once (far more than a socket's buffer), a scan longer than the driver's page
    (5 000 rows), then 2 000 reads in flight. (The driver's own reactor refuses such a burst with
    ConnectionBusy once its socket is full: the writers keep 128 statements in flight at most.)"""
    cassandra_keyspace.reset("videos_")
    store = await open_for_this_loop(open_catalog_store, cassandra_keyspace.url)
    try:
        created = datetime(2026, 11, 1, 12, tzinfo=UTC)
        rows = [
            VideoRecord(
                video_id=f"v{i:05d}",
                status=VideoStatus.READY,
                updated_at=created,
                created_at=created,
                title=f"title {i} " + "x" * (i % 700),  # some rows span several reads of the socket
            )
            for i in range(5_200)
        ]
        await asyncio.gather(*(store.put(row) for row in rows))
        by_id = {row.video_id: row for row in await store.scan()}
        assert by_id == {row.video_id: row for row in rows}
        wanted = [f"v{i:05d}" for i in range(0, 6_000, 3)]  # 2 000, a tenth of them missing
        got = await asyncio.gather(*(store.get(video_id) for video_id in wanted))
        assert [(g.video_id, g.title) if g else None for g in got] == [
            (v, by_id[v].title) if v in by_id else None for v in wanted
        ]
    finally:
        await store.close()
