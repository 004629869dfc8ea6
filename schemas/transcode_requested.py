"""``transcode-requested``: encode one source into a ladder of renditions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from schemas.record_fields import job_event_header, plain_fields

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
        return {**plain_fields(self), "codec": self.codec.value}

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
        return {**plain_fields(self), "ladder": [r.to_dict() for r in self.ladder]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeRequested:
        return cls(
            **job_event_header(d),
            source_key=d["source_key"],
            segment_duration_s=d.get("segment_duration_s", 4.0),
            ladder=tuple(PlannedRendition.from_dict(r) for r in d["ladder"]),
        )
