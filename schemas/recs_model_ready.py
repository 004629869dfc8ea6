"""``recs-model-ready``: a trained recommendations model is in the blob store, keyed by model name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["RecsModelReady"]


@dataclass(frozen=True, kw_only=True)
class RecsModelReady:
    event_id: str
    occurred_at: datetime
    model: str  # the key: compaction keeps the newest event of each model
    version: str  # sorts by training time
    blob_key: str
    sha256: str  # of the whole artifact, hex
    users: int
    items: int
    interactions: int
    params: tuple[tuple[str, str], ...] = ()  # name → the value's JSON text
    metrics: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "occurred_at": self.occurred_at,
            "model": self.model,
            "version": self.version,
            "blob_key": self.blob_key,
            "sha256": self.sha256,
            "users": self.users,
            "items": self.items,
            "interactions": self.interactions,
            "params": [{"name": n, "value": v} for n, v in self.params],
            "metrics": [{"name": n, "value": v} for n, v in self.metrics],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RecsModelReady:
        return cls(
            event_id=str(d["event_id"]),
            occurred_at=d["occurred_at"],
            model=d["model"],
            version=d["version"],
            blob_key=d["blob_key"],
            sha256=d["sha256"],
            users=int(d["users"]),
            items=int(d["items"]),
            interactions=int(d["interactions"]),
            params=tuple((p["name"], p["value"]) for p in d.get("params", ())),
            metrics=tuple((m["name"], float(m["value"])) for m in d.get("metrics", ())),
        )
