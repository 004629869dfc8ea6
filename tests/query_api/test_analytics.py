"""Analytics routes' parameters and their absence; the numbers are tested end to end with Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from query_api.app import create_app
from stream_apps.playback.aggregates import PlaybackStats
from stream_apps.playback.rows import stats_to_document
from stream_apps.trending.board import TrendingBoard, board_row
from stream_apps.trending.score import VideoTrend
from views.playback import BoardRow, MinuteRow, PlaybackStore
from views.stores import open_catalog_store, open_playback_store

Client = TestClient[Any, Any]


@pytest.fixture
async def playback(tmp_path: Path) -> AsyncIterator[PlaybackStore]:
    store = open_playback_store(f"sqlite:///{tmp_path / 'playback.db'}")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def client(tmp_path: Path, playback: PlaybackStore) -> AsyncIterator[Client]:
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    try:
        async with TestClient(TestServer(create_app(catalog=catalog, playback=playback))) as c:
            yield c
    finally:
        await catalog.close()


def _viewed_now(video: str, *viewers: str) -> MinuteRow:
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    stats = PlaybackStats(views=len(viewers), viewers=frozenset(viewers), events=len(viewers))
    return MinuteRow(video, minute, 0, stats_to_document(stats))


async def test_trending_serves_the_stored_board_while_it_is_fresh(
    client: Client, playback: PlaybackStore
) -> None:
    await playback.write([_viewed_now("in-the-minutes", "u1")], offsets={0: 1})
    board = TrendingBoard(
        window="1h",
        generated_at=datetime.now(UTC) - timedelta(seconds=5),
        videos=tuple(VideoTrend(video_id=f"v{i}", score=10.0 - i, unique_viewers=3) for i in range(5)),
    )
    await playback.write_board(board_row(board))

    response = await client.get("/v1/trending?window=1h&limit=3")

    body = await response.json()
    assert response.status == 200
    assert body["source"] == "board"
    assert [v["video_id"] for v in body["videos"]] == ["v0", "v1", "v2"]
    assert body["generated_at"] == board.generated_at.isoformat(timespec="seconds").replace("+00:00", "Z")


async def test_an_unreadable_board_is_scored_live_instead_of_failing(
    client: Client, playback: PlaybackStore
) -> None:
    await playback.write([_viewed_now("a", "u1")], offsets={0: 1})
    for document in ("not json", '{"videos": []}', '{"generated_at_ms": 1, "videos": [["v"]]}'):
        await playback.write_board(BoardRow("1h", document))
        response = await client.get("/v1/trending?window=1h")
        body = await response.json()
        assert response.status == 200
        assert body["source"] == "live"
        assert [v["video_id"] for v in body["videos"]] == ["a"]


async def test_without_a_fresh_board_trending_is_scored_from_the_minutes(
    client: Client, playback: PlaybackStore
) -> None:
    await playback.write([_viewed_now("a", "u1"), _viewed_now("b", "u1", "u2")], offsets={0: 2})
    response = await client.get("/v1/trending?window=1h")
    assert (await response.json())["source"] == "live"  # no board at all yet

    stale = TrendingBoard(
        window="1h",
        generated_at=datetime.now(UTC) - timedelta(minutes=5),  # no worker has refreshed it since
        videos=(VideoTrend(video_id="gone", score=99.0, unique_viewers=9),),
    )
    await playback.write_board(board_row(stale))
    response = await client.get("/v1/trending?window=1h")

    body = await response.json()
    assert body["source"] == "live"
    assert [v["video_id"] for v in body["videos"]] == ["b", "a"]
    assert body["videos"][0]["unique_viewers"] == 2


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


async def test_stats_change_as_soon_as_the_minutes_do(client: Client, playback: PlaybackStore) -> None:
    """The encoded answer is kept per range and rows read: new rows, or a rewritten one, show at once."""
    await playback.write([_viewed_now("v1", "a")], offsets={0: 1})
    for _ in range(2):  # the second answer comes from what the first one kept
        totals = (await (await client.get("/v1/videos/v1/stats")).json())["totals"]
        assert (totals["views"], totals["unique_viewers"]) == (1, 1)

    await playback.write([_viewed_now("v1", "a", "b", "c")], offsets={0: 2})  # the same minute, rewritten
    totals = (await (await client.get("/v1/videos/v1/stats")).json())["totals"]
    assert (totals["views"], totals["unique_viewers"]) == (3, 3)

    row = _viewed_now("v1", "d")
    await playback.write([MinuteRow("v1", row.minute, 1, row.document)], offsets={1: 1})  # another partition
    totals = (await (await client.get("/v1/videos/v1/stats")).json())["totals"]
    assert (totals["views"], totals["unique_viewers"]) == (4, 4)


async def test_stats_say_which_part_of_the_range_is_final_and_which_is_provisional(
    tmp_path: Path, playback: PlaybackStore
) -> None:
    """Backfills can change a minute until its horizon has passed; the answer says where that is."""
    now = datetime.now(UTC)
    catalog = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    app = create_app(catalog=catalog, playback=playback, backfill_horizon=timedelta(hours=1))
    start = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    query = f"from={start.isoformat()}&to={now.isoformat()}&step=10m".replace("+00:00", "Z")
    try:
        async with TestClient(TestServer(app)) as c:
            response = await c.get(f"/v1/videos/v1/stats?{query}")
            body = await response.json()
    finally:
        await catalog.close()
    assert response.status == 200
    final_until = datetime.fromisoformat(body["final_until"])
    settled_until = datetime.fromisoformat(body["settled_until"])
    # a minute m is final once m + 1 min + the horizon has passed, settled after the 5 min lateness
    assert now - timedelta(hours=1, minutes=2) < final_until <= now - timedelta(hours=1)
    assert now - timedelta(minutes=7) < settled_until <= now - timedelta(minutes=5)
    assert body["provisional_from"] == body["final_until"]
    statuses = [(datetime.fromisoformat(p["end"]), p["status"]) for p in body["points"]]
    assert {s for _, s in statuses} == {"final", "settled", "open"}
    for end, status in statuses:
        assert status == ("final" if end <= final_until else "settled" if end <= settled_until else "open")
    assert [s for _, s in statuses] == sorted(
        (s for _, s in statuses), key=["final", "settled", "open"].index
    )


async def test_a_range_starting_inside_a_minute_counts_that_whole_minute(
    client: Client, playback: PlaybackStore
) -> None:
    """``from`` 5 s into a minute: the answer's first point starts at that minute, and holds its views."""
    row = _viewed_now("v1", "a", "b")
    await playback.write([row], offsets={0: 1})
    start, end = (_iso(row.minute + timedelta(seconds=s)) for s in (5, 120))
    body = await (await client.get(f"/v1/videos/v1/stats?from={start}&to={end}")).json()
    assert datetime.fromisoformat(body["from"]) == row.minute
    assert (body["totals"]["views"], body["totals"]["unique_viewers"]) == (2, 2)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
