"""``rendition-ready``: one rendition is encoded, packaged and stored.

v2 adds what the transcoder measured (bitrates over the segments written, the
packaged duration) and the job's poster and storyboard keys, all optional:
a v1 event reads with them ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.record_fields import job_event_header, plain_fields
from schemas.transcode_requested import VideoCodec

__all__ = ["RenditionReady"]


@dataclass(frozen=True, kw_only=True)
class RenditionReady:
    event_id: str
    occurred_at: datetime
    job_id: str
    video_id: str
    name: str
    codec: VideoCodec
    width: int
    height: int
    bitrate_kbps: int
    segment_duration_s: float
    manifest_key: str
    encoder: str = ""
    init_key: str | None = None
    segment_keys: tuple[str, ...] = field(default_factory=tuple)
    hls_master_key: str | None = None
    dash_manifest_key: str | None = None
    average_bitrate_kbps: int | None = None  # measured; ``bitrate_kbps`` is the encoder's target
    peak_bitrate_kbps: int | None = None
    duration_ms: int | None = None
    poster_key: str | None = None
    storyboard_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**plain_fields(self), "codec": self.codec.value, "segment_keys": list(self.segment_keys)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenditionReady:
        return cls(
            **job_event_header(d),
            name=d["name"],
            codec=VideoCodec(d["codec"]),
            width=d["width"],
            height=d["height"],
            bitrate_kbps=d["bitrate_kbps"],
            segment_duration_s=d["segment_duration_s"],
            encoder=d.get("encoder", ""),
            manifest_key=d["manifest_key"],
            init_key=d.get("init_key"),
            segment_keys=tuple(d.get("segment_keys", ())),
            hls_master_key=d.get("hls_master_key"),
            dash_manifest_key=d.get("dash_manifest_key"),
            average_bitrate_kbps=d.get("average_bitrate_kbps"),
            peak_bitrate_kbps=d.get("peak_bitrate_kbps"),
            duration_ms=d.get("duration_ms"),
            poster_key=d.get("poster_key"),
            storyboard_key=d.get("storyboard_key"),
        )
