"""``transcode-failed``: a job ended without its renditions, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["TranscodeFailed"]


@dataclass(frozen=True, kw_only=True)
class TranscodeFailed:
    event_id: str
    occurred_at: datetime
    job_id: str
    video_id: str
    reason: str
    permanent: bool
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "job_id": self.job_id,
            "video_id": self.video_id,
            "reason": self.reason,
            "permanent": self.permanent,
            "attempts": self.attempts,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeFailed:
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            job_id=d["job_id"],
            video_id=d["video_id"],
            reason=d["reason"],
            permanent=bool(d["permanent"]),
            attempts=int(d.get("attempts", 1)),
        )
