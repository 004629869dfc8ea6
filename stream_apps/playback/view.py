"""Playback events → rows of the playback view, one aggregator per partition of ``playback-event``.

A session's events share a key and so a partition; each partition's
aggregator sees all of them and the rows it produces are that partition's
share of a minute. The rows are whole values: writing them again after a
crash writes the same thing, which is what makes the view exact under
redelivery (see ``playback_worker``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from schemas.playback_event import PlaybackEvent
from stream_apps.playback.aggregates import (
    DEFAULT_ALLOWED_LATENESS,
    DEFAULT_BACKFILL_HORIZON,
    DEFAULT_RETIRE_AFTER,
    DEFAULT_SESSION_HORIZON,
    BucketKey,
    PlaybackAggregator,
    PlaybackStats,
)
from stream_apps.playback.facts import PlaybackFact
from stream_apps.playback.rows import stats_to_document
from views.playback import MinuteRow

__all__ = ["PlaybackViewBuilder", "minute_rows"]


class PlaybackViewBuilder:
    def __init__(
        self,
        *,
        allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
        backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
        retire_after: timedelta | None = DEFAULT_RETIRE_AFTER,
        session_horizon: timedelta = DEFAULT_SESSION_HORIZON,
        retire_ended_after: timedelta | None = None,
    ) -> None:
        self._settings: dict[str, Any] = {
            "allowed_lateness": allowed_lateness,
            "backfill_horizon": backfill_horizon,
            "retire_after": retire_after,
            "session_horizon": session_horizon,
            "retire_ended_after": retire_ended_after,  # None: ended sessions retire as idle ones do
        }
        PlaybackAggregator(**self._settings)  # settings that do not fit fail here, not at the first event
        self._partitions: dict[int, PlaybackAggregator] = {}

    def _aggregator(self, partition: int) -> PlaybackAggregator:
        if partition not in self._partitions:
            self._partitions[partition] = PlaybackAggregator(**self._settings)
        return self._partitions[partition]

    def snapshot(self, partition: int) -> bytes:
        """The partition's state, for ``load_snapshot`` after a restart."""
        return self._aggregator(partition).to_snapshot()

    def load_snapshot(self, partition: int, data: bytes) -> None:
        """Take a partition's state from a snapshot; ``ValueError`` if it cannot be (rebuild from the log)."""
        self._partitions[partition] = PlaybackAggregator.from_snapshot(data, **self._settings)

    def state_size(self, partition: int) -> dict[str, int]:
        return self._aggregator(partition).state_size()

    def restore(self, partition: int, events: Iterable[PlaybackEvent | PlaybackFact]) -> int:
        """Rebuild a partition's state from its replayed events (already in the view); how many."""
        count = 0

        def counted() -> Iterator[PlaybackEvent | PlaybackFact]:
            nonlocal count
            for event in events:
                count += 1
                yield event

        self._aggregator(partition).apply_all(counted())
        return count

    def apply(self, partition: int, event: PlaybackEvent | PlaybackFact) -> list[MinuteRow]:
        return minute_rows(partition, self._aggregator(partition).apply(event))

    def apply_batch(self, events: Iterable[tuple[int, PlaybackEvent | PlaybackFact]]) -> list[MinuteRow]:
        """Many events; each touched bucket is read and written once, with its value after the batch."""
        by_partition: dict[int, list[PlaybackEvent | PlaybackFact]] = {}
        for partition, event in events:  # partitions are independent: regrouping keeps each one's order
            by_partition.setdefault(partition, []).append(event)
        rows: list[MinuteRow] = []
        for partition, batch in sorted(by_partition.items()):
            rows += minute_rows(partition, self._aggregator(partition).apply_all(batch))
        return rows

    def forget(self, partition: int) -> None:
        """The partition went to another worker, which rebuilds it from the log."""
        self._partitions.pop(partition, None)

    def partitions(self) -> list[int]:
        return sorted(self._partitions)


def minute_rows(partition: int, changed: Mapping[BucketKey, PlaybackStats]) -> list[MinuteRow]:
    return [
        MinuteRow(
            video_id=key.video_id,
            minute=key.minute,
            partition=partition,
            document="" if stats.is_empty else stats_to_document(stats),
        )
        for key, stats in sorted(changed.items())
    ]
