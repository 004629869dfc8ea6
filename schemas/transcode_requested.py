"""``transcode-requested``: encode one source into a ladder of renditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["PlannedRendition", "TranscodeRequested", "VideoCodec"]


class VideoCodec(StrEnum):
    H264 = "H264"
    H265 = "H265"
    VP9 = "VP9"
    AV1 = "AV1"


@dataclass(frozen=True, kw_only=True)
class PlannedRendition:
    name: str
    codec: VideoCodec
    width: int
    height: int
    bitrate_kbps: int
    frame_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "codec": self.codec.value,
            "width": self.width,
            "height": self.height,
            "bitrate_kbps": self.bitrate_kbps,
            "frame_rate": self.frame_rate,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedRendition:
        return cls(
            name=d["name"],
            codec=VideoCodec(d["codec"]),
            width=d["width"],
            height=d["height"],
            bitrate_kbps=d["bitrate_kbps"],
            frame_rate=d["frame_rate"],
        )


@dataclass(frozen=True, kw_only=True)
class TranscodeRequested:
    event_id: str
    occurred_at: datetime
    job_id: str
    video_id: str
    source_key: str
    ladder: tuple[PlannedRendition, ...]
    segment_duration_s: float = 4.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "job_id": self.job_id,
            "video_id": self.video_id,
            "source_key": self.source_key,
            "segment_duration_s": self.segment_duration_s,
            "ladder": [r.to_dict() for r in self.ladder],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeRequested:
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            job_id=d["job_id"],
            video_id=d["video_id"],
            source_key=d["source_key"],
            segment_duration_s=d.get("segment_duration_s", 4.0),
            ladder=tuple(PlannedRendition.from_dict(r) for r in d["ladder"]),
        )
