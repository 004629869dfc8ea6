"""The catalog projection: idempotent, indifferent to how topics interleave, status derived from facts."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import PlannedRendition, TranscodeRequested, VideoCodec
from schemas.upload_complete import UploadComplete
from stream_apps.catalog_projection import CatalogEvent, project
from views.catalog import VideoRecord, VideoStatus

T0 = datetime(2026, 11, 24, 12, tzinfo=UTC)
_ids = itertools.count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def upload(t: float, title: str = "t") -> UploadComplete:
    return UploadComplete(
        event_id=f"e{next(_ids)}",
        occurred_at=at(t),
        video_id="v",
        uploader_id="u",
        object_key="src",
        size_bytes=1,
        content_type="video/mp4",
        title=title,
        description="",
        tags=(),
    )


def request(t: float, job: str, names: Sequence[str] = ("360p", "720p")) -> TranscodeRequested:
    ladder = tuple(
        PlannedRendition(name=n, codec=VideoCodec.H264, width=16, height=9, bitrate_kbps=100, frame_rate=25.0)
        for n in names
    )
    return TranscodeRequested(
        event_id=f"e{next(_ids)}",
        occurred_at=at(t),
        job_id=job,
        video_id="v",
        source_key="src",
        ladder=ladder,
    )


def progress(t: float, job: str, pct: float) -> TranscodeProgress:
    return TranscodeProgress(
        event_id=f"e{next(_ids)}", occurred_at=at(t), job_id=job, video_id="v", percent=pct
    )


def failed(t: float, job: str) -> TranscodeFailed:
    return TranscodeFailed(
        event_id=f"e{next(_ids)}",
        occurred_at=at(t),
        job_id=job,
        video_id="v",
        reason="moov atom not found",
        permanent=True,
        attempts=1,
    )


def rendition(t: float, job: str, name: str) -> RenditionReady:
    return RenditionReady(
        event_id=f"e{next(_ids)}",
        occurred_at=at(t),
        job_id=job,
        video_id="v",
        name=name,
        codec=VideoCodec.H264,
        width=16,
        height=int(name.rstrip("p")),
        bitrate_kbps=100,
        segment_duration_s=4.0,
        manifest_key=f"{job}/{name}.m3u8",
        hls_master_key=f"{job}/master.m3u8",
        dash_manifest_key=f"{job}/manifest.mpd",
    )


def fold(events: Sequence[CatalogEvent]) -> VideoRecord:
    row: VideoRecord | None = None
    for event in events:
        row = project(row, event)
    assert row is not None
    return row


def test_status_moves_from_uploaded_to_processing_to_ready() -> None:
    row = fold([upload(0)])
    assert row.status is VideoStatus.UPLOADED
    row = project(row, request(1, "j1"))
    assert row.status is VideoStatus.PROCESSING
    row = project(project(row, progress(2, "j1", 40.0)), rendition(3, "j1", "360p"))
    assert (row.status, row.progress_pct) == (VideoStatus.PROCESSING, 40.0)
    row = project(row, rendition(4, "j1", "720p"))
    assert row.status is VideoStatus.READY
    assert row.hls_master_key == "j1/master.m3u8"


def test_applying_an_event_twice_changes_nothing() -> None:
    events: list[CatalogEvent] = [
        upload(0),
        request(1, "j1"),
        progress(2, "j1", 50),
        rendition(3, "j1", "360p"),
    ]
    once = fold(events)
    for event in events:
        assert project(once, event) == once


def test_progress_only_grows_within_a_job() -> None:
    row = fold([upload(0), request(1, "j1"), progress(3, "j1", 70.0), progress(2, "j1", 30.0)])
    assert row.progress_pct == 70.0
    assert fold([upload(0), request(1, "j1"), progress(2, "j1", 130.0)]).progress_pct == 100.0


def test_a_failure_belongs_to_its_job_and_a_newer_request_clears_it() -> None:
    row = fold([upload(0), request(1, "j1"), failed(2, "j1")])
    assert (row.status, row.failure_reason) == (VideoStatus.FAILED, "moov atom not found")
    row = project(row, request(3, "j2"))
    assert (row.status, row.failure_reason) == (VideoStatus.PROCESSING, None)
    assert project(row, failed(4, "j1")).status is VideoStatus.PROCESSING  # the old job's late failure


def test_the_newest_upload_wins_whatever_the_order() -> None:
    assert fold([upload(0, "old"), upload(5, "new")]).title == "new"
    assert fold([upload(5, "new"), upload(0, "old")]).title == "new"


def test_a_rendition_before_its_upload_makes_an_unlisted_row() -> None:
    row = fold([rendition(3, "j1", "360p")])
    assert row.created_at is None
    assert project(row, upload(0)).created_at == at(0)


def test_every_interleaving_of_the_topics_gives_the_same_row() -> None:
    """Each topic keeps its own order; across topics, a live worker and a replay may read in any order."""
    by_topic: list[list[CatalogEvent]] = [
        [upload(0, "first"), upload(10, "edited")],
        [request(1, "j1"), request(20, "j2", ("360p",))],
        [progress(2, "j1", 10), progress(21, "j2", 50), progress(22, "j2", 90)],
        [failed(5, "j1")],
        [rendition(4, "j1", "360p"), rendition(23, "j2", "360p")],
    ]
    rng = random.Random(7)
    rows = set()
    for _ in range(300):
        queues = [list(q) for q in by_topic]
        merged: list[CatalogEvent] = []
        while any(queues):
            merged.append(rng.choice([q for q in queues if q]).pop(0))
        rows.add(repr(fold(merged)))
    assert len(rows) == 1
    final = fold([e for q in by_topic for e in q])
    assert repr(final) in rows
    assert final.status is VideoStatus.READY and final.job_id == "j2"
    assert final.title == "edited"
    assert final.hls_master_key == "j2/master.m3u8"
    assert final.progress_pct == 90.0 and final.failure_reason is None
