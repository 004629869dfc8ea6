"""The search view follows the catalog: pure projection, the indexer on real stores, and the whole path
(events on Kafka → the worker → /v1/search) with a rebuild from the log."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stream_apps.playback.aggregates import BucketKey, PlaybackStats
from stream_apps.playback.rows import stats_to_document
from stream_apps.search.indexer import SearchIndexer
from stream_apps.search.popularity import PopularityPusher
from stream_apps.search.projection import POPULARITY_WINDOWS, Popularity, popularity_by_video, search_document
from views.catalog import VideoRecord, VideoStatus
from views.playback import MinuteRow
from views.search.model import SearchQuery, SearchStore
from views.stores import open_playback_store, open_search_store

from harness import Platform, http_json

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


def _row(**fields: Any) -> VideoRecord:
    base: dict[str, Any] = {
        "video_id": "v1",
        "status": VideoStatus.READY,
        "updated_at": NOW,
        "created_at": NOW - timedelta(days=1),
        "title": "Sailing around the world",
        "tags": ("sea",),
    }
    return VideoRecord(**(base | fields))


def test_a_row_without_its_upload_has_no_document_and_a_whole_row_has_one() -> None:
    assert search_document(_row(created_at=None)) is None
    doc = search_document(_row(), Popularity(views_24h=2, views_7d=5))
    assert doc is not None
    assert (doc.title, doc.status, doc.tags, doc.views_24h, doc.views_7d) == (
        "Sailing around the world", "ready", ("sea",), 2, 5,
    )  # fmt: skip


def test_popularity_counts_views_of_the_last_day_and_week() -> None:
    buckets = {
        BucketKey("v1", NOW - timedelta(minutes=5)): PlaybackStats(views=3),
        BucketKey("v1", NOW - timedelta(days=2)): PlaybackStats(views=4),
        BucketKey("v1", NOW - timedelta(days=8)): PlaybackStats(views=100),  # outside the week
        BucketKey("v2", NOW - timedelta(hours=3)): PlaybackStats(views=1),
    }
    assert popularity_by_video(buckets, now=NOW) == {"v1": Popularity(3, 7), "v2": Popularity(1, 1)}


async def test_the_indexer_writes_what_search_shows_with_popularity_and_skips_the_rest(
    tmp_path: Path,
) -> None:
    search = open_search_store(f"sqlite:///{tmp_path / 'search.db'}")
    playback = open_playback_store(f"sqlite:///{tmp_path / 'playback.db'}")
    await playback.write(
        [MinuteRow("v1", NOW - timedelta(hours=1), 0, stats_to_document(PlaybackStats(views=6)))],
        offsets={0: 1},
    )
    indexer = SearchIndexer(search, playback=playback)
    try:
        await indexer.on_row(None, _row())
        page = await search.search(SearchQuery(q="sailing"))
        assert [h.video_id for h in page.hits] == ["v1"]
        suggestion = (await search.suggest("sail"))[0]
        assert suggestion.popularity == 6  # views of the week, read from the playback view

        await search.delete("v1")
        await indexer.on_row(_row(), dataclasses.replace(_row(), progress_pct=50.0))  # nothing search shows
        assert (await search.search(SearchQuery(q="sailing"))).total == 0

        await indexer.on_row(_row(), _row(title="Sailing around the world, again"))
        assert (await search.search(SearchQuery(q="again"))).total == 1
    finally:
        await indexer.close()


def _publish(platform: Platform, event_type: str, doc: dict[str, Any]) -> None:
    platform.run("publish", event_type, "-", input_text=json.dumps(doc))


def _search(platform: Platform, **params: str) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    status, body = http_json(f"{platform.api}/v1/search?{query}")
    assert status == 200, body
    return [v["id"] for v in body["videos"]]


@pytest.mark.kafka
def test_a_published_video_is_found_once_ready_and_a_rebuild_finds_it_too(platform: Platform) -> None:
    video_id, job_id = f"vid-{uuid.uuid4().hex[:8]}", "job-1"
    word = f"zebra{uuid.uuid4().hex[:6]}"  # a word only this video has
    _publish(
        platform,
        "upload-complete",
        {
            "video_id": video_id,
            "uploader_id": "user-1",
            "object_key": f"uploads/{video_id}/source.mp4",
            "size_bytes": 1000,
            "content_type": "video/mp4",
            "title": f"The {word} crossing",
            "description": "made by a test",
            "tags": ["wildlife"],
        },
    )
    platform.wait_for(lambda: http_json(f"{platform.api}/v1/videos/{video_id}")[0] == 200, what="the upload")
    assert _search(platform, q=word) == []  # not watchable yet

    base = f"videos/{video_id}/{job_id}"
    _publish(
        platform,
        "rendition-ready",
        {
            "job_id": job_id, "video_id": video_id, "name": "360p", "codec": "H264", "width": 640,
            "height": 360, "bitrate_kbps": 800, "segment_duration_s": 4.0, "encoder": "libx264",
            "manifest_key": f"{base}/360p.m3u8", "hls_master_key": f"{base}/master.m3u8",
        },
    )  # fmt: skip
    found = platform.wait_for(lambda: _search(platform, q=word[:-2]), what="the video in search")  # a prefix
    assert found == [video_id]

    rebuilt = f"sqlite:///{platform.home / 'rebuilt-search.db'}"
    out = platform.run("search", "rebuild", "--into", rebuilt)
    assert "swapped into" in out

    async def search_rebuilt() -> list[str]:
        store = open_search_store(rebuilt)
        try:
            return [h.video_id for h in (await store.search(SearchQuery(q=word))).hits]
        finally:
            await store.close()

    assert asyncio.run(search_rebuilt()) == [video_id]


async def _index_two_sailing_videos(search: SearchStore) -> None:
    for video_id, title in (("v1", "Sailing north"), ("v2", "Sailing south")):
        doc = search_document(_row(video_id=video_id, title=title))
        assert doc is not None
        await search.put(doc)


async def test_the_pusher_moves_view_counts_only_where_they_changed(tmp_path: Path) -> None:
    search = open_search_store(f"sqlite:///{tmp_path / 'search.db'}")
    playback = open_playback_store(f"sqlite:///{tmp_path / 'playback.db'}")
    pusher = PopularityPusher(search)
    try:
        await _index_two_sailing_videos(search)
        minute = NOW - timedelta(hours=2)
        rows = [MinuteRow("v2", minute, 0, stats_to_document(PlaybackStats(views=9)))]
        await playback.write(rows, offsets={0: 1})

        assert await pusher.refresh(playback, now=NOW) == 1
        assert [s.video_id for s in await search.suggest("sailing")] == ["v2", "v1"]  # most viewed first
        assert await pusher.refresh(playback, now=NOW) == 0  # nothing moved

        assert await pusher.refresh(playback, now=NOW + timedelta(days=8)) == 1  # aged out: back to 0
        assert {s.popularity for s in await search.suggest("sailing")} == {0}
    finally:
        await playback.close()
        await search.close()


async def test_the_pusher_takes_the_trend_trackers_counts_with_the_same_rules(tmp_path: Path) -> None:
    search = open_search_store(f"sqlite:///{tmp_path / 'search.db'}")
    pusher = PopularityPusher(search)
    try:
        await _index_two_sailing_videos(search)
        assert PopularityPusher.WINDOWS == POPULARITY_WINDOWS  # the order of the counts: day, week
        assert await pusher.push_views({"v2": (9, 9), "v1": (0, 2)}) == 2
        assert [s.video_id for s in await search.suggest("sailing")] == ["v2", "v1"]
        assert await pusher.push_views({"v2": (9, 9), "v1": (0, 2)}) == 0  # nothing moved
        assert await pusher.push_views({"v1": (0, 2)}) == 1  # v2 aged out: back to 0
        assert [s.video_id for s in await search.suggest("sailing")] == ["v1", "v2"]
    finally:
        await search.close()


@pytest.mark.kafka
def test_views_counted_by_the_analytics_worker_reach_search(platform: Platform) -> None:
    platform.start("analytics", "analytics", "run", "--boards-every", "1")
    video_id, job_id = f"vid-{uuid.uuid4().hex[:8]}", "job-1"
    word = f"quokka{uuid.uuid4().hex[:6]}"
    _publish(
        platform,
        "upload-complete",
        {
            "video_id": video_id, "uploader_id": "user-1", "object_key": f"uploads/{video_id}/source.mp4",
            "size_bytes": 1000, "content_type": "video/mp4", "title": f"A {word} at dawn", "tags": [],
        },
    )  # fmt: skip
    _publish(
        platform,
        "rendition-ready",
        {
            "job_id": job_id, "video_id": video_id, "name": "360p", "codec": "H264", "width": 640,
            "height": 360, "bitrate_kbps": 800, "segment_duration_s": 4.0, "encoder": "libx264",
            "manifest_key": f"videos/{video_id}/{job_id}/360p.m3u8",
        },
    )  # fmt: skip
    platform.wait_for(lambda: _search(platform, q=word), what="the video in search")
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    for viewer in ("viewer-a", "viewer-b"):  # two sessions of 12 s each: two views
        session = f"s-{uuid.uuid4().hex[:8]}"
        for kind, offset_s in (("START", 0), ("HEARTBEAT", 12)):
            at = (started + timedelta(seconds=offset_s)).isoformat().replace("+00:00", "Z")
            _publish(
                platform,
                "playback-event",
                {
                    "session_id": session, "user_pseudonym": viewer, "video_id": video_id, "kind": kind,
                    "position_ms": offset_s * 1000, "occurred_at": at, "received_at": at, "client": "test",
                    "ip_pseudonym": "ip", "video_duration_ms": 600_000,
                },
            )  # fmt: skip

    def popularity() -> list[int]:
        status, body = http_json(f"{platform.api}/v1/search/suggest?q={word}")
        return [s["popularity"] for s in body["suggestions"]] if status == 200 else []

    platform.wait_for(lambda: popularity() == [2], timeout_s=60, what="both views to reach search")
