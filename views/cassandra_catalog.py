"""The catalog on Cassandra: the SQLite store's rows, in tables laid out per query.

- ``videos_by_id``           (video_id) → doc, listed_us, visibility     ``get``, ``scan``, ``visibility_of``
- ``videos_by_newest``       ((month), created_at_us DESC, video_id DESC) → doc     ``list_newest``
- ``videos_listing_months``  ((listing), month DESC)                               the months that have rows

A listing partition is one UTC month of uploads (``month`` = 202611), so a
partition grows with a month's uploads and never beyond (at 1 kB a row, a
month of 100 000 uploads is 100 MB, the size Cassandra's guidance puts as a
ceiling: past that, make ``_month_of`` a week or a day). A page walks the
months backwards from its cursor's month through ``videos_listing_months``,
reading only as many rows of each as the page still needs (only public
videos have a listing entry), so keyset
pagination keeps ``ListCursor``'s meaning: the rows strictly after
(created_at, video_id) in descending order, never skipping or repeating one.
``created_at_us`` is in microseconds (a CQL ``timestamp`` keeps milliseconds,
and two uploads a few microseconds apart must stay in order).

``put`` reads the row's current listing key (``listed_us``) and writes the
row, the listing entry at its new key and the delete of the old one in one
logged batch: Cassandra applies all of them or, after a crash, replays the
batch log, so a video is never listed twice nor lost from the list. That
read-before-write needs no lightweight transaction: each video has one
writer (the catalog builder owning its Kafka partition), and reads and
writes at LOCAL_QUORUM see that writer's previous put.

Reads reuse the record decoded from a row while the row's document is
unchanged (as the SQLite store does): decoding a 1.4 kB document costs more
than the driver's share of a read, and handing back the same record lets the
API's encoded answers be found by identity rather than compared field by field.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from views.cassandra_cluster import CassandraConnection, CassandraSettings, Migration
from views.catalog import MAX_PAGE_SIZE, ListCursor, VideoPage, VideoRecord, Visibility
from views.catalog_rows import from_document, to_document
from views.errors import ViewStoreError

__all__ = ["CATALOG_MIGRATIONS", "CassandraCatalogStore"]

CATALOG_MIGRATIONS = (
    Migration(
        1,
        "videos by id, by newest in month partitions, and the months listed",
        (
            "CREATE TABLE IF NOT EXISTS {ks}.videos_by_id ("
            " video_id text PRIMARY KEY, doc text, listed_us bigint)",
            "CREATE TABLE IF NOT EXISTS {ks}.videos_by_newest ("
            " month int, created_at_us bigint, video_id text, doc text,"
            " PRIMARY KEY ((month), created_at_us, video_id))"
            " WITH CLUSTERING ORDER BY (created_at_us DESC, video_id DESC)",
            "CREATE TABLE IF NOT EXISTS {ks}.videos_listing_months ("
            " listing text, month int, PRIMARY KEY ((listing), month))"
            " WITH CLUSTERING ORDER BY (month DESC)",
        ),
    ),
    Migration(
        2,
        "who may see a video, in a column of its own: the media route reads it for every unsigned file",
        # rows written before it hold no visibility: they were all public, and a null reads as public
        ("ALTER TABLE {ks}.videos_by_id ADD IF NOT EXISTS visibility text",),
    ),
)
SCHEMA_VERSION = len(CATALOG_MIGRATIONS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LISTING = "newest"  # the one partition of videos_listing_months: a row per month, a dozen a year
DECODED_ROWS = 4096  # records kept decoded, by video id: a page of hot videos many times over


class CassandraCatalogStore:
    """``CatalogStore`` on a Cassandra keyspace migrated by ``tubestream views migrate``."""

    def __init__(self, settings: CassandraSettings, *, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Connect, check the schema version, prepare every statement; raises ``ViewStoreError``s.

        ``loop``: the loop that will read the store, which then does its I/O (``CassandraConnection``).
        """
        self._db = CassandraConnection(settings, what="catalog store", loop=loop)
        try:
            self._db.require_schema("catalog", SCHEMA_VERSION)
            prepare = self._db.prepare
            self._get = prepare("SELECT doc FROM {ks}.videos_by_id WHERE video_id = ?")
            self._listed = prepare("SELECT listed_us FROM {ks}.videos_by_id WHERE video_id = ?")
            self._put_by_id = prepare(
                "INSERT INTO {ks}.videos_by_id (video_id, doc, listed_us, visibility) VALUES (?, ?, ?, ?)"
            )
            self._visibility = prepare("SELECT visibility FROM {ks}.videos_by_id WHERE video_id = ?")
            self._put_listing = prepare(
                "INSERT INTO {ks}.videos_by_newest (month, created_at_us, video_id, doc) VALUES (?, ?, ?, ?)"
            )
            self._delete_listing = prepare(
                "DELETE FROM {ks}.videos_by_newest WHERE month = ? AND created_at_us = ? AND video_id = ?"
            )
            self._put_month = prepare("INSERT INTO {ks}.videos_listing_months (listing, month) VALUES (?, ?)")
            self._months = prepare("SELECT month FROM {ks}.videos_listing_months WHERE listing = ?")
            self._months_upto = prepare(
                "SELECT month FROM {ks}.videos_listing_months WHERE listing = ? AND month <= ?"
            )
            self._first = prepare("SELECT video_id, doc FROM {ks}.videos_by_newest WHERE month = ? LIMIT ?")
            self._after = prepare(
                "SELECT video_id, doc FROM {ks}.videos_by_newest "
                "WHERE month = ? AND (created_at_us, video_id) < (?, ?) LIMIT ?"
            )
            self._scan = prepare("SELECT doc FROM {ks}.videos_by_id")
            self._probe = prepare("SELECT version FROM {ks}.schema_versions WHERE view_name = ?")
        except BaseException:
            self._db.close()
            raise
        self._months_known: set[int] = set()  # months this process has indexed already
        self._decoded: dict[str, tuple[str, VideoRecord]] = {}  # video id → (its document, the record)

    # -- the reader's side -----------------------------------------------------------------

    async def get(self, video_id: str) -> VideoRecord | None:
        rows = await self._db.rows(self._get, (video_id,))
        return self._decoded_row(video_id, rows[0][0]) if rows else None

    async def visibility_of(self, video_id: str) -> Visibility | None:
        """One short column, not the document: no JSON to read or decode."""
        rows = await self._db.rows(self._visibility, (video_id,))
        if not rows:
            return None
        try:
            return Visibility(rows[0][0] or Visibility.PUBLIC.value)
        except ValueError as exc:
            raise ViewStoreError(f"catalog store: video {video_id!r} has visibility {rows[0][0]!r}") from exc

    async def list_newest(self, *, limit: int, after: ListCursor | None = None) -> VideoPage:
        """One page, newest first; ``limit`` is clamped to 1..MAX_PAGE_SIZE."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        wanted = limit + 1  # one row more than asked tells whether another page follows
        if after is None:
            months = await self._db.rows(self._months, (_LISTING,))
            cursor = None
        else:
            cursor = (_month_of(after.created_at), _micros(after.created_at), after.video_id)
            months = await self._db.rows(self._months_upto, (_LISTING, cursor[0]))
        docs: list[tuple[str, str]] = []  # (video id, document)
        for (month,) in months:
            need = wanted - len(docs)
            if cursor is not None and month == cursor[0]:
                rows = await self._db.rows(self._after, (month, cursor[1], cursor[2], need))
            else:
                rows = await self._db.rows(self._first, (month, need))
            docs += [(r[0], r[1]) for r in rows]
            if len(docs) >= wanted:
                break
        videos = tuple(self._decoded_row(video_id, doc) for video_id, doc in docs[:limit])
        next_cursor = None
        if len(docs) > limit:
            last = videos[-1]
            if last.created_at is None:  # the listing row's doc lost its created_at: not ours
                raise ViewStoreError(f"catalog store: listed video {last.video_id!r} has no created_at")
            next_cursor = ListCursor(created_at=last.created_at, video_id=last.video_id)
        return VideoPage(videos=videos, next_cursor=next_cursor)

    async def check(self) -> None:
        """One single-partition read at the store's consistency: the keyspace is there and answers."""
        await self._db.rows(self._probe, ("catalog",))

    # -- the builder's side ----------------------------------------------------------------

    async def put(self, record: VideoRecord) -> None:
        """Upsert the row in both tables, moving its listing entry when ``created_at`` changed."""
        doc = to_document(record)
        new_us = None if record.created_at is None or not record.listed else _micros(record.created_at)
        found = await self._db.rows(self._listed, (record.video_id,))
        old_us: int | None = found[0][0] if found else None
        statements: list[tuple[Any, tuple[Any, ...]]] = []
        if old_us is not None and old_us != new_us:
            statements.append((self._delete_listing, (_month_of_us(old_us), old_us, record.video_id)))
        statements.append((self._put_by_id, (record.video_id, doc, new_us, record.visibility.value)))
        if new_us is not None:  # not listed until its upload is known, nor ever unless public
            month = _month_of_us(new_us)
            if month not in self._months_known:  # before the row, so a listed row's month is always known
                await self._db.write(self._put_month, (_LISTING, month))
                self._months_known.add(month)
            statements.append((self._put_listing, (month, new_us, record.video_id, doc)))
        await self._db.write_logged(statements)

    async def scan(self) -> list[VideoRecord]:
        """Every row, ordered by video_id (read page by page, sorted here: Cassandra orders by token)."""
        rows = await self._db.rows(self._scan)
        return sorted((self._decode(r[0]) for r in rows), key=lambda v: v.video_id)

    async def close(self) -> None:
        """Shut the connection down (in a thread: the driver joins its own); later calls fail."""
        await asyncio.to_thread(self._db.close)

    def _decoded_row(self, video_id: str, doc: str) -> VideoRecord:
        """The record of ``doc``, decoded once while the row's document stays the same.

        Keyed by the whole document, not a version field: any change to the row, by any
        writer, is a new document, so a changed row is never answered from memory. A row
        read by id and the same row read from the listing share one entry.
        """
        known = self._decoded.get(video_id)
        if known is not None and known[0] == doc:
            return known[1]
        record = self._decode(doc)
        if len(self._decoded) >= DECODED_ROWS:
            with contextlib.suppress(StopIteration, KeyError):
                del self._decoded[next(iter(self._decoded))]  # the oldest entry
        self._decoded[video_id] = (doc, record)
        return record

    def _decode(self, doc: str) -> VideoRecord:
        try:
            return from_document(doc)
        except (ValueError, KeyError, TypeError) as exc:
            where = self._db.settings.url()
            raise ViewStoreError(f"catalog store {where}: a row is not a video: {exc}") from exc


def _micros(value: datetime) -> int:
    """Exact integer microseconds since the epoch (a float timestamp would round)."""
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _month_of(value: datetime) -> int:
    """The listing partition of an upload time: its UTC year and month as 202611."""
    utc = value.astimezone(UTC)
    return utc.year * 100 + utc.month


def _month_of_us(micros: int) -> int:
    return _month_of(_EPOCH + timedelta(microseconds=micros))
