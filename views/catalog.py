"""The video catalog view: rows the query API serves, and the store contract.

Designed query-first, one table per query and no joins, so the embedded
SQLite store and a Cassandra store hold the same rows:

- ``get(video_id)``            → one video by id
- ``list_newest(limit, after)`` → newest first, keyset-paginated by
  (created_at, video_id), so a page boundary never skips or repeats a row;
  only public videos are listed (``VideoRecord.listed``)
- ``visibility_of(video_id)``  → who may see a video, for the media route's
  check on every file it serves

Rows are written whole (``put``) by the catalog builder, which reads the
current row, applies an event with a pure projection and writes the result;
a store never merges fields itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from schemas.upload_complete import Visibility

__all__ = [
    "MAX_PAGE_SIZE",
    "CatalogReader",
    "CatalogStore",
    "ListCursor",
    "RenditionRecord",
    "VideoPage",
    "VideoRecord",
    "VideoStatus",
    "Visibility",
]

MAX_PAGE_SIZE = 100


class VideoStatus(StrEnum):
    """Lifecycle of a video; a later state never goes back to an earlier one."""

    UPLOADED = "uploaded"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class RenditionRecord:
    name: str
    codec: str
    width: int
    height: int
    bitrate_kbps: int
    segment_duration_s: float
    encoder: str
    manifest_key: str
    init_key: str | None = None
    segment_count: int = 0
    job_id: str = ""
    hls_master_key: str | None = None  # the job's master playlist, as the rendition reported it
    dash_manifest_key: str | None = None
    average_bitrate_kbps: int | None = None  # measured on the segments; None from a v1 event
    peak_bitrate_kbps: int | None = None
    duration_ms: int | None = None  # how long the packaged rendition plays
    poster_key: str | None = None  # the job's poster and storyboard track, as the rendition reported them
    storyboard_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class VideoRecord:
    """One video as the catalog knows it.

    ``created_at`` is the upload's event time; it is ``None`` while only
    later events (a rendition that overtook its upload) have been seen, and
    such a row is not listed until its upload arrives.
    """

    video_id: str
    status: VideoStatus
    updated_at: datetime
    created_at: datetime | None = None
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PUBLIC  # not public: never listed, searched or recommended
    uploader_id: str = ""
    object_key: str = ""
    size_bytes: int = 0
    content_type: str = ""
    duration_ms: int | None = None
    width: int | None = None
    height: int | None = None
    job_id: str | None = None
    requested_at: datetime | None = None  # event time of the transcode request that set job_id
    planned_renditions: tuple[str, ...] = ()
    renditions: tuple[RenditionRecord, ...] = field(default_factory=tuple)
    hls_master_key: str | None = None
    dash_manifest_key: str | None = None
    poster_key: str | None = None  # the current job's poster (JPEG)
    storyboard_key: str | None = None  # the current job's storyboard WebVTT track, sprite sheets beside it
    media_duration_ms: int | None = None  # how long the current job's packaged video plays
    progress_pct: float | None = None
    progress_job_id: str | None = None  # the job progress_pct belongs to
    failure_reason: str | None = None
    failed_job_id: str | None = None  # the job that failed; a newer job clears the failure
    job_progress: tuple[tuple[str, float], ...] = ()  # (job, max percent) of every job heard of
    job_failures: tuple[tuple[str, str], ...] = ()  # (job, reason) of every job that failed

    @property
    def listed(self) -> bool:
        """Whether ``list_newest`` shows it: its upload is known and it is public."""
        return self.created_at is not None and self.visibility is Visibility.PUBLIC


@dataclass(frozen=True)
class ListCursor:
    """Position after the last row of a page: (created_at, video_id), descending."""

    created_at: datetime
    video_id: str


@dataclass(frozen=True)
class VideoPage:
    videos: tuple[VideoRecord, ...]
    next_cursor: ListCursor | None


class CatalogReader(Protocol):
    """What the query API needs from the catalog, nothing more."""

    async def get(self, video_id: str) -> VideoRecord | None: ...

    async def list_newest(self, *, limit: int, after: ListCursor | None = None) -> VideoPage: ...

    async def visibility_of(self, video_id: str) -> Visibility | None:
        """Who may see the video, ``None`` if there is none: read for every unsigned media file, so cheap."""

    async def check(self) -> None:
        """Raise ``StoreUnavailableError`` if the store cannot serve reads."""


class CatalogStore(CatalogReader, Protocol):
    """The builder's side: whole-row upserts, plus a scan to compare rebuilt views."""

    async def put(self, record: VideoRecord) -> None: ...

    async def scan(self) -> list[VideoRecord]:
        """Every row, ordered by video_id."""

    async def close(self) -> None: ...
