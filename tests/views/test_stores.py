"""Store URLs: the one place configuration picks an adapter, so mistakes must fail with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from views.catalog import VideoRecord, VideoStatus
from views.search.elasticsearch import ElasticsearchSearchStore
from views.search.sqlite import SqliteSearchStore
from views.stores import check_store_url, open_catalog_store, open_playback_store, open_search_store


async def test_a_sqlite_url_opens_that_absolute_path(tmp_path: Path) -> None:
    store = open_catalog_store(f"sqlite:///{tmp_path / 'deep' / 'catalog.db'}")
    await store.close()
    assert (tmp_path / "deep" / "catalog.db").is_file()


async def test_an_in_memory_catalog_works_without_a_file() -> None:
    store = open_catalog_store("sqlite:///:memory:")
    try:
        row = VideoRecord(
            video_id="v", status=VideoStatus.UPLOADED, updated_at=datetime(2026, 1, 1, tzinfo=UTC)
        )
        await store.put(row)
        assert await store.get("v") == row
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/tubestream", r"unsupported scheme 'postgres'; supported: sqlite://, cassandra://"),
        ("cassandra://127.0.0.1:9042/", "expected cassandra://host.*/keyspace"),
        ("cassandra://127.0.0.1:9042/tube-stream", "a keyspace of letters, digits and _"),
        ("cassandra://127.0.0.1:99999/tubestream", "'99999' is not a port"),
        ("cassandra://:9042/tubestream", "expected cassandra://host"),
        ("cassandra://db/tubestream?consistency=SERIAL", "'SERIAL' is not a read/write level"),
        ("cassandra://db/tubestream?consistency=MOST", "'MOST' is not a read/write level"),
        ("cassandra://db/tubestream?replication=dc1", "replication 'dc1': expected a factor"),
        ("cassandra://db/tubestream?replication=0", "replication '0'"),
        ("cassandra://db/tubestream?timeout=5", "unknown option.*timeout"),
        ("cassandra://db/tubestream?request_timeout=0", "request_timeout must be seconds"),
        ("cassandra://db/tubestream?protocol=3", "protocol must be 4"),
        ("/var/lib/catalog.db", r"unsupported scheme ''"),
        ("sqlite://relative.db", "expected sqlite:///absolute/path.db"),
        ("sqlite://", "expected sqlite:///absolute/path.db"),
        ("sqlite:////tmp/catalog.db?mode=ro", r"no \?query"),
    ],
)
def test_a_url_no_adapter_takes_is_a_value_error_that_says_why(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_catalog_store(url)
    with pytest.raises(ValueError, match=message):
        open_playback_store(url)
    with pytest.raises(ValueError, match=message):
        check_store_url(url, view="catalog")


def test_a_password_in_a_bad_url_is_not_repeated_in_the_error() -> None:
    with pytest.raises(ValueError) as caught:
        check_store_url("cassandra://views:s3cret@db/tubestream?consistency=NOPE", view="catalog")
    assert "s3cret" not in str(caught.value) and "views:***@db" in str(caught.value)


def test_a_cassandra_url_is_checked_without_connecting() -> None:
    check_store_url("cassandra://10.0.0.1,10.0.0.2:9142/tubestream?replication=dc1:3", view="playback")


async def test_a_search_url_picks_the_sqlite_or_the_elasticsearch_store(tmp_path: Path) -> None:
    sqlite_store = open_search_store(f"sqlite:///{tmp_path / 'search.db'}")
    await sqlite_store.close()
    assert isinstance(sqlite_store, SqliteSearchStore)
    for url in (
        "http://127.0.0.1:9200",
        "https://search.internal:443/",
        "elasticsearch://127.0.0.1:9200?index=videos&refresh=true",
    ):
        store = open_search_store(url)  # nothing is contacted until the first call
        await store.close()
        assert isinstance(store, ElasticsearchSearchStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/search", r"unsupported scheme 'postgres'; supported: sqlite://, http://"),
        ("sqlite://relative.db", "expected sqlite:///absolute/path.db"),
        ("http://127.0.0.1", "expected http://host:port"),
        ("http://127.0.0.1:9200/videos", "expected http://host:port"),
        ("http://user:pw@127.0.0.1:9200", "expected http://host:port"),
        ("http://127.0.0.1:99999", "out of range"),
        ("elasticsearch://127.0.0.1:9200?shards=3", r"takes \?index= and \?refresh="),
        ("elasticsearch://127.0.0.1:9200?index=a&index=b", r"takes \?index= and \?refresh="),
        ("elasticsearch://127.0.0.1:9200?index=Videos", "not an Elasticsearch index name"),
        ("elasticsearch://127.0.0.1:9200?index=", "not an Elasticsearch index name"),
        ("elasticsearch://127.0.0.1:9200?refresh=yes", "refresh must be wait_for, true or false"),
    ],
)
def test_a_search_url_no_adapter_takes_is_a_value_error_that_says_why(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_search_store(url)


def test_the_elasticsearch_default_index_is_the_one_the_url_parser_assumes() -> None:
    from views.search.elasticsearch import DEFAULT_INDEX
    from views.stores import DEFAULT_SEARCH_INDEX

    assert DEFAULT_SEARCH_INDEX == DEFAULT_INDEX
