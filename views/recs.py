"""The interactions view of recommendations: what each viewer did with each video, as plain totals.

``playback-event`` is keyed by session, so one viewer's sessions of one
video can sit in several partitions, folded by different workers. A row is
therefore one partition's whole totals for a (viewer, video) pair, keyed by
(viewer, video, partition): a worker rewriting its partition's rows after a
redelivery writes the same values, and no two workers write the same row.
Readers add a pair's partitions up (the totals are sums, the duration a max)
and weigh the result (``stream_apps.recs.interactions.interaction_weight``);
the store never interprets them.

- ``interactions_of(viewer)`` → the query API's fold-in at request time
- ``scan()``                  → training, every row
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["InteractionRow", "RecsStore", "RecsView"]


@dataclass(frozen=True, kw_only=True)
class InteractionRow:
    viewer: str  # the pseudonym the collector wrote into the events; never a raw id
    video_id: str
    partition: int  # of playback-event
    watched_ms: int
    duration_ms: int | None  # the video's, when a player reported it
    sessions: int  # sessions with watch time
    completed_sessions: int
    seeks: int
    updated_at: datetime  # aware UTC: when the fold last wrote the row


class RecsView(Protocol):
    """What the query API reads."""

    async def interactions_of(self, viewer: str) -> list[InteractionRow]:
        """Every row of one viewer, every partition, ordered by video then partition."""

    async def check(self) -> None:
        """Raise ``StoreUnavailableError`` if the store cannot serve reads."""


class RecsStore(RecsView, Protocol):
    """The fold's side: whole-row upserts with the offsets they cover, and a scan for training."""

    async def write(self, rows: Sequence[InteractionRow], *, offsets: dict[int, int]) -> None:
        """Upsert ``rows`` whole, in one transaction; ``offsets`` (partition → next offset) for reporting."""

    async def scan(self) -> list[InteractionRow]:
        """Every row, ordered by viewer, video, partition."""

    async def offsets(self) -> dict[int, int]:
        """Partition → the next offset the rows cover (what the last write said)."""

    async def close(self) -> None: ...
