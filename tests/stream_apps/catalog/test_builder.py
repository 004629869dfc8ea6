"""Raw catalog messages → stored rows: what the live agent and the rebuild both do, message by message."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas import codec
from schemas.registry import Event, event_type_of
from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import PlannedRendition, TranscodeRequested, VideoCodec
from schemas.upload_complete import UploadComplete
from stream_apps.catalog.builder import CATALOG_SOURCES, CatalogBuilder
from stream_apps.errors import RejectedMessageError
from topics.catalogue import (
    RENDITION_READY_TOPIC,
    TRANSCODE_FAILED_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    TRANSCODE_REQUESTED_TOPIC,
    UPLOAD_COMPLETE_TOPIC,
    TopicSpec,
    topic_for_event_type,
)
from views.catalog import VideoStatus
from views.sqlite_catalog import SqliteCatalogStore

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)

Message = tuple[TopicSpec, bytes | None, bytes | None]


def _id() -> str:
    return str(uuid.uuid4())


def message(event: Event) -> Message:
    spec = topic_for_event_type(event_type_of(event))
    return spec, spec.key_of(event), codec.encode(event)


def video_messages(video_id: str, *, t: float = 0) -> list[Message]:
    """One video's life, as the five topics hold it."""

    def at(s: float) -> datetime:
        return T0 + timedelta(seconds=t + s)

    ladder = tuple(
        PlannedRendition(name=n, codec=VideoCodec.H264, width=w, height=h, bitrate_kbps=k, frame_rate=25.0)
        for n, w, h, k in (("360p", 640, 360, 800), ("720p", 1280, 720, 3000))
    )
    job = f"job-{video_id}"
    events: list[Event] = [
        UploadComplete(
            event_id=_id(),
            occurred_at=at(0),
            video_id=video_id,
            uploader_id="user-1",
            object_key=f"uploads/{video_id}/source.mp4",
            size_bytes=10,
            content_type="video/mp4",
            title=f"title of {video_id}",
        ),
        TranscodeRequested(
            event_id=_id(), occurred_at=at(1), job_id=job, video_id=video_id, source_key="s", ladder=ladder
        ),
        TranscodeProgress(event_id=_id(), occurred_at=at(2), job_id=job, video_id=video_id, percent=55.0),
    ]
    events += [
        RenditionReady(
            event_id=_id(),
            occurred_at=at(3 + i),
            job_id=job,
            video_id=video_id,
            name=r.name,
            codec=r.codec,
            width=r.width,
            height=r.height,
            bitrate_kbps=r.bitrate_kbps,
            segment_duration_s=4.0,
            manifest_key=f"videos/{video_id}/{job}/{r.name}.m3u8",
            hls_master_key=f"videos/{video_id}/{job}/master.m3u8",
        )
        for i, r in enumerate(ladder)
    ]
    return [message(e) for e in events]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteCatalogStore]:
    s = SqliteCatalogStore(tmp_path / "catalog.db")
    yield s
    await s.close()


async def apply_all(builder: CatalogBuilder, messages: list[Message]) -> None:
    for spec, key, value in messages:
        await builder.apply(spec, key, value)


async def test_a_videos_messages_build_its_row_in_the_store(store: SqliteCatalogStore) -> None:
    builder = CatalogBuilder(store)
    messages = video_messages("vid-1")

    await builder.apply(*messages[0])
    row = await store.get("vid-1")
    assert row is not None and row.status is VideoStatus.UPLOADED and row.title == "title of vid-1"

    await apply_all(builder, messages[1:])
    row = await store.get("vid-1")
    assert row is not None
    assert row.status is VideoStatus.READY
    assert [r.name for r in row.renditions] == ["360p", "720p"]
    assert row.hls_master_key == "videos/vid-1/job-vid-1/master.m3u8"
    page = await store.list_newest(limit=10)
    assert [v.video_id for v in page.videos] == ["vid-1"]


async def test_apply_returns_the_row_it_stored(store: SqliteCatalogStore) -> None:
    returned = await CatalogBuilder(store).apply(*video_messages("vid-1")[0])
    assert returned == await store.get("vid-1")


async def test_every_message_applied_twice_gives_the_rows_of_once(tmp_path: Path) -> None:
    once, twice = SqliteCatalogStore(tmp_path / "once.db"), SqliteCatalogStore(tmp_path / "twice.db")
    try:
        messages = video_messages("vid-1") + video_messages("vid-2", t=60)
        await apply_all(CatalogBuilder(once), messages)
        await apply_all(CatalogBuilder(twice), [m for m in messages for _ in range(2)])
        assert await twice.scan() == await once.scan()
    finally:
        await once.close()
        await twice.close()


