"""Playback events → rows of the playback view, one aggregator per partition of ``playback-event``.

A session's events share a key and so a partition; each partition's
aggregator sees all of them and the rows it produces are that partition's
share of a minute. The rows are whole values: writing them again after a
crash writes the same thing, which is what makes the view exact under
redelivery (see ``playback_worker``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from schemas.playback_event import PlaybackEvent
from stream_apps.playback_aggregates import (
    DEFAULT_ALLOWED_LATENESS,
    BucketKey,
    PlaybackAggregator,
    PlaybackStats,
)
from stream_apps.playback_rows import stats_to_document
from views.playback import MinuteRow

__all__ = ["PlaybackViewBuilder", "minute_rows"]


class PlaybackViewBuilder:
    def __init__(self, *, allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS) -> None:
        self._allowed_lateness = allowed_lateness
        self._partitions: dict[int, PlaybackAggregator] = {}

    def _aggregator(self, partition: int) -> PlaybackAggregator:
        if partition not in self._partitions:
            self._partitions[partition] = PlaybackAggregator(allowed_lateness=self._allowed_lateness)
        return self._partitions[partition]

    def restore(self, partition: int, events: Iterable[PlaybackEvent]) -> int:
        """Rebuild a partition's state from its replayed events (already in the view); how many."""
        aggregator = self._aggregator(partition)
        count = 0
        for event in events:
            aggregator.apply(event)
            count += 1
        return count

    def apply(self, partition: int, event: PlaybackEvent) -> list[MinuteRow]:
        return minute_rows(partition, self._aggregator(partition).apply(event))

    def apply_batch(self, events: Iterable[tuple[int, PlaybackEvent]]) -> list[MinuteRow]:
        """Many events; each touched bucket is read and written once, with its value after the batch."""
        touched: dict[int, set[BucketKey]] = {}
        for partition, event in events:
            touched.setdefault(partition, set()).update(self._aggregator(partition).touch(event))
        rows: list[MinuteRow] = []
        for partition, keys in sorted(touched.items()):
            aggregator = self._aggregator(partition)
            rows += minute_rows(partition, {key: aggregator.bucket(key) for key in keys})
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
