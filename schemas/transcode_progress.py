"""``transcode-progress``: how far a job has come, keyed by video id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.record_fields import job_event_header, plain_fields

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
        return plain_fields(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeProgress:
        return cls(
            **job_event_header(d),
            percent=float(d["percent"]),
            encoder=d.get("encoder", ""),
        )
