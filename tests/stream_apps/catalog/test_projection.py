"""The catalog projection: idempotent, indifferent to how topics interleave, status derived from facts."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.rendition_ready import RenditionReady
from schemas.transcode_failed import TranscodeFailed
from schemas.transcode_progress import TranscodeProgress
from schemas.transcode_requested import PlannedRendition, TranscodeRequested, VideoCodec
from schemas.upload_complete import UploadComplete
from stream_apps.catalog.projection import CatalogEvent, project
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


def rendition(t: float, job: str, name: str, **measured: Any) -> RenditionReady:
    return RenditionReady(
        **measured,
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


def _realistic_by_topic() -> list[list[CatalogEvent]]:
    """Two jobs of one video as the topics hold them: the first fails, the second succeeds."""
    return [
        [upload(0, "first"), upload(10, "edited")],
        [request(1, "j1"), request(20, "j2", ("360p", "720p"))],
        [progress(2, "j1", 10), progress(3, "j1", 40), progress(21, "j2", 30), progress(22, "j2", 80)],
        [failed(5, "j1")],
        [rendition(23, "j2", "360p"), rendition(24, "j2", "720p")],
    ]


def _interleave(by_topic: list[list[CatalogEvent]], rng: random.Random) -> list[CatalogEvent]:
    queues = [list(q) for q in by_topic]
    merged: list[CatalogEvent] = []
    while any(queues):
        merged.append(rng.choice([q for q in queues if q]).pop(0))
    return merged


def test_redeliveries_anywhere_in_the_stream_change_nothing() -> None:
    """At-least-once: after a crash, a worker re-reads from its last commit, so events come twice."""
    by_topic = _realistic_by_topic()
    expected = fold([e for q in by_topic for e in q])
    rng = random.Random(11)
    for _ in range(200):
        merged = _interleave(by_topic, rng)
        redelivered = list(merged)
        for _ in range(rng.randint(1, 6)):
            start = rng.randrange(len(merged))
            at_ = rng.randrange(start, len(redelivered) + 1)
            redelivered[at_:at_] = merged[start : start + rng.randint(1, 3)]  # a replayed run of events
        assert fold(redelivered) == expected


def test_progress_shown_never_goes_back_within_a_job() -> None:
    rng = random.Random(3)
    for _ in range(200):
        row: VideoRecord | None = None
        shown: dict[str, float] = {}
        for event in _interleave(_realistic_by_topic(), rng):
            row = project(row, event)
            if row.progress_pct is not None:
                assert row.progress_job_id == row.job_id
                job = row.progress_job_id
                assert job is not None
                assert row.progress_pct >= shown.get(job, 0.0), (job, row.progress_pct, shown)
                shown[job] = row.progress_pct


def test_in_log_order_the_status_only_moves_forward() -> None:
    order = [VideoStatus.UPLOADED, VideoStatus.PROCESSING, VideoStatus.READY]
    events: list[CatalogEvent] = [
        upload(0),
        request(1, "j1"),
        progress(2, "j1", 20),
        rendition(3, "j1", "360p"),
        progress(4, "j1", 100),
        rendition(5, "j1", "720p"),
    ]
    seen = []
    row: VideoRecord | None = None
    for event in events:
        row = project(row, event)
        seen.append(row.status)
    assert seen == sorted(seen, key=order.index)
    assert seen[0] is VideoStatus.UPLOADED and seen[-1] is VideoStatus.READY


def test_an_old_jobs_late_failure_does_not_fail_a_ready_video() -> None:
    row = fold(
        [
            upload(0),
            request(1, "j1"),
            request(2, "j2"),
            rendition(3, "j2", "360p"),
            rendition(4, "j2", "720p"),
        ]
    )
    assert row.status is VideoStatus.READY
    late = project(row, failed(5, "j1"))
    assert late.status is VideoStatus.READY and late.failure_reason is None


def test_a_ladder_half_done_is_still_processing() -> None:
    row = fold([upload(0), request(1, "j1", ("360p", "720p", "1080p")), rendition(2, "j1", "720p")])
    assert row.status is VideoStatus.PROCESSING
    assert [r.name for r in row.renditions] == ["720p"]


def test_the_probe_fills_duration_and_size_and_an_unprobed_upload_leaves_them_unknown() -> None:
    from schemas.upload_complete import MediaProbe

    probe = MediaProbe(duration_ms=61_000, width=1920, height=1080, frame_rate=30.0, video_codec="h264")
    row = fold([dataclasses.replace(upload(0), probe=probe)])
    assert (row.duration_ms, row.width, row.height) == (61_000, 1920, 1080)
    assert (fold([upload(0)]).duration_ms, fold([upload(0)]).width) == (None, None)


def test_a_new_job_is_not_ready_on_an_older_jobs_renditions() -> None:
    """An empty ladder lets the transcoder choose; until the new job's renditions come, it is processing."""
    row = fold([upload(0), request(1, "j1", ("360p",)), rendition(2, "j1", "360p")])
    assert row.status is VideoStatus.READY
    row = project(row, request(3, "j2", ()))
    assert (row.status, row.hls_master_key) == (VideoStatus.PROCESSING, None)
    row = project(row, rendition(4, "j2", "720p"))
    assert (row.status, row.hls_master_key) == (VideoStatus.READY, "j2/master.m3u8")


def test_the_current_jobs_poster_storyboard_duration_and_measured_bitrates_are_kept() -> None:
    def thumbs(job: str, ms: int) -> dict[str, Any]:
        return {
            "poster_key": f"{job}/poster.jpg",
            "storyboard_key": f"{job}/storyboard.vtt",
            "duration_ms": ms,
            "average_bitrate_kbps": 90,
            "peak_bitrate_kbps": 120,
        }

    row = fold([upload(0), request(1, "j1"), rendition(2, "j1", "360p", **thumbs("j1", 8000))])
    assert (row.poster_key, row.storyboard_key, row.media_duration_ms) == (
        "j1/poster.jpg",
        "j1/storyboard.vtt",
        8000,
    )
    [r] = row.renditions
    assert (r.average_bitrate_kbps, r.peak_bitrate_kbps, r.bitrate_kbps) == (90, 120, 100)
    newer = project(row, request(3, "j2"))  # a new job: the old job's pictures are not its own
    assert (newer.poster_key, newer.storyboard_key, newer.media_duration_ms) == (None, None, None)
    done = project(newer, rendition(4, "j2", "360p", **thumbs("j2", 7990)))
    assert (done.poster_key, done.media_duration_ms) == ("j2/poster.jpg", 7990)


def test_a_v1_rendition_without_thumbnails_or_measurements_leaves_them_unknown() -> None:
    row = fold([upload(0), request(1, "j1"), rendition(2, "j1", "360p")])
    assert (row.poster_key, row.storyboard_key, row.media_duration_ms) == (None, None, None)
    assert row.renditions[0].average_bitrate_kbps is None


def test_the_upload_sets_the_visibility_and_a_newer_upload_changes_it() -> None:
    from schemas.upload_complete import Visibility

    row = project(None, dataclasses.replace(upload(0), visibility=Visibility.UNLISTED))
    assert row.visibility is Visibility.UNLISTED and not row.listed
    older = project(row, dataclasses.replace(upload(-5), visibility=Visibility.PUBLIC))
    assert older.visibility is Visibility.UNLISTED  # an older upload's word changes nothing
    newer = project(row, dataclasses.replace(upload(5), visibility=Visibility.PRIVATE))
    assert newer.visibility is Visibility.PRIVATE
    assert project(None, upload(0)).visibility is Visibility.PUBLIC and project(None, upload(0)).listed
