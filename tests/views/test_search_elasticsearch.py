"""Elasticsearch's own side of the search store: the indices behind the alias, against a real node."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import AsyncIterator

import pytest

from deploy.local_elasticsearch import LocalElasticsearch
from views.errors import StoreUnavailableError
from views.search.elasticsearch import ElasticsearchSearchStore
from views.search.model import SearchDocument, SearchQuery


@pytest.fixture
def alias(elasticsearch: LocalElasticsearch) -> str:
    return f"es-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def store(elasticsearch: LocalElasticsearch, alias: str) -> AsyncIterator[ElasticsearchSearchStore]:
    s = ElasticsearchSearchStore(elasticsearch.url, index=alias, refresh="true")
    yield s
    await s.close()


def indices(url: str, pattern: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/{pattern}", timeout=10) as response:
        return set(json.loads(response.read()))


def delete_index(url: str, name: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(f"{url}/{name}", method="DELETE"), timeout=30):
        pass


def doc(video_id: str, title: str) -> SearchDocument:
    return SearchDocument(video_id=video_id, status="ready", title=title)


async def test_the_index_swapped_out_is_dropped_by_the_next_rebuild(
    store: ElasticsearchSearchStore, elasticsearch: LocalElasticsearch, alias: str
) -> None:
    await store.put(doc("a", "First"))
    assert indices(elasticsearch.url, f"{alias}-*") == {f"{alias}-initial"}
    first = await store.begin_rebuild()
    await first.put(doc("b", "Second"))
    await store.swap()
    assert indices(elasticsearch.url, f"{alias}-*") == {
        f"{alias}-initial",
        first.index,
    }  # in-flight reads finish
    second = await store.begin_rebuild()
    assert indices(elasticsearch.url, f"{alias}-*") == {first.index, second.index}
    await second.abort()
    assert indices(elasticsearch.url, f"{alias}-*") == {first.index}


async def test_a_rebuild_leaves_an_alias_sharing_its_prefix_alone(
    store: ElasticsearchSearchStore, elasticsearch: LocalElasticsearch, alias: str
) -> None:
    neighbour = ElasticsearchSearchStore(elasticsearch.url, index=f"{alias}-v2", refresh="true")
    try:
        await neighbour.put(doc("n", "Neighbour"))
        await store.put(doc("a", "Mine"))
        await store.begin_rebuild()
        assert [h.video_id for h in (await neighbour.search(SearchQuery(q="neighbour"))).hits] == ["n"]
    finally:
        await neighbour.close()


async def test_an_index_deleted_under_the_store_is_an_outage_not_a_crash(
    store: ElasticsearchSearchStore, elasticsearch: LocalElasticsearch, alias: str
) -> None:
    await store.put(doc("a", "First"))
    delete_index(elasticsearch.url, f"{alias}-initial")
    with pytest.raises(StoreUnavailableError):
        await store.search(SearchQuery(q="first"))
    with pytest.raises(StoreUnavailableError):
        await store.check()
