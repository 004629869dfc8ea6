"""Unlisted and private videos stay out of recommendations, related videos and trending."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from producers.collector.tokens import PlayerTokens
from query_api.app import create_app
from query_api.recs_models import ModelHolder, RecsService
from query_api.viewers import ViewerAuth
from stream_apps.playback.aggregates import PlaybackStats
from stream_apps.playback.rows import stats_to_document
from stream_apps.trending.board import TrendingBoard, board_row
from stream_apps.trending.score import VideoTrend
from tests.query_api.test_recs import FakeSource, _model
from views.catalog import CatalogStore, VideoRecord, VideoStatus, Visibility
from views.playback import MinuteRow, PlaybackStore
from views.stores import open_catalog_store, open_playback_store, open_recs_store

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
Client = TestClient[Any, Any]
PLAYER = PlayerTokens("p" * 32)


def _video(video_id: str, visibility: Visibility, minutes: int) -> VideoRecord:
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY,
        updated_at=T0,
        created_at=T0 + timedelta(minutes=minutes),
        title=f"Cooking pasta {video_id}",
        tags=("food",),
        uploader_id=f"up-{video_id}",
        visibility=visibility,
    )


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[CatalogStore, PlaybackStore]]:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    playback = open_playback_store(f"sqlite:///{tmp_path / 'playback.db'}")
    for i in range(8):  # the model's own videos (a0-a7), public, and hidden ones newer than all of them
        await catalog.put(_video(f"a{i}", Visibility.PUBLIC, i))
    await catalog.put(_video("hidden-unl", Visibility.UNLISTED, 50))
    await catalog.put(_video("hidden-priv", Visibility.PRIVATE, 51))
    await catalog.put(_video("a0", Visibility.UNLISTED, 0))  # one the model knows, made unlisted
    yield catalog, playback
    await catalog.close()
    await playback.close()


@pytest.fixture
async def client(stores: tuple[CatalogStore, PlaybackStore], tmp_path: Path) -> AsyncIterator[Client]:
    catalog, playback = stores
    source = FakeSource()
    source.announce("20261201T120000000000Z-aaaa", _model().to_bytes())
    models = ModelHolder(source)
    assert await models.refresh()
    interactions = open_recs_store(f"sqlite:///{tmp_path / 'recs.db'}")
    app = create_app(
        catalog=catalog,
        playback=playback,
        recs=RecsService(interactions=interactions, models=models),
        viewer_auth=ViewerAuth(player_tokens=PLAYER, uploader_auth=None),
    )
    async with TestClient(TestServer(app)) as c:
        yield c
    await interactions.close()


async def _ids(client: Client, path: str, **headers: str) -> list[str]:
    response = await client.get(path, headers=headers)
    assert response.status == 200, await response.text()
    return [v.get("id") or v["video_id"] for v in (await response.json())["videos"]]


async def test_recommendations_and_related_videos_never_name_a_hidden_video(client: Client) -> None:
    hidden = {"hidden-unl", "hidden-priv", "a0"}
    popular = await _ids(client, "/v1/users/nobody/recommendations?limit=50")
    assert popular and not hidden & set(popular)
    related = await _ids(client, "/v1/videos/a1/related?limit=50")
    assert related and not hidden & set(related)
    unlisted_related = await _ids(client, "/v1/videos/hidden-unl/related?limit=50")  # by its link: fine
    assert unlisted_related and not hidden & set(unlisted_related)


async def test_a_private_videos_related_list_is_a_404_but_for_its_uploader(client: Client) -> None:
    assert (await client.get("/v1/videos/hidden-priv/related")).status == 404
    token = PLAYER.issue("up-hidden-priv")
    assert await _ids(client, "/v1/videos/hidden-priv/related", Authorization=f"Bearer {token}")


async def test_trending_leaves_hidden_videos_out_and_still_fills_the_list(
    client: Client, stores: tuple[CatalogStore, PlaybackStore]
) -> None:
    _, playback = stores
    order = ["hidden-unl", "a1", "hidden-priv", "a2", "a0", "a3", "not-in-catalog"]
    board = TrendingBoard(
        window="1h",
        generated_at=datetime.now(UTC) - timedelta(seconds=5),
        videos=tuple(VideoTrend(video_id=v, score=10.0 - i, unique_viewers=3) for i, v in enumerate(order)),
    )
    await playback.write_board(board_row(board))
    assert await _ids(client, "/v1/trending?window=1h&limit=3") == ["a1", "a2", "a3"]

    minute = datetime.now(UTC).replace(second=0, microsecond=0)  # scored live from the minutes too
    stats = stats_to_document(PlaybackStats(views=9, viewers=frozenset({"x", "y"}), events=9))
    await playback.write_board(
        board_row(dataclasses.replace(board, generated_at=minute - timedelta(hours=1)))
    )
    await playback.write([MinuteRow("hidden-unl", minute, 0, stats)], offsets={0: 1})
    assert "hidden-unl" not in await _ids(client, "/v1/trending?window=1h&limit=5")


async def test_a_private_videos_stats_are_its_uploaders_only(client: Client) -> None:
    assert (await client.get("/v1/videos/hidden-priv/stats")).status == 404
    token = PLAYER.issue("up-hidden-priv")
    mine = await client.get("/v1/videos/hidden-priv/stats", headers={"Authorization": f"Bearer {token}"})
    assert mine.status == 200 and (await mine.json())["video_id"] == "hidden-priv"
    assert (await client.get("/v1/videos/hidden-unl/stats")).status == 200  # unlisted: by its id
