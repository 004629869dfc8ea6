"""``transcode-failed``: a job ended without its renditions, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.record_fields import job_event_header, plain_fields

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
        return plain_fields(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TranscodeFailed:
        return cls(
            **job_event_header(d),
            reason=d["reason"],
            permanent=bool(d["permanent"]),
            attempts=int(d.get("attempts", 1)),
        )
