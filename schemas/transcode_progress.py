"""``transcode-progress``: how far a job has come, keyed by video id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["TranscodeProgress"]


@dataclass(frozen=True, kw_only=True)
class TranscodeProgress:
    event_id: str
    occurred_at: datetime
    job_id: str
    video_id: str
    percent: float
    encoder: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "job_id": self.job_id,
            "video_id": self.video_id,
            "percent": self.percent,
            "encoder": self.encoder,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeProgress:
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            job_id=d["job_id"],
            video_id=d["video_id"],
            percent=float(d["percent"]),
            encoder=d.get("encoder", ""),
        )
