"""``playback-event``: one thing a player did, keyed by session for ordering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["MAX_MEDIA_MS", "MAX_STALL_MS", "PlaybackEvent", "PlaybackKind"]

# Bounds on what a playback event may say (docs/analytics.md, "Abuse bounds"): the collector refuses
# an event past them, the analytics count one apart. The schema's longs would take 2^63 - 1.
MAX_MEDIA_MS = 24 * 3_600_000  # position, video duration, seek length: no video is longer than a day
MAX_STALL_MS = 10 * 60_000  # one REBUFFER's stall: players give up long before


class PlaybackKind(StrEnum):
    START = "START"
    HEARTBEAT = "HEARTBEAT"
    PAUSE = "PAUSE"
    SEEK = "SEEK"
    END = "END"
    REBUFFER = "REBUFFER"
    QUALITY_CHANGE = "QUALITY_CHANGE"


@dataclass(frozen=True, kw_only=True)
class PlaybackEvent:
    event_id: str
    occurred_at: datetime
    received_at: datetime
    session_id: str
    user_pseudonym: str
    video_id: str
    kind: PlaybackKind
    position_ms: int
    rendition: str | None = None
    duration_ms: int | None = None
    client: str = ""
    video_duration_ms: int | None = None  # v2
    ip_pseudonym: str = ""  # v2: keyed HMAC of the client IP; the IP never reaches Kafka

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "received_at": self.received_at,
            "session_id": self.session_id,
            "user_pseudonym": self.user_pseudonym,
            "video_id": self.video_id,
            "kind": self.kind.value,
            "position_ms": self.position_ms,
            "rendition": self.rendition,
            "duration_ms": self.duration_ms,
            "client": self.client,
            "video_duration_ms": self.video_duration_ms,
            "ip_pseudonym": self.ip_pseudonym,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlaybackEvent:
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            received_at=d["received_at"],
            session_id=d["session_id"],
            user_pseudonym=d["user_pseudonym"],
            video_id=d["video_id"],
            kind=PlaybackKind(d["kind"]),
            position_ms=d["position_ms"],
            rendition=d.get("rendition"),
            duration_ms=d.get("duration_ms"),
            client=d.get("client", ""),
            video_duration_ms=d.get("video_duration_ms"),
            ip_pseudonym=d.get("ip_pseudonym", ""),
        )
