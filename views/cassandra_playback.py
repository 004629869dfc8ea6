"""The playback view on Cassandra: minute rows keyed by what the worker owns, written whole.

A minute row is the aggregate of one (video, minute) over the sessions of
ONE partition of ``playback-event``, which one worker owns at a time; the
worker rewrites it whole after every batch that touched it. So every write
is an idempotent overwrite (a replay after SIGKILL writes the same values
again), no write ever reads, merges or increments, and no row is written by
two processes: the exactness argued in docs/analytics.md holds unchanged.

The row's document carries its viewer set (the pseudonyms with a view in
that minute and partition), not a count: readers union the sets over
partitions and minutes, so unique viewers over any range stay exact. It is
one text cell rather than a CQL ``set<text>``: a whole-set overwrite of a
non-frozen collection writes a range tombstone every time, appends (``+``)
cannot retract a view a late seek takes back, and the store stays ignorant
of what the document holds. The cost, as on SQLite, is that a write grows
with the minute's audience (see docs/analytics.md, open points).

Each row is kept twice, once per query (the same whole value, written together):

- ``playback_minutes_by_video``  ((video_id, day), minute, partition)     ``minutes``: one video's range
- ``playback_minutes_by_hour``   ((hour, partition), minute, video_id)    ``all_minutes``: every video's range

Partitions stay bounded: a video's day is at most 1 440 minutes times the topic's
partitions; an hour of one Kafka partition holds 60 minutes of its videos.
Keying the time table by Kafka partition also spreads a busy hour over as
many Cassandra partitions as the topic has, and each worker writes only its
own. Two small indexes name the partitions that exist, so a range read
touches only those: ``playback_video_days`` (video → days with rows) and
``playback_hours`` ((year) → hours and Kafka partitions with rows). Index
entries are written before the rows they point to (a reader may find an
empty partition, never miss a full one), once per process.

Rows of one Cassandra partition go out as one unlogged batch, which the
replica applies as a single mutation; different partitions are written
concurrently. A batch that fails halfway leaves some partitions written:
the worker then does not commit its offsets, and its retry or its successor
writes the same whole values again. Whole values win by write time, so
workers need clocks in step (NTP): a new owner of a partition writes seconds
after the last one, at the end of its replay.

Boards (``playback_boards``) are one row per window, read at LOCAL_ONE: a
board carries its own ``generated_at`` and the API scores live when it is
stale, so a replica behind does no harm and keeps trending served.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from cassandra import ConsistencyLevel
from cassandra.query import PreparedStatement

from views.cassandra_cluster import CassandraConnection, CassandraSettings, Migration
from views.playback import BoardRow, MinuteRow

__all__ = ["PLAYBACK_MIGRATIONS", "CassandraPlaybackStore"]

PLAYBACK_MIGRATIONS = (
    Migration(
        1,
        "minute rows by video-day and by hour-partition, their indexes, boards, offsets",
        (
            "CREATE TABLE IF NOT EXISTS {ks}.playback_minutes_by_video ("
            " video_id text, day timestamp, minute timestamp, partition int, doc text,"
            " PRIMARY KEY ((video_id, day), minute, partition))",
            "CREATE TABLE IF NOT EXISTS {ks}.playback_minutes_by_hour ("
            " hour timestamp, partition int, minute timestamp, video_id text, doc text,"
            " PRIMARY KEY ((hour, partition), minute, video_id))",
            "CREATE TABLE IF NOT EXISTS {ks}.playback_video_days ("
            " video_id text, day timestamp, PRIMARY KEY ((video_id), day))",
            "CREATE TABLE IF NOT EXISTS {ks}.playback_hours ("
            " year int, hour timestamp, partition int, PRIMARY KEY ((year), hour, partition))",
            "CREATE TABLE IF NOT EXISTS {ks}.playback_boards (window_name text PRIMARY KEY, doc text)",
            "CREATE TABLE IF NOT EXISTS {ks}.playback_offsets ("
            " partition int PRIMARY KEY, next_offset bigint)",
        ),
    ),
    Migration(
        2,
        "the worker's state snapshots, one per partition of playback-event",
        (
            "CREATE TABLE IF NOT EXISTS {ks}.playback_snapshots ("
            " partition int PRIMARY KEY, next_offset bigint, data blob)",
        ),
    ),
)
SCHEMA_VERSION = len(PLAYBACK_MIGRATIONS)
BATCH_BYTES = 32 * 1024  # below Cassandra's batch_size_fail_threshold (50 KiB) with room for keys
BATCH_ROWS = 100
_INDEX_CACHE = 100_000  # index entries remembered as written; forgotten all at once past this

Statement = tuple[PreparedStatement, tuple[Any, ...]]


class CassandraPlaybackStore:
    """``PlaybackStore`` on a Cassandra keyspace migrated by ``tubestream views migrate``."""

    def __init__(self, settings: CassandraSettings, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Connect, check the schema version, prepare every statement; raises ``ViewStoreError``s.

        ``loop``: the loop that will read the store, which then does its I/O (``CassandraConnection``).
        """
        self._db = CassandraConnection(settings, what="playback store", loop=loop)
        try:
            self._db.require_schema("playback", SCHEMA_VERSION)
            prepare = self._db.prepare
            self._put_by_video = prepare(
                "INSERT INTO {ks}.playback_minutes_by_video (video_id, day, minute, partition, doc) "
                "VALUES (?, ?, ?, ?, ?)"
            )
            self._delete_by_video = prepare(
                "DELETE FROM {ks}.playback_minutes_by_video "
                "WHERE video_id = ? AND day = ? AND minute = ? AND partition = ?"
            )
            self._put_by_hour = prepare(
                "INSERT INTO {ks}.playback_minutes_by_hour (hour, partition, minute, video_id, doc) "
                "VALUES (?, ?, ?, ?, ?)"
            )
            self._delete_by_hour = prepare(
                "DELETE FROM {ks}.playback_minutes_by_hour "
                "WHERE hour = ? AND partition = ? AND minute = ? AND video_id = ?"
            )
            self._put_day = prepare("INSERT INTO {ks}.playback_video_days (video_id, day) VALUES (?, ?)")
            self._put_hour = prepare(
                "INSERT INTO {ks}.playback_hours (year, hour, partition) VALUES (?, ?, ?)"
            )
            self._days = prepare(
                "SELECT day FROM {ks}.playback_video_days WHERE video_id = ? AND day >= ? AND day < ?"
            )
            self._hours = prepare(
                "SELECT hour, partition FROM {ks}.playback_hours WHERE year = ? AND hour >= ? AND hour < ?"
            )
            self._video_minutes = prepare(
                "SELECT minute, partition, doc FROM {ks}.playback_minutes_by_video "
                "WHERE video_id = ? AND day = ? AND minute >= ? AND minute < ?"
            )
            self._hour_minutes = prepare(
                "SELECT video_id, minute, doc FROM {ks}.playback_minutes_by_hour "
                "WHERE hour = ? AND partition = ? AND minute >= ? AND minute < ?"
            )
            self._put_offset = prepare(
                "INSERT INTO {ks}.playback_offsets (partition, next_offset) VALUES (?, ?)"
            )
            self._put_board = prepare("INSERT INTO {ks}.playback_boards (window_name, doc) VALUES (?, ?)")
            self._put_snapshot = prepare(
                "INSERT INTO {ks}.playback_snapshots (partition, next_offset, data) VALUES (?, ?, ?)"
            )
            self._snapshot = prepare(
                "SELECT next_offset, data FROM {ks}.playback_snapshots WHERE partition = ?"
            )
            self._board = prepare(
                "SELECT doc FROM {ks}.playback_boards WHERE window_name = ?",
                consistency=ConsistencyLevel.LOCAL_ONE,
            )
            self._probe = prepare("SELECT version FROM {ks}.schema_versions WHERE view_name = ?")
        except BaseException:
            self._db.close()
            raise
        self._indexed: set[tuple[Any, ...]] = set()

    # -- the worker's side -------------------------------------------------------------------

    async def write(self, rows: list[MinuteRow], *, offsets: dict[int, int]) -> None:
        """Upsert (or delete, for an empty document) rows whole; then record ``offsets``."""
        latest = {(r.video_id, _minute(r.minute), r.partition): r for r in rows}  # the last of a key wins
        index: dict[tuple[Any, ...], Statement] = {}
        by_video: dict[tuple[Any, ...], list[tuple[Statement, int]]] = {}
        by_hour: dict[tuple[Any, ...], list[tuple[Statement, int]]] = {}
        for (video_id, minute, partition), row in latest.items():
            day, hour = _day(minute), _hour(minute)
            size = len(row.document.encode())
            video_stmt: Statement
            hour_stmt: Statement
            if row.document:
                index[("day", video_id, day)] = (self._put_day, (video_id, day))
                index[("hour", hour, partition)] = (self._put_hour, (hour.year, hour, partition))
                video_stmt = (self._put_by_video, (video_id, day, minute, partition, row.document))
                hour_stmt = (self._put_by_hour, (hour, partition, minute, video_id, row.document))
            else:
                video_stmt = (self._delete_by_video, (video_id, day, minute, partition))
                hour_stmt = (self._delete_by_hour, (hour, partition, minute, video_id))
            by_video.setdefault((video_id, day), []).append((video_stmt, size))
            by_hour.setdefault((hour, partition), []).append((hour_stmt, size))
        fresh = {key: stmt for key, stmt in index.items() if key not in self._indexed}
        await self._db.each(self._db.write, list(fresh.values()))  # before the rows they name
        if len(self._indexed) > _INDEX_CACHE:
            self._indexed.clear()
        self._indexed.update(fresh)
        batches = [b for group in (*by_video.values(), *by_hour.values()) for b in _chunks(group)]
        await self._db.each(self._db.write_batch, [(batch,) for batch in batches])
        await self._db.each(self._db.write, [(self._put_offset, (p, o)) for p, o in sorted(offsets.items())])

    async def write_board(self, row: BoardRow) -> None:
        await self._db.write(self._put_board, (row.window, row.document))

    # -- the reader's side -------------------------------------------------------------------

    async def minutes(self, video_id: str, *, start: datetime, end: datetime) -> list[MinuteRow]:
        """One video's rows with ``start <= minute < end``, by minute then partition."""
        if end <= start:
            return []
        days = await self._db.rows(self._days, (video_id, _day(start), end))
        parts = await self._db.each(
            self._db.rows, [(self._video_minutes, (video_id, day, start, end)) for (day,) in days]
        )
        return [
            MinuteRow(video_id=video_id, minute=_utc(minute), partition=partition, document=doc)
            for rows in parts
            for minute, partition, doc in rows
        ]

    async def all_minutes(self, *, start: datetime, end: datetime) -> list[MinuteRow]:
        """Every video's rows in the range, by video, minute, partition (as the SQLite store)."""
        if end <= start:
            return []
        first, last = _hour(start), end - timedelta(microseconds=1)
        years = range(first.year, last.astimezone(UTC).year + 1)
        found = await self._db.each(self._db.rows, [(self._hours, (year, first, end)) for year in years])
        hours = [(hour, partition) for rows in found for hour, partition in rows]
        parts = await self._db.each(
            self._db.rows, [(self._hour_minutes, (hour, partition, start, end)) for hour, partition in hours]
        )
        rows = [
            MinuteRow(video_id=video_id, minute=_utc(minute), partition=partition, document=doc)
            for (_, partition), found_rows in zip(hours, parts, strict=True)
            for video_id, minute, doc in found_rows
        ]
        rows.sort(key=lambda r: (r.video_id, r.minute, r.partition))
        return rows

    async def write_snapshot(self, partition: int, next_offset: int, data: bytes) -> None:
        await self._db.write(self._put_snapshot, (partition, next_offset, data))

    async def snapshot(self, partition: int) -> tuple[int, bytes] | None:
        found = await self._db.rows(self._snapshot, (partition,))
        return (int(found[0][0]), bytes(found[0][1])) if found else None

    async def board(self, window: str) -> BoardRow | None:
        found = await self._db.rows(self._board, (window,))
        return BoardRow(window=window, document=found[0][0]) if found else None

    async def check(self) -> None:
        await self._db.rows(self._probe, ("playback",))

    async def close(self) -> None:
        await asyncio.to_thread(self._db.close)


def _chunks(group: Sequence[tuple[Statement, int]]) -> list[list[Statement]]:
    """One partition's statements in batches under Cassandra's batch size limit."""
    batches: list[list[Statement]] = []
    current: list[Statement] = []
    size = 0
    for statement, nbytes in group:
        if current and (size + nbytes > BATCH_BYTES or len(current) >= BATCH_ROWS):
            batches.append(current)
            current, size = [], 0
        current.append(statement)
        size += nbytes
    if current:
        batches.append(current)
    return batches


def _minute(value: datetime) -> datetime:
    """The row's minute as given (the builder writes minute starts), in UTC."""
    return value.astimezone(UTC)


def _hour(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _utc(value: datetime) -> datetime:
    """The driver reads a timestamp as a naive UTC datetime."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
