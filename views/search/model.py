"""The search view's contract: the documents indexed, the queries asked, the pages answered.

A ``SearchDocument`` is a whole video as search sees it, written by the search
builder (catalog metadata plus the playback counts); a store never merges
fields itself, except the two view counts that ``update_popularity`` sets.

Every store answers the same way:

- a query's words must all match (in any of title, tags, uploader, description),
  each one exactly, within the typo rule of ``views.search.text``, or, for the
  last word, as a prefix (the user is still typing it);
- only watchable videos (status ``ready``) are returned unless the query says
  ``include_unwatchable``;
- ``relevance`` ranks an exact title first, then titles that start with what
  was typed ("the ha" → "The Hangover"), then hits matching every word without
  a typo, then by text score blended with popularity; ties go by video id, so
  pages are stable;
- the cursor is opaque to callers; it holds an offset into that order, so a
  write between two page requests can shift a hit across the page boundary
  (seen twice or not at all); a page of unchanged data never does.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DURATION_BOUNDS_MS",
    "MAX_OFFSET",
    "MAX_PAGE_SIZE",
    "MAX_SUGGESTIONS",
    "MAX_TAG_FACETS",
    "WATCHABLE_STATUS",
    "DurationBucket",
    "Facets",
    "SearchDocument",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "SearchRebuild",
    "SearchSort",
    "SearchStore",
    "Suggestion",
    "decode_cursor",
    "duration_bucket",
    "encode_cursor",
]

MAX_PAGE_SIZE = 100
MAX_SUGGESTIONS = 10
MAX_TAG_FACETS = 20  # the most frequent tags of the matching set, not every tag
# Offsets past this are refused: Elasticsearch's default max_result_window is 10 000, and a user
# paging that deep wants a better query, not page 101.
MAX_OFFSET = 10_000 - MAX_PAGE_SIZE
WATCHABLE_STATUS = "ready"  # views.catalog.VideoStatus.READY: every planned rendition is there


class DurationBucket(StrEnum):
    SHORT = "short"  # under 4 minutes
    MEDIUM = "medium"  # 4 to 20 minutes, both ends included
    LONG = "long"  # over 20 minutes


DURATION_BOUNDS_MS = (4 * 60_000, 20 * 60_000)


def duration_bucket(duration_ms: int | None) -> DurationBucket | None:
    """The bucket of a duration; ``None`` (unknown yet) is in none."""
    if duration_ms is None:
        return None
    short_below, long_above = DURATION_BOUNDS_MS
    if duration_ms < short_below:
        return DurationBucket.SHORT
    if duration_ms <= long_above:
        return DurationBucket.MEDIUM
    return DurationBucket.LONG


class SearchSort(StrEnum):
    RELEVANCE = "relevance"  # see the module docstring
    VIEWS = "views"  # views of the last 7 days, then of the last 24 hours, most first
    NEWEST = "newest"  # published_at, newest first; unpublished last


@dataclass(frozen=True, kw_only=True)
class SearchDocument:
    video_id: str
    status: str  # views.catalog.VideoStatus's value; only "ready" is watchable
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    uploader_id: str = ""
    duration_ms: int | None = None
    published_at: datetime | None = None  # aware; the upload's event time
    renditions: tuple[str, ...] = ()  # rendition names, e.g. ("360p", "720p")
    views_24h: int = 0
    views_7d: int = 0

    @property
    def watchable(self) -> bool:
        return self.status == WATCHABLE_STATUS


@dataclass(frozen=True, kw_only=True)
class SearchQuery:
    """One search; ``ValueError`` on a limit outside 1..MAX_PAGE_SIZE or an unreadable cursor.

    Filters combine with AND; ``tags`` matches videos carrying every tag given,
    spelled exactly as stored (the values of ``Facets.tags``).
    """

    q: str = ""  # empty: every video the filters let through, ranked by popularity
    tags: tuple[str, ...] = ()
    uploader: str | None = None  # an exact uploader_id
    duration: DurationBucket | None = None
    uploaded_after: datetime | None = None  # published_at strictly after this (aware) time
    sort: SearchSort = SearchSort.RELEVANCE
    limit: int = 20
    cursor: str | None = None  # a SearchPage's next_cursor
    include_unwatchable: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, not {self.limit}")
        if self.uploaded_after is not None and self.uploaded_after.tzinfo is None:
            raise ValueError("uploaded_after must be an aware datetime")
        if self.cursor is not None:
            decode_cursor(self.cursor)  # refuse a bad cursor when the query is made, not when it runs

    @property
    def offset(self) -> int:
        return 0 if self.cursor is None else decode_cursor(self.cursor)


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    video_id: str
    score: float  # the blended relevance score; comparable within one page only
    # field (title, description, tags, uploader) → its text, HTML-escaped, the matched words in
    # <mark>…</mark>; only fields with a match, and description as a snippet
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Facets:
    """Counts over every hit of the query (all pages), filters applied."""

    tags: dict[str, int]  # the MAX_TAG_FACETS most frequent tags, most first, then by name
    duration: dict[DurationBucket, int]  # every bucket, zero included; unknown durations in none


@dataclass(frozen=True, kw_only=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    total: int  # every hit of the query, all pages
    facets: Facets
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True, kw_only=True)
class Suggestion:
    text: str  # the video's title
    video_id: str
    popularity: int  # views of the last 7 days; suggestions come most popular first


class SearchRebuild(Protocol):
    """A second index being filled while the live one keeps answering; the store's ``swap`` ends it.

    The builder replays the log into it; writes to the store itself still go to
    the live index meanwhile, so the builder catches up to the end of the log
    before it swaps.
    """

    async def put(self, doc: SearchDocument) -> None: ...

    async def put_many(self, docs: list[SearchDocument]) -> None: ...

    async def abort(self) -> None:
        """Drop the index being built; the live one is untouched."""


class SearchStore(Protocol):
    """What the search builder writes and the query API reads."""

    async def put(self, doc: SearchDocument) -> None:
        """Insert or replace the whole document; visible to the next search."""

    async def put_many(self, docs: list[SearchDocument]) -> None:
        """``put`` of each, in one round trip (a later duplicate wins)."""

    async def update_popularity(self, video_id: str, *, views_24h: int, views_7d: int) -> None:
        """Set the view counts of a video; a no-op for a video the store does not hold."""

    async def delete(self, video_id: str) -> None:
        """Remove a video; a no-op for one the store does not hold."""

    async def search(self, query: SearchQuery) -> SearchPage: ...

    async def suggest(self, prefix: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Watchable videos with a title or tag word starting with ``prefix`` (typos allowed as for
        search), most popular first, at most ``min(limit, MAX_SUGGESTIONS)``."""

    async def begin_rebuild(self) -> SearchRebuild:
        """Start an empty index beside the live one (dropping any earlier unfinished rebuild)."""

    async def swap(self) -> None:
        """Make the rebuilt index the live one, atomically for readers; the old one is dropped
        (by Elasticsearch's store at the next ``begin_rebuild``, so searches in flight finish)."""

    async def check(self) -> None:
        """Raise ``StoreUnavailableError`` if the store cannot serve searches."""

    async def close(self) -> None: ...


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset a cursor holds; ``ValueError`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = json.loads(raw)["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ValueError("cursor is not one this API returned") from exc
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET:
        raise ValueError("cursor is not one this API returned")
    return offset
