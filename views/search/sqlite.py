"""The embedded search store: SQLite FTS5 in one file, with typo tolerance from a spelling table.

One table set (a rebuild fills a second, suffixed ``__next``, and ``swap``
renames it over the first in one transaction, so a reader sees the old set or
the new, never a mix):

- ``search_docs``        one row per video: the document, and the columns filters and sorts read
- ``search_fts``         FTS5 over title, tags, uploader, description (rowid = search_docs.id);
                         unicode61 with remove_diacritics 2 folds accents as ``text.fold`` does
- ``search_tags``        (doc_id, tag): the tag filter probes it by key, facets join it
- ``search_terms``       spelling: each word of titles, tags and uploaders → documents holding it
- ``search_term_grams``  (bigram, word): the candidate filter for typos

FTS5 has no fuzzy matching, so each query word is expanded before the match:
the spelling words within the typo rule of ``views.search.text`` (found
through shared bigrams, then measured), OR-ed with the word itself, and the
last word also matches as a prefix. BM25 weighs title over tags over uploader
over description. Like ``views.sqlite_catalog``, every call runs in a worker
thread on one connection, and sqlite3 errors become ``views.errors``'.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from views.errors import StoreUnavailableError, ViewStoreError
from views.search.model import (
    MAX_OFFSET,
    MAX_SUGGESTIONS,
    MAX_TAG_FACETS,
    DurationBucket,
    Facets,
    SearchDocument,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchSort,
    Suggestion,
    duration_bucket,
    encode_cursor,
)
from views.search.text import (
    MARK_CLOSE,
    MARK_OPEN,
    MAX_QUERY_WORDS,
    SNIPPET_WORDS,
    bigrams,
    blend,
    bounded_distance,
    bounded_prefix_distance,
    gram_threshold,
    marked_text,
    max_typos,
    title_key,
    words,
)

__all__ = ["SqliteSearchStore"]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
NEXT = "__next"  # suffix of the table set a rebuild fills
MAX_EXPANSIONS = 50  # spelling words a query word may expand to, closest first (Elasticsearch's default)
# bm25() column weights, in the FTS table's column order: a title word says most about a video
WEIGHTS = {"title": 10.0, "tags": 5.0, "uploader": 3.0, "description": 1.0}
_COLUMNS = tuple(WEIGHTS)
# Suggestions walk this while they are dense (a two-letter prefix), stopping at the tenth match.
_BY_VIEWS = (
    "CREATE INDEX IF NOT EXISTS search_docs_by_views{suffix} "
    "ON search_docs{suffix} (watchable, views_7d DESC, video_id)"
)
SPARSE_SUGGESTIONS = 400  # fewer matches than this: fetch them all and sort, rather than walk the index
_TABLES = ("search_docs", "search_fts", "search_tags", "search_terms", "search_term_grams")


def _schema(suffix: str) -> str:
    columns = ", ".join(_COLUMNS)
    return f"""
CREATE TABLE IF NOT EXISTS search_docs{suffix} (
    id              INTEGER PRIMARY KEY,
    video_id        TEXT NOT NULL UNIQUE,
    doc             TEXT NOT NULL,
    title           TEXT NOT NULL,
    title_key       TEXT NOT NULL,
    watchable       INTEGER NOT NULL,
    uploader_id     TEXT NOT NULL,
    duration_bucket TEXT,
    published_at_us INTEGER,
    views_24h       INTEGER NOT NULL,
    views_7d        INTEGER NOT NULL
);
{_BY_VIEWS.format(suffix=suffix)};
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts{suffix} USING fts5(
    {columns}, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);
