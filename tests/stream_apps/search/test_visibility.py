"""Unlisted and private videos never reach search: the indexer leaves them out, on both backends."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deploy.local_elasticsearch import LocalElasticsearch
from stream_apps.search.indexer import SearchIndexer
from stream_apps.search.projection import search_document
from stream_apps.search.rebuild import documents_of
from views.catalog import VideoRecord, VideoStatus, Visibility
from views.search.model import SearchQuery
from views.stores import open_search_store

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _row(video_id: str, visibility: Visibility) -> VideoRecord:
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY,
        updated_at=T0,
        created_at=T0 - timedelta(hours=1),
        title=f"Harbour lights {video_id}",
        tags=("harbour",),
        uploader_id="alice",
        visibility=visibility,
    )


@pytest.fixture(params=["sqlite", "elasticsearch"])
def search_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'search.db'}"
        return
    server: LocalElasticsearch = request.getfixturevalue("elasticsearch")
    alias = f"vis-{uuid.uuid4().hex[:10]}"
    yield f"{server.url}?index={alias}&refresh=true"
    with urllib.request.urlopen(f"{server.url}/{alias}-*?expand_wildcards=all", timeout=10) as response:
        names = list(json.loads(response.read()))
    if names:
        with urllib.request.urlopen(
            urllib.request.Request(f"{server.url}/{','.join(names)}", method="DELETE"), timeout=30
        ):
            pass


def test_only_a_public_row_has_a_search_document_and_a_rebuild_indexes_only_those() -> None:
    rows = [_row(f"v-{v.value}", v) for v in Visibility]
    assert [search_document(r) is not None for r in rows] == [True, False, False]
    assert [d.video_id for d in documents_of(rows, {})] == ["v-public"]


async def test_search_and_suggestions_never_return_unlisted_or_private_videos(search_url: str) -> None:
    store = open_search_store(search_url)
    indexer = SearchIndexer(store)
    try:
        for visibility in Visibility:
            await indexer.on_row(None, _row(f"v-{visibility.value}", visibility))
        page = await store.search(SearchQuery(q="harbour lights"))
        assert [h.video_id for h in page.hits] == ["v-public"] and page.total == 1
        assert [h.video_id for h in (await store.search(SearchQuery(q="", tags=("harbour",)))).hits] == [
            "v-public"
        ]
        assert [s.video_id for s in await store.suggest("harb")] == ["v-public"]

        public = _row("v-public", Visibility.PUBLIC)  # made unlisted by a newer upload: it leaves search
        await indexer.on_row(public, dataclasses.replace(public, visibility=Visibility.UNLISTED))
        assert (await store.search(SearchQuery(q="harbour lights"))).total == 0
        assert await store.suggest("harb") == []
    finally:
        await indexer.close()
