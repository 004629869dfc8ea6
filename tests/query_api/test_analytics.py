"""Analytics routes' parameters and their absence; the numbers are tested end to end with Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from query_api.app import create_app
from views.stores import open_catalog_store, open_playback_store

Client = TestClient[Any, Any]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    playback = open_playback_store(f"sqlite:///{tmp_path / 'playback.db'}")
    try:
        async with TestClient(TestServer(create_app(catalog=catalog, playback=playback))) as c:
            yield c
    finally:
        await playback.close()
        await catalog.close()


async def test_trending_on_an_empty_view_is_an_empty_list(client: Client) -> None:
    for url in ("/v1/trending", "/v1/trending?limit=", "/v1/trending?window=24h&limit=100"):
        response = await client.get(url)
        assert response.status == 200
        assert (await response.json())["videos"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit must be an integer from 1 to 100"),
        ("limit=101", "limit must be an integer from 1 to 100"),
        ("limit=²", "limit must be an integer from 1 to 100"),
        ("limit=" + "9" * 5000, "limit must be an integer from 1 to 100"),
        ("window=7d", "known: 1h, 24h"),
    ],
)
async def test_a_bad_trending_parameter_is_a_400_that_says_why(
    client: Client, query: str, message: str
) -> None:
    response = await client.get(f"/v1/trending?{query}")
    assert response.status == 400
    assert message in (await response.json())["error"]["message"]


@pytest.mark.parametrize("step", ["0m", "1s", "9999999999d"])
async def test_a_bad_step_is_a_400(client: Client, step: str) -> None:
    response = await client.get(f"/v1/videos/v1/stats?step={step}")
    assert response.status == 400
    assert "step must look like" in (await response.json())["error"]["message"]


async def test_without_a_playback_view_the_routes_say_they_are_not_configured(tmp_path: Path) -> None:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        async with TestClient(TestServer(create_app(catalog=catalog))) as client:
            for url in ("/v1/trending", "/v1/videos/v1/stats"):
                response = await client.get(url)
                assert response.status == 503
                assert "not configured" in (await response.json())["error"]["message"]
    finally:
        await catalog.close()