CREATE TABLE IF NOT EXISTS search_tags{suffix} (
    doc_id INTEGER NOT NULL,
    tag    TEXT NOT NULL,
    PRIMARY KEY (doc_id, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_terms{suffix} (
    term      TEXT PRIMARY KEY,
    doc_count INTEGER NOT NULL,
    length    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search_term_grams{suffix} (
    gram TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (gram, term)
) WITHOUT ROWID;
"""


class SqliteSearchStore:
    """``SearchStore`` on one SQLite file; open one per process, close it when done."""

    def __init__(self, path: Path | str) -> None:
        """``path`` is a file (created with its folder) or ``:memory:``."""
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open the search database {self._path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                st = os.stat(self._path)
                self._file_id = (st.st_dev, st.st_ino)
            conn.execute("PRAGMA synchronous = NORMAL")  # a lost last commit is restored by a rebuild
            conn.create_function("blend", 2, blend, deterministic=True)
            conn.executescript(_schema(""))
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            raise StoreUnavailableError(f"cannot open the search database {self._path}: {exc}") from exc
        self._conn = conn

    # -- the builder's side ----------------------------------------------------------------

    async def put(self, doc: SearchDocument) -> None:
        await self.put_many([doc])

    async def put_many(self, docs: list[SearchDocument]) -> None:
        await self._run(lambda conn: _write(conn, "", docs))

    async def update_popularity(self, video_id: str, *, views_24h: int, views_7d: int) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE search_docs SET views_24h = ?, views_7d = ?, "
                "doc = json_set(doc, '$.views_24h', ?, '$.views_7d', ?) WHERE video_id = ?",
                (views_24h, views_7d, views_24h, views_7d, video_id),
            )

        await self._run(write)

    async def delete(self, video_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                _remove(conn, "", video_id)

        await self._run(write)

    async def begin_rebuild(self) -> _SqliteRebuild:
        def create(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                for table in _TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}{NEXT}")
                for statement in _statements(_schema(NEXT)):
                    conn.execute(statement)

        await self._run(create)
        return _SqliteRebuild(self)

    async def swap(self) -> None:
        """Drop the live tables and rename the rebuilt ones in their place, in one transaction."""

        def rename(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                present = {
                    row[0]
                    for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
                }
                if not all(f"{table}{NEXT}" in present for table in _TABLES):
                    raise ViewStoreError(f"search database {self._path}: no rebuild to swap in")
                for table in _TABLES:
                    conn.execute(f"DROP TABLE {table}")
                    conn.execute(f"ALTER TABLE {table}{NEXT} RENAME TO {table}")
                conn.execute(f"DROP INDEX IF EXISTS search_docs_by_views{NEXT}")  # renaming kept its name
                conn.execute(_BY_VIEWS.format(suffix=""))

        await self._run(rename)

    # -- the reader's side -----------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        return await self._run(lambda conn: _search(conn, query))

    async def suggest(self, prefix: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        return await self._run(lambda conn: _suggest(conn, prefix, max(0, min(limit, MAX_SUGGESTIONS))))

    async def check(self) -> None:
        """Read the tables, and notice a file removed or replaced under the open connection."""

        def probe(conn: sqlite3.Connection) -> None:
            self._check_file()
            for table in _TABLES:
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()

        await self._run(probe)

    async def close(self) -> None:
        """Close the connection (in a thread: it waits for a query in flight); later calls fail."""
        await asyncio.to_thread(self._close)

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise StoreUnavailableError(f"the search store {self._path} is closed")
            try:
                return work(self._conn)
            except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError) as exc:
                raise ViewStoreError(f"search database {self._path}: {exc}") from exc  # a bug: no retry
            except sqlite3.Error as exc:  # locked, unreadable, corrupt, disk full: may pass, retry
                raise StoreUnavailableError(f"search database {self._path}: {exc}") from exc

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _check_file(self) -> None:
        if self._file_id is None:
            return
        try:
            st = os.stat(self._path)
        except OSError as exc:
            raise StoreUnavailableError(f"search database {self._path} is gone ({exc}); restart") from exc
        if (st.st_dev, st.st_ino) != self._file_id:
            raise StoreUnavailableError(f"search database {self._path} was replaced; restart")


class _SqliteRebuild:
    """Writes into the ``__next`` table set, through the store's connection."""

    def __init__(self, store: SqliteSearchStore) -> None:
        self._store = store

    async def put(self, doc: SearchDocument) -> None:
        await self.put_many([doc])

    async def put_many(self, docs: list[SearchDocument]) -> None:
        await self._store._run(lambda conn: _write(conn, NEXT, docs))

    async def abort(self) -> None:
        def drop(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                for table in _TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}{NEXT}")

        await self._store._run(drop)


# -- writing --------------------------------------------------------------------------------


def _write(conn: sqlite3.Connection, suffix: str, docs: Sequence[SearchDocument]) -> None:
    with _transaction(conn):
        for doc in docs:
            _remove(conn, suffix, doc.video_id)
            _insert(conn, suffix, doc)


def _insert(conn: sqlite3.Connection, suffix: str, doc: SearchDocument) -> None:
    bucket = duration_bucket(doc.duration_ms)
    (doc_id,) = conn.execute(
        f"INSERT INTO search_docs{suffix} (video_id, doc, title, title_key, watchable, uploader_id, "
        "duration_bucket, published_at_us, views_24h, views_7d) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            doc.video_id,
            _to_json(doc),
            doc.title,
            title_key(doc.title),
            int(doc.watchable),
            doc.uploader_id,
            None if bucket is None else bucket.value,
            None if doc.published_at is None else _micros(doc.published_at),
            doc.views_24h,
            doc.views_7d,
        ),
    ).fetchone()
    conn.execute(
        f"INSERT INTO search_fts{suffix} (rowid, {', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        (doc_id, doc.title, ", ".join(doc.tags), doc.uploader_id, doc.description),
    )
    conn.executemany(
        f"INSERT OR IGNORE INTO search_tags{suffix} (doc_id, tag) VALUES (?, ?)",
        [(doc_id, tag) for tag in doc.tags],
    )
    for term in _spelling_terms(doc.title, doc.tags, doc.uploader_id):
        (count,) = conn.execute(
            f"INSERT INTO search_terms{suffix} (term, doc_count, length) VALUES (?, 1, ?) "
            "ON CONFLICT (term) DO UPDATE SET doc_count = doc_count + 1 RETURNING doc_count",
            (term, len(term)),
        ).fetchone()
        if count == 1:
            conn.executemany(
                f"INSERT INTO search_term_grams{suffix} (gram, term) VALUES (?, ?)",
                [(gram, term) for gram in bigrams(term)],
            )


def _remove(conn: sqlite3.Connection, suffix: str, video_id: str) -> None:
    """Delete a video's rows everywhere, and its words from the spelling table."""
    row = conn.execute(f"SELECT id, doc FROM search_docs{suffix} WHERE video_id = ?", (video_id,)).fetchone()
    if row is None:
        return
    doc_id, raw = row
    try:
        old = json.loads(raw)
        terms = _spelling_terms(old["title"], old["tags"], old["uploader_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ViewStoreError(f"search row of {video_id!r} is not a document: {exc}") from exc
    conn.execute(f"DELETE FROM search_docs{suffix} WHERE id = ?", (doc_id,))
    conn.execute(f"DELETE FROM search_fts{suffix} WHERE rowid = ?", (doc_id,))
    conn.executemany(
        f"DELETE FROM search_tags{suffix} WHERE doc_id = ? AND tag = ?", [(doc_id, t) for t in old["tags"]]
    )
    for term in terms:
        left = conn.execute(
            f"UPDATE search_terms{suffix} SET doc_count = doc_count - 1 WHERE term = ? RETURNING doc_count",
            (term,),
        ).fetchone()
        if left is not None and left[0] <= 0:
            conn.execute(f"DELETE FROM search_terms{suffix} WHERE term = ?", (term,))
            conn.executemany(
                f"DELETE FROM search_term_grams{suffix} WHERE gram = ? AND term = ?",
                [(gram, term) for gram in bigrams(term)],
            )


def _spelling_terms(title: str, tags: Iterable[str], uploader_id: str) -> set[str]:
    return {*words(title), *(w for tag in tags for w in words(tag)), *words(uploader_id)}


# -- reading --------------------------------------------------------------------------------


def _search(conn: sqlite3.Connection, query: SearchQuery) -> SearchPage:
    offset = query.offset
    query_words = words(query.q)[:MAX_QUERY_WORDS]
    where, params = _filters(query)
    if query_words:
        expanded = [_expansions(conn, w) for w in query_words]
        match = _match_expression(expanded, query_words[-1])
        exact = _match_expression([[w] for w in query_words], query_words[-1])
        weights = ", ".join(str(w) for w in WEIGHTS.values())
        # the exact-words set is computed once: as ``d.id IN (SELECT ... MATCH ?)`` SQLite ran that match
        # again for every candidate row (800 000 index lookups for one two-word search of 10 000 videos)
        matched = (
            "WITH exact(id) AS MATERIALIZED (SELECT rowid FROM search_fts WHERE search_fts MATCH ?) "
            "SELECT d.id, d.video_id, d.views_7d, d.views_24h, d.published_at_us, d.duration_bucket, "
            "d.title_key = ? AS exact_title, "
            "substr(d.title_key, 1, length(?)) = ? AS title_prefix, "
            "d.id IN exact AS exact_words, "
            f"blend(-bm25(search_fts, {weights}), d.views_7d) AS score "
            # CROSS JOIN keeps the match outermost: led by an index on search_docs, SQLite would run the
            # match once per video instead
            "FROM search_fts CROSS JOIN search_docs d ON d.id = search_fts.rowid "
            f"WHERE search_fts MATCH ?{where}"
        )
        typed = " ".join(query_words)
        matched_params: list[Any] = [exact, typed, typed, typed, match, *params]
    else:
        match = ""
        matched = (
            "SELECT d.id, d.video_id, d.views_7d, d.views_24h, d.published_at_us, d.duration_bucket, "
            "0 AS exact_title, 0 AS title_prefix, 0 AS exact_words, blend(1.0, d.views_7d) AS score "
            f"FROM search_docs d WHERE 1{where}"
        )
        matched_params = list(params)
    order = {
        SearchSort.RELEVANCE: "exact_title DESC, title_prefix DESC, exact_words DESC, score DESC, video_id",
        SearchSort.VIEWS: "views_7d DESC, views_24h DESC, video_id",
        SearchSort.NEWEST: "published_at_us IS NULL, published_at_us DESC, video_id",
    }[query.sort]
    with _transaction(conn, write=False):  # the page, the total and the facets of one snapshot
        rows = conn.execute(
            f"WITH m AS ({matched}) SELECT id, video_id, score, COUNT(*) OVER () FROM m "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            (*matched_params, query.limit, offset),
        ).fetchall()
        if rows:
            total = int(rows[0][3])
        else:
            (total,) = conn.execute(
                f"WITH m AS ({matched}) SELECT COUNT(*) FROM m", matched_params
            ).fetchone()
        tag_counts = conn.execute(
            f"WITH m AS ({matched}) SELECT t.tag, COUNT(*) AS n FROM m JOIN search_tags t ON t.doc_id = m.id "
            "GROUP BY t.tag ORDER BY n DESC, t.tag LIMIT ?",
            (*matched_params, MAX_TAG_FACETS),
        ).fetchall()
        duration_counts = dict(
            conn.execute(
                f"WITH m AS ({matched}) SELECT duration_bucket, COUNT(*) FROM m "
                "WHERE duration_bucket IS NOT NULL GROUP BY duration_bucket",
                matched_params,
            ).fetchall()
        )
        highlights = _highlights(conn, match, [r[0] for r in rows]) if match else {}
    hits = tuple(
        SearchHit(video_id=video_id, score=float(score), highlights=highlights.get(doc_id, {}))
        for doc_id, video_id, score, _ in rows
    )
    end = offset + len(hits)
    return SearchPage(
        hits=hits,
        total=total,
        facets=Facets(
            tags={tag: int(n) for tag, n in tag_counts},
            duration={b: int(duration_counts.get(b.value, 0)) for b in DurationBucket},
        ),
        next_cursor=encode_cursor(end) if hits and end < total and end <= MAX_OFFSET else None,
    )


def _filters(query: SearchQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if not query.include_unwatchable:
        clauses.append("d.watchable = 1")
    if query.uploader is not None:
        clauses.append("d.uploader_id = ?")
        params.append(query.uploader)
    if query.duration is not None:
        clauses.append("d.duration_bucket = ?")
        params.append(query.duration.value)
    if query.uploaded_after is not None:
        clauses.append("d.published_at_us > ?")
        params.append(_micros(query.uploaded_after))
    for tag in dict.fromkeys(query.tags):
        clauses.append("EXISTS (SELECT 1 FROM search_tags t WHERE t.doc_id = d.id AND t.tag = ?)")
        params.append(tag)
    return "".join(f" AND {c}" for c in clauses), params


def _highlights(conn: sqlite3.Connection, match: str, doc_ids: list[int]) -> dict[int, dict[str, str]]:
    if not doc_ids:
        return {}
    marks = (MARK_OPEN, MARK_CLOSE)
    rows = conn.execute(
        "SELECT rowid, highlight(search_fts, 0, ?, ?), highlight(search_fts, 1, ?, ?), "
        "highlight(search_fts, 2, ?, ?), snippet(search_fts, 3, ?, ?, '…', ?) FROM search_fts "
        f"WHERE search_fts MATCH ? AND rowid IN ({', '.join('?' * len(doc_ids))})",
        (*marks, *marks, *marks, *marks, SNIPPET_WORDS, match, *doc_ids),
    ).fetchall()
    return {
        row[0]: {
            column: marked_text(text)
            for column, text in zip(_COLUMNS, row[1:], strict=True)
            if MARK_OPEN in text
        }
        for row in rows
    }


def _suggest(conn: sqlite3.Connection, prefix: str, limit: int) -> list[Suggestion]:
    prefix_words = words(prefix)[:MAX_QUERY_WORDS]
    if not prefix_words or limit == 0:
        return []
    groups = [_expansions(conn, w) for w in prefix_words[:-1]]
    groups.append(_expansions(conn, prefix_words[-1], prefix=True))
    match = "{title tags} : (" + _match_expression(groups, prefix_words[-1]) + ")"
    (matches,) = conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT ?)",
        (match, SPARSE_SUGGESTIONS),
    ).fetchone()
    if matches < SPARSE_SUGGESTIONS:  # few: sort them all
        sql = (
            "SELECT d.title, d.video_id, d.views_7d FROM search_fts JOIN search_docs d NOT INDEXED "
            "ON d.id = search_fts.rowid WHERE search_fts MATCH ? AND d.watchable = 1 "
            "ORDER BY d.views_7d DESC, d.video_id LIMIT ?"
        )
    else:  # many: walk the videos most watched first and stop at the limit
        sql = (
            "SELECT d.title, d.video_id, d.views_7d FROM search_docs d INDEXED BY search_docs_by_views "
            "WHERE d.watchable = 1 AND d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ?) "
            "ORDER BY d.views_7d DESC, d.video_id LIMIT ?"
        )
    rows = conn.execute(sql, (match, limit)).fetchall()
    return [
        Suggestion(text=title, video_id=video_id, popularity=int(views)) for title, video_id, views in rows
    ]


def _expansions(conn: sqlite3.Connection, word: str, *, prefix: bool = False) -> list[str]:
    """``word`` and the spelling words within its typo allowance, closest and most common first.

    With ``prefix``, the words whose start is within the allowance ("pyhto" → "python").
    """
    typos = max_typos(word)
    if typos == 0:
        return [word]
    whole = not prefix
    shortest = len(word) - typos
    longest = len(word) + typos if whole else 1_000
    threshold = gram_threshold(word, typos, whole=whole)
    if threshold >= 1:
        grams = sorted(bigrams(word, whole=whole))
        candidates = conn.execute(
            "SELECT t.term, t.doc_count FROM (SELECT term FROM search_term_grams "
            f"WHERE gram IN ({', '.join('?' * len(grams))}) GROUP BY term HAVING COUNT(*) >= ?) g "
            "JOIN search_terms t ON t.term = g.term WHERE t.length BETWEEN ? AND ?",
            (*grams, threshold, shortest, longest),
        ).fetchall()
    else:  # too few distinct bigrams to filter by ("aaaaa"): every word of a near length
        candidates = conn.execute(
            "SELECT term, doc_count FROM search_terms WHERE length BETWEEN ? AND ?", (shortest, longest)
        ).fetchall()
    measure = bounded_prefix_distance if prefix else bounded_distance
    # distance 0 is the word itself, or (prefix) a word it starts, which the prefix match covers
    close = [(measure(word, term, typos), -count, term) for term, count in candidates]
    ranked = sorted(c for c in close if 0 < c[0] <= typos)[:MAX_EXPANSIONS]
    return [word, *(term for _, _, term in ranked)]


def _match_expression(groups: list[list[str]], last: str) -> str:
    """``("a" OR "a2") AND ("b" OR "b"*)``: every group must match; the last word also as a prefix."""
    parts = []
    for i, group in enumerate(groups):
        alternatives = [f'"{term}"' for term in group]
        if i == len(groups) - 1:
            alternatives.append(f'"{last}"*')
        parts.append("(" + " OR ".join(alternatives) + ")")
    return " AND ".join(parts)


# -- plumbing -------------------------------------------------------------------------------


class _transaction:
    """``BEGIN`` (IMMEDIATE for writes) … ``COMMIT``, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection, *, write: bool = True) -> None:
        self._conn = conn
        self._begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    def __enter__(self) -> None:
        self._conn.execute(self._begin)

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self._conn.execute("COMMIT")
        elif self._conn.in_transaction:  # SQLite may already have rolled back (disk full, I/O error)
            self._conn.execute("ROLLBACK")


def _statements(script: str) -> list[str]:
    """A schema script as single statements (``executescript`` would commit the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def _to_json(doc: SearchDocument) -> str:
    return json.dumps(
        {
            "video_id": doc.video_id,
            "status": doc.status,
            "title": doc.title,
            "description": doc.description,
            "tags": list(doc.tags),
            "uploader_id": doc.uploader_id,
            "duration_ms": doc.duration_ms,
            "published_at": None if doc.published_at is None else doc.published_at.isoformat(),
            "renditions": list(doc.renditions),
            "views_24h": doc.views_24h,
            "views_7d": doc.views_7d,
        },
        ensure_ascii=False,
    )


def _micros(value: datetime) -> int:
    """Exact integer microseconds since the epoch (a float timestamp would round)."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