async def test_a_replay_in_another_topic_order_builds_the_same_rows(tmp_path: Path) -> None:
    """The live agent reads topics as they come; the rebuild reads them topic by topic."""
    messages = video_messages("vid-1") + video_messages("vid-2", t=60) + video_messages("vid-3", t=120)
    # rendition-ready first, upload-complete last; sorted() is stable, so each topic keeps its order
    last_topic_first = sorted(messages, key=lambda m: -CATALOG_SOURCES.index(m[0]))
    rng = random.Random(5)
    stores: list[SqliteCatalogStore] = []
    try:
        for order in (messages, last_topic_first, _shuffle_keeping_topic_order(messages, rng)):
            store = SqliteCatalogStore(tmp_path / f"{len(stores)}.db")
            stores.append(store)
            await apply_all(CatalogBuilder(store), order)
        rows = [await s.scan() for s in stores]
        assert rows[0] == rows[1] == rows[2]
        assert [r.video_id for r in rows[0]] == ["vid-1", "vid-2", "vid-3"]
        assert {r.status for r in rows[0]} == {VideoStatus.READY}
    finally:
        for store in stores:
            await store.close()


def _shuffle_keeping_topic_order(messages: list[Message], rng: random.Random) -> list[Message]:
    queues: dict[str, list[Message]] = {}
    for m in messages:
        queues.setdefault(m[0].name, []).append(m)
    out: list[Message] = []
    while any(queues.values()):
        out.append(rng.choice([q for q in queues.values() if q]).pop(0))
    return out


async def test_a_keyless_message_is_accepted(store: SqliteCatalogStore) -> None:
    spec, _, value = video_messages("vid-1")[0]
    row = await CatalogBuilder(store).apply(spec, None, value)
    assert row.video_id == "vid-1"


@pytest.mark.parametrize(
    ("spec", "value", "reason"),
    [
        (UPLOAD_COMPLETE_TOPIC, None, "tombstone"),
        (UPLOAD_COMPLETE_TOPIC, b"", "not an Avro single-object"),
        (UPLOAD_COMPLETE_TOPIC, b'{"video_id": "vid-1"}', "not an Avro single-object"),
        (TRANSCODE_PROGRESS_TOPIC, codec.MAGIC + b"\x00" * 8, "not on record"),
    ],
)
async def test_undecodable_messages_are_rejected_and_store_nothing(
    store: SqliteCatalogStore, spec: TopicSpec, value: bytes | None, reason: str
) -> None:
    with pytest.raises(RejectedMessageError, match=reason) as raised:
        await CatalogBuilder(store).apply(spec, b"vid-1", value)
    assert reason in raised.value.reason  # what the dead-letter header will say
    assert await store.scan() == []


async def test_a_truncated_event_is_rejected(store: SqliteCatalogStore) -> None:
    spec, key, value = video_messages("vid-1")[1]
    assert value is not None
    with pytest.raises(RejectedMessageError, match="transcode-requested"):
        await CatalogBuilder(store).apply(spec, key, value[:-5])
    assert await store.scan() == []


@pytest.mark.parametrize(
    "wrong_topic", [TRANSCODE_REQUESTED_TOPIC, TRANSCODE_FAILED_TOPIC, RENDITION_READY_TOPIC]
)
async def test_an_event_on_another_types_topic_is_rejected(
    store: SqliteCatalogStore, wrong_topic: TopicSpec
) -> None:
    _, key, value = video_messages("vid-1")[0]  # an upload-complete
    with pytest.raises(RejectedMessageError, match="expected a"):
        await CatalogBuilder(store).apply(wrong_topic, key, value)
    assert await store.scan() == []


async def test_a_key_that_is_not_the_video_id_is_rejected(store: SqliteCatalogStore) -> None:
    """Keyed by another video, the event would be ordered with that video's events, not its own."""
    builder = CatalogBuilder(store)
    spec, _, value = video_messages("vid-1")[0]
    with pytest.raises(RejectedMessageError, match="does not match video_id"):
        await builder.apply(spec, b"vid-2", value)
    assert await store.scan() == []


async def test_an_empty_video_id_is_rejected(store: SqliteCatalogStore) -> None:
    failed = TranscodeFailed(
        event_id=_id(), occurred_at=T0, job_id="j", video_id="", reason="x", permanent=True
    )
    spec, _, value = message(failed)
    with pytest.raises(RejectedMessageError, match="empty video_id"):
        await CatalogBuilder(store).apply(spec, None, value)
    assert await store.scan() == []


def test_the_catalog_reads_every_topic_that_describes_a_video() -> None:
    assert {s.name for s in CATALOG_SOURCES} == {
        "upload-complete",
        "transcode-requested",
        "transcode-progress",
        "transcode-failed",
        "rendition-ready",
    }
