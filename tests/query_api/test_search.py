"""The search routes over real stores: what a client of /v1/search and /v1/search/suggest relies on."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from deploy.local_elasticsearch import LocalElasticsearch
from query_api.app import create_app
from stream_apps.search.projection import Popularity, search_document
from views.catalog import CatalogStore, RenditionRecord, VideoRecord, VideoStatus
from views.search.model import SearchStore
from views.stores import open_catalog_store, open_search_store

from harness import free_port

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Client = TestClient[Any, Any]

VIDEOS = [
    ("v-cats", "Cats playing piano", ("cats", "music"), 120_000, 900),
    ("v-cat-care", "How to care for your cat", ("cats", "howto"), 600_000, 50),
    ("v-piano", "Piano lessons for beginners", ("music", "howto"), 1_500_000, 300),
    ("v-sea", "Océan et écume", ("nature",), 200_000, 10),
    ("v-draft", "Cats in a draft", ("cats",), 60_000, 0),  # still processing: not watchable
]


def _record(video_id: str, title: str, tags: tuple[str, ...], duration_ms: int, n: int) -> VideoRecord:
    ready = video_id != "v-draft"
    rendition = RenditionRecord(
        name="360p", codec="H264", width=640, height=360, bitrate_kbps=800, segment_duration_s=4.0,
        encoder="libx264", manifest_key=f"videos/{video_id}/j1/360p.m3u8", job_id="j1",
    )  # fmt: skip
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY if ready else VideoStatus.PROCESSING,
        updated_at=T0 + timedelta(minutes=n),
        created_at=T0 + timedelta(minutes=n),
        title=title,
        tags=tags,
        uploader_id="uploader-1",
        duration_ms=duration_ms,
        job_id="j1",
        renditions=(rendition,) if ready else (),
    )


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[CatalogStore, SearchStore]]:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    search = open_search_store(f"sqlite:///{tmp_path / 'search.db'}")
    for n, (video_id, title, tags, duration, views) in enumerate(VIDEOS):
        record = _record(video_id, title, tags, duration, n)
        await catalog.put(record)
        doc = search_document(record, Popularity(views_24h=views, views_7d=views))
        assert doc is not None
        await search.put(doc)
    yield catalog, search
    await search.close()
    await catalog.close()


@pytest.fixture
async def client(stores: tuple[CatalogStore, SearchStore]) -> AsyncIterator[Client]:
    catalog, search = stores
    async with TestClient(TestServer(create_app(catalog=catalog, search=search))) as c:
        yield c


async def _get(client: Client, path: str, **params: str) -> tuple[int, Any]:
    response = await client.get(path, params=params)
    return response.status, await response.json()


async def test_a_search_answers_video_resources_with_highlights_facets_and_a_total(client: Client) -> None:
    status, body = await _get(client, "/v1/search", q="cats")
    assert status == 200
    ids = [v["id"] for v in body["videos"]]
    assert set(ids) == {"v-cats", "v-cat-care"} and body["total"] == 2  # the draft is not watchable
    first = body["videos"][0]
    assert first["status"] == "ready" and first["renditions"][0]["name"] == "360p"  # a catalog resource
    assert "<mark>" in " ".join(first["highlights"].values())
    assert body["facets"]["tags"]["cats"] == 2
    assert sum(body["facets"]["duration"].values()) == 2


async def test_typos_prefixes_and_diacritics_are_forgiven(client: Client) -> None:
    for q, expected in (("pianno", "v-piano"), ("beginn", "v-piano"), ("ocean ecume", "v-sea")):
        status, body = await _get(client, "/v1/search", q=q)
        assert status == 200 and expected in [v["id"] for v in body["videos"]], (q, body)


async def test_filters_and_sorts(client: Client) -> None:
    _, music = await _get(client, "/v1/search", tags="music", sort="views")
    assert [v["id"] for v in music["videos"]] == ["v-cats", "v-piano"]
    _, long_ = await _get(client, "/v1/search", q="piano", duration="long")
    assert [v["id"] for v in long_["videos"]] == ["v-piano"]
    after = (T0 + timedelta(minutes=1, seconds=30)).isoformat().replace("+00:00", "Z")
    _, recent = await _get(client, "/v1/search", tags="howto", uploaded_after=after)
    assert [v["id"] for v in recent["videos"]] == ["v-piano"]


async def test_pages_walk_every_hit_once_and_a_cursor_only_continues_its_own_query(client: Client) -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"uploader": "uploader-1", "limit": "1", **({"cursor": cursor} if cursor else {})}
        status, body = await _get(client, "/v1/search", **params)
        assert status == 200
        seen += [v["id"] for v in body["videos"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
        other_status, other = await _get(client, "/v1/search", q="cats", cursor=cursor)
        assert other_status == 400 and "another query" in other["error"]["message"]
    assert sorted(seen) == sorted(v[0] for v in VIDEOS if v[0] != "v-draft")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "q is empty"),
        ({"q": "   "}, "q is empty"),
        ({"q": "x" * 5000}, "longer than"),
        ({"q": "cats", "color": "red"}, "unknown parameter"),
        ({"q": "cats", "duration": "epic"}, "duration must be one of"),
        ({"q": "cats", "sort": "random"}, "sort must be one of"),
        ({"q": "cats", "limit": "500"}, "limit"),
        ({"q": "cats", "cursor": "not-a-cursor"}, "cursor"),
        ({"q": "cats", "uploaded_after": "yesterday"}, "uploaded_after"),
        ({"q": "cats\x00"}, "control characters"),
    ],
)
async def test_bad_searches_are_a_400_that_says_why(
    client: Client, params: dict[str, str], says: str
) -> None:
    status, body = await _get(client, "/v1/search", **params)
    assert status == 400 and says in body["error"]["message"], body


@pytest.mark.parametrize(
    "q", ['"cats', "cats*", "NEAR(cats piano)", "cats AND piano", "-cats", "title:cats", "(", "^"]
)
async def test_query_syntax_characters_are_words_not_syntax(client: Client, q: str) -> None:
    status, body = await _get(client, "/v1/search", q=q)
    assert status == 200, body


async def test_suggestions_complete_a_word_most_watched_first(client: Client) -> None:
    status, body = await _get(client, "/v1/search/suggest", q="ca")
    assert status == 200
    assert [s["video_id"] for s in body["suggestions"]] == ["v-cats", "v-cat-care"]
    _, typo = await _get(client, "/v1/search/suggest", q="pianp")
    assert "v-piano" in [s["video_id"] for s in typo["suggestions"]]
    _, one = await _get(client, "/v1/search/suggest", q="ca", limit="1")
    assert len(one["suggestions"]) == 1
    for bad in ({}, {"q": ""}, {"q": "ca", "limit": "11"}, {"q": "ca", "x": "1"}):
        status, err = await _get(client, "/v1/search/suggest", **bad)
        assert status == 400 and err["error"]["status"] == 400


async def test_an_unreachable_elasticsearch_is_a_quick_503_and_healthz_says_so(tmp_path: Path) -> None:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    search = open_search_store(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        async with TestClient(TestServer(create_app(catalog=catalog, search=search))) as client:
            started = time.monotonic()
            status, body = await _get(client, "/v1/search", q="cats")
            assert status == 503 and body["error"]["status"] == 503
            assert time.monotonic() - started < 5
            status, body = await _get(client, "/healthz")
            assert status == 503 and "search" in body["error"]["message"]
    finally:
        await search.close()
        await catalog.close()


async def test_the_same_routes_on_a_real_elasticsearch(
    elasticsearch: LocalElasticsearch, tmp_path: Path
) -> None:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    index = f"api-{int(time.time() * 1000)}"
    search = open_search_store(f"{elasticsearch.url}?index={index}&refresh=true")
    try:
        for n, (video_id, title, tags, duration, views) in enumerate(VIDEOS):
            record = _record(video_id, title, tags, duration, n)
            await catalog.put(record)
            doc = search_document(record, Popularity(views_24h=views, views_7d=views))
            assert doc is not None
            await search.put(doc)
        async with TestClient(TestServer(create_app(catalog=catalog, search=search))) as client:
            _, body = await _get(client, "/v1/search", q="pianno")
            assert "v-piano" in [v["id"] for v in body["videos"]]
            _, body = await _get(client, "/v1/search", q=urllib.parse.unquote("oc%C3%A9an"))
            assert [v["id"] for v in body["videos"]] == ["v-sea"]
            _, suggestions = await _get(client, "/v1/search/suggest", q="ca")
            assert [s["video_id"] for s in suggestions["suggestions"]][:2] == ["v-cats", "v-cat-care"]
            status, health = await _get(client, "/healthz")
            assert status == 200 and health["checks"]["search"] == "ok"
    finally:
        await search.close()
        await catalog.close()
