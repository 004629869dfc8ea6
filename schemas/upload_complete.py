"""``upload-complete``: a source video is stored and ready for the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["MediaProbe", "UploadComplete", "Visibility"]


class Visibility(StrEnum):
    """Who may find and watch a video (PeerTube's three levels).

    ``public``: listed, searched, recommended; ``unlisted``: watchable by anyone
    with its link, found nowhere; ``private``: as unlisted, and only its uploader
    may read it. Events written before v3 hold no visibility and read as public.
    """

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


@dataclass(frozen=True, kw_only=True)
class MediaProbe:
    duration_ms: int
    width: int
    height: int
    frame_rate: float
    video_codec: str
    audio_codec: str | None = None
    bit_rate: int | None = None
    container: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_ms": self.duration_ms,
            "width": self.width,
            "height": self.height,
            "frame_rate": self.frame_rate,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "bit_rate": self.bit_rate,
            "container": self.container,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MediaProbe:
        return cls(
            duration_ms=int(d["duration_ms"]),
            width=int(d["width"]),
            height=int(d["height"]),
            frame_rate=float(d["frame_rate"]),
            video_codec=str(d["video_codec"]),
            audio_codec=d.get("audio_codec"),
            bit_rate=d.get("bit_rate"),
            container=str(d.get("container", "")),
        )


@dataclass(frozen=True, kw_only=True)
class UploadComplete:
    event_id: str
    occurred_at: datetime
    video_id: str
    uploader_id: str
    object_key: str
    size_bytes: int
    content_type: str
    title: str
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    probe: MediaProbe | None = None
    visibility: Visibility = Visibility.PUBLIC

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "video_id": self.video_id,
            "uploader_id": self.uploader_id,
            "object_key": self.object_key,
            "size_bytes": self.size_bytes,
            "content_type": self.content_type,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "probe": self.probe.to_dict() if self.probe else None,
            "visibility": self.visibility.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UploadComplete:
        probe = d.get("probe")
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            video_id=d["video_id"],
            uploader_id=d["uploader_id"],
            object_key=d["object_key"],
            size_bytes=d["size_bytes"],
            content_type=d["content_type"],
            title=d["title"],
            description=d.get("description", ""),
            tags=tuple(d.get("tags", ())),
            probe=MediaProbe.from_dict(probe) if probe else None,
            visibility=Visibility(d.get("visibility", "public")),
        )
