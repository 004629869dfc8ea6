"""Recommendation routes in-process over real SQLite stores and a real (small) ALS model.

The model source is a fake (the integration test reads the real topic and
blob store); everything else is what ``tubestream api`` serves.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from query_api.app import create_app
from query_api.app_keys import RECS
from query_api.recs_models import ModelHolder, ModelPointer, RecsService
from stream_apps.recs.interactions import build_matrix
from stream_apps.recs.model import AlsParams, RecsModel, fit_als
from views.catalog import CatalogStore, VideoRecord, VideoStatus
from views.recs import InteractionRow, RecsStore
from views.stores import open_catalog_store, open_recs_store

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
Client = TestClient[Any, Any]
A = [f"a{i}" for i in range(8)]  # one taste: uploaded by ua (a0-a4) and ub (a5-a7)
B = [f"b{i}" for i in range(8)]  # another: uploaded by uc (b0-b3) and ud (b4-b7)


@dataclass
class FakeSource:
    artifacts: dict[str, bytes] = field(default_factory=dict)
    pointer: ModelPointer | None = None

    def announce(self, version: str, data: bytes, *, sha256: str | None = None) -> None:
        key = f"recs/models/{version}.bin"
        self.artifacts[key] = data
        self.pointer = ModelPointer(version, key, sha256 or hashlib.sha256(data).hexdigest())

    def newest(self) -> ModelPointer | None:
        return self.pointer

    def read(self, key: str) -> bytes:
        return self.artifacts[key]


def _model() -> RecsModel:
    rng = random.Random(7)  # each viewer of a taste watched 6 of its 8 videos
    rows = [(f"ua{u}", v, 1.5) for u in range(12) for v in rng.sample(A, 6)]
    rows += [(f"ub{u}", v, 1.5) for u in range(12) for v in rng.sample(B, 6)]
    return fit_als(build_matrix(rows), AlsParams(factors=4, regularization=1.0, alpha=10, iterations=20))


def _video(
    video_id: str, *, uploader: str, title: str, tags: tuple[str, ...], minutes: int = 0
) -> VideoRecord:
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY,
        updated_at=T0,
        created_at=T0 + timedelta(minutes=minutes),
        title=title,
        tags=tags,
        uploader_id=uploader,
    )


def _watch(viewer: str, video: str) -> InteractionRow:
    return InteractionRow(
        viewer=viewer,
        video_id=video,
        partition=0,
        watched_ms=60_000,
        duration_ms=60_000,
        sessions=1,
        completed_sessions=1,
        seeks=0,
        updated_at=T0,
    )


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[CatalogStore, RecsStore]]:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    interactions = open_recs_store(f"sqlite:///{tmp_path / 'recs.db'}")
    for i, v in enumerate(A):
        await catalog.put(
            _video(v, uploader="ua" if i < 5 else "ub", title=f"Cooking pasta {i}", tags=("food",))
        )
    for i, v in enumerate(B):
        await catalog.put(
            _video(v, uploader="uc" if i < 4 else "ud", title=f"Racing cars {v}", tags=("cars",))
        )
    yield catalog, interactions
    await catalog.close()
    await interactions.close()


@pytest.fixture
def source() -> FakeSource:
    fake = FakeSource()
    fake.announce("20261201T120000000000Z-aaaa", _model().to_bytes())
    return fake


@pytest.fixture
async def client(stores: tuple[CatalogStore, RecsStore], source: FakeSource) -> AsyncIterator[Client]:
    catalog, interactions = stores
    models = ModelHolder(source)
    assert await models.refresh()
    app = create_app(catalog=catalog, recs=RecsService(interactions=interactions, models=models))
    async with TestClient(TestServer(app)) as c:
        yield c


async def _ids(client: Client, path: str) -> tuple[dict[str, Any], list[str]]:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    body = await response.json()
    return body, [v["id"] for v in body["videos"]]


async def test_a_viewer_gets_their_taste_without_what_they_watched_and_at_most_3_per_uploader(
    client: Client, stores: tuple[CatalogStore, RecsStore]
) -> None:
    _, interactions = stores
    await interactions.write([_watch("fresh-viewer", "a0"), _watch("fresh-viewer", "a5")], offsets={0: 2})
    body, ids = await _ids(client, "/v1/users/fresh-viewer/recommendations?limit=5")
    assert body["source"] == "personal" and body["model_version"].endswith("aaaa")
    assert "a0" not in ids and "a5" not in ids
    assert len(ids) == 5
    assert all(v.startswith("a") for v in ids)  # the taste: a folded-in history, no retrain
    uploaders = [v["uploader_id"] for v in body["videos"]]
    assert max(uploaders.count(u) for u in set(uploaders)) <= 3


async def test_unknown_viewers_get_popular_and_newest_and_not_ready_videos_never_come(
    client: Client, stores: tuple[CatalogStore, RecsStore]
) -> None:
    catalog, _ = stores
    await catalog.put(_video("new-cars", uploader="ud", title="Racing cars new", tags=("cars",), minutes=99))
    processing = _video("wip", uploader="ud", title="Racing cars wip", tags=("cars",), minutes=100)
    await catalog.put(VideoRecord(**{**processing.__dict__, "status": VideoStatus.PROCESSING}))
    body, ids = await _ids(client, "/v1/users/nobody/recommendations?limit=50")
    assert body["source"] == "popular"
    assert "new-cars" in ids[:2]  # the newest ready video, second in turn after the most popular
    assert "wip" not in ids
    assert len(ids) == len(set(ids))


async def test_related_blends_the_model_with_content_and_a_new_video_has_related_ones(
    client: Client, stores: tuple[CatalogStore, RecsStore]
) -> None:
    catalog, _ = stores
    _, ids = await _ids(client, "/v1/videos/b0/related?limit=5")
    assert ids and all(v.startswith("b") for v in ids) and "b0" not in ids

    await catalog.put(_video("brand-new", uploader="ue", title="Pasta night", tags=("food",), minutes=5))
    body, ids = await _ids(client, "/v1/videos/brand-new/related?limit=5")  # no watches: content only
    assert ids and all(v.startswith("a") for v in ids[:3]) and body["videos"][0]["score"] > 0

    missing = await client.get("/v1/videos/nope/related")
    assert missing.status == 404 and (await missing.json())["error"]["status"] == 404


async def test_a_corrupt_or_partial_artifact_is_refused_and_the_previous_model_keeps_serving(
    client: Client, stores: tuple[CatalogStore, RecsStore], source: FakeSource
) -> None:
    holder = client.app[RECS].models
    before = holder.version
    good = _model().to_bytes()
    source.announce("20261201T130000000000Z-bbbb", good[: len(good) // 2])  # partial: the digest fails
    assert not await holder.refresh()
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0x01
    source.announce("20261201T140000000000Z-cccc", bytes(flipped))  # bit-flipped, sha256 announced to match
    assert not await holder.refresh()
    source.announce("20261201T150000000000Z-dddd", good, sha256="0" * 64)  # intact, not the one announced
    assert not await holder.refresh()
    assert holder.version == before and set(holder.refused) == {
        "20261201T130000000000Z-bbbb",
        "20261201T140000000000Z-cccc",
        "20261201T150000000000Z-dddd",
    }
    body, ids = await _ids(client, "/v1/videos/b0/related")
    assert body["model_version"] == before and ids

    source.announce("20261201T160000000000Z-eeee", good)  # the next good one is taken
    assert await holder.refresh() and holder.version == "20261201T160000000000Z-eeee"


async def test_without_the_recs_service_the_routes_answer_503(stores: tuple[CatalogStore, RecsStore]) -> None:
    catalog, _ = stores
    async with TestClient(TestServer(create_app(catalog=catalog))) as c:
        response = await c.get("/v1/users/p/recommendations")
        assert response.status == 503
