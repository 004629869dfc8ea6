"""The distributed search store: Elasticsearch 8, through an alias over one index.

Readers and writers address the alias; a rebuild fills a new index and
``swap`` moves the alias to it in one ``_aliases`` call, so searches answer
throughout (the old index is dropped by the next rebuild, once searches in
flight on it are long done).

The servers we run lack the analysis-common module (no asciifolding,
edge_ngram, language analyzers, search_as_you_type, scripts), so:

- text is folded in Python (``views.search.text.fold``) into ``s_*`` fields
  analyzed by the standard analyzer, and queries are folded the same way;
  highlights come back on the folded fields, and the words they mark are
  marked again in the original text;
- typos: ``fuzziness: AUTO:5,9`` is Meilisearch's rule of ``text.max_typos``;
  the last word also matches as a prefix (``bool_prefix``);
- suggestions: a ``completion`` field holding each word-suffix of the folded
  title and tags ("learn python fast", "python fast", "fast"), weighted by
  views, present only on watchable videos, fuzzy by the same rule;
- relevance: ``function_score`` multiplies the text score by ``1 + 0.1 *
  log10(1 + views_7d)`` (``text.popularity_boost``); an exact title, a title
  starting with the query, and matching every word without a typo add large
  constants, standing in for the tiers the SQLite store sorts by.

Every request has a timeout; a server that does not answer, refuses, or is
overloaded raises ``StoreUnavailableError``. ``GET /`` is refused by these
servers (no rest-root module), so ``check`` asks for cluster health instead of
the client's ``info()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from elasticsearch import ApiError, AsyncElasticsearch, ConflictError, NotFoundError, TransportError

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
    ONE_TYPO_FROM,
    POPULARITY_WEIGHT,
    SNIPPET_WORDS,
    TWO_TYPOS_FROM,
    mark_words,
    max_typos,
    title_key,
    words,
)

__all__ = ["DEFAULT_INDEX", "ElasticsearchSearchStore", "Refresh"]

T = TypeVar("T")
Refresh = Literal["wait_for", "true", "false"]

DEFAULT_INDEX = "tubestream-search"
FUZZINESS = f"AUTO:{ONE_TYPO_FROM},{TWO_TYPOS_FROM}"
# field boosts: title over tags over uploader over description, as the SQLite store's bm25 weights
FIELDS = ["s_title^10", "s_tags^5", "s_uploader^3", "s_description"]
EXACT_TITLE_BOOST = 1000.0
TITLE_PREFIX_BOOST = 300.0  # the title starts with what was typed: "the ha" → "The Hangover"
EXACT_WORDS_BOOST = 100.0
SLOW_REQUEST_TIMEOUT_S = 60.0  # bulk writes, index creation, refresh: heavier than a search
BULK_DOCUMENTS = 500  # documents per bulk request: a rebuild's batches are split into these
MAX_WEIGHT = 2**31 - 1  # a completion weight is an int
MAX_COMPLETION_WORDS = 12  # word-suffixes of a title or tag offered to the completion field
CONFLICT_RETRIES = 5

SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0}  # one node; one shard keeps BM25 exact
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "video_id": {"type": "keyword"},
        "status": {"type": "keyword"},
        "watchable": {"type": "boolean"},
        "title": {"type": "text", "index": False},  # shown and highlighted; searched through s_title
        "description": {"type": "text", "index": False},
        "tags": {"type": "keyword"},
        "uploader_id": {"type": "keyword"},
        "duration_ms": {"type": "long"},
        "duration_bucket": {"type": "keyword"},
        "published_at": {"type": "date_nanos"},  # microseconds survive, as in the SQLite store
        "renditions": {"type": "keyword"},
        "views_24h": {"type": "long"},
        "views_7d": {"type": "long"},
        "title_key": {"type": "keyword", "ignore_above": 4096},
        "s_title": {"type": "text"},
        "s_tags": {"type": "text"},
        "s_uploader": {"type": "text"},
        "s_description": {"type": "text"},
        "suggest": {"type": "completion", "analyzer": "standard", "max_input_length": 100},
    },
}


class ElasticsearchSearchStore:
    """``SearchStore`` on an Elasticsearch 8 cluster, through the alias ``index``.

    ``refresh`` is what writes wait for: ``wait_for`` (the next refresh, up to
    a second: a write is then visible to the next search, as the contract
    says), ``true`` (refresh at once: tests, small writes) or ``false``.
    """

    def __init__(
        self,
        url: str,
        *,
        index: str = DEFAULT_INDEX,
        refresh: Refresh = "wait_for",
        request_timeout_s: float = 5.0,
    ) -> None:
        self._url = url
        self._alias = index
        self._refresh: bool | str = "wait_for" if refresh == "wait_for" else refresh == "true"
        self._client = AsyncElasticsearch(
            url, request_timeout=request_timeout_s, max_retries=1, retry_on_timeout=False
        )
        self._slow = self._client.options(request_timeout=max(request_timeout_s, SLOW_REQUEST_TIMEOUT_S))
        self._ready = False
        self._ready_lock = asyncio.Lock()
        self._pending: str | None = None  # the index a rebuild is filling

    # -- the builder's side ----------------------------------------------------------------

    async def put(self, doc: SearchDocument) -> None:
        await self._ensure_index()
        await self._call(
            "index",
            self._client.index(
                index=self._alias, id=doc.video_id, document=_body(doc), refresh=self._refresh
            ),
        )

    async def put_many(self, docs: list[SearchDocument]) -> None:
        await self._ensure_index()
        await self._bulk(self._alias, docs, refresh=self._refresh)

    async def update_popularity(self, video_id: str, *, views_24h: int, views_7d: int) -> None:
        """Read the document and write it back with the new counts (its suggest weight is one of
        them), unless a writer changed it in between: then again."""
        await self._ensure_index()
        for _ in range(CONFLICT_RETRIES):
            try:
                found = await self._call(
                    "get", self._client.get(index=self._alias, id=video_id), passing=(NotFoundError,)
                )
            except NotFoundError:
                return
            doc = dataclasses.replace(_from_source(found["_source"]), views_24h=views_24h, views_7d=views_7d)
            try:
                await self._call(
                    "index",
                    self._client.index(
                        index=found["_index"],
                        id=video_id,
                        document=_body(doc),
                        if_seq_no=found["_seq_no"],
                        if_primary_term=found["_primary_term"],
                        refresh=self._refresh,
                    ),
                    passing=(ConflictError,),
                )
                return
            except ConflictError:
                continue
        raise StoreUnavailableError(
            f"search index {self._alias}: {video_id} kept changing; popularity not set"
        )

    async def delete(self, video_id: str) -> None:
        await self._ensure_index()
        with contextlib.suppress(NotFoundError):
            await self._call(
                "delete",
                self._client.delete(index=self._alias, id=video_id, refresh=self._refresh),
                passing=(NotFoundError,),
            )

    async def begin_rebuild(self) -> _ElasticsearchRebuild:
        """Create a new index beside the live one, first dropping every other index of this alias's
        name that the alias does not point to (unfinished rebuilds, indices swapped out)."""
        await self._ensure_index()
        live = await self._alias_indices()
        existing = await self._call("list indices", self._client.indices.get(index=f"{self._alias}-*"))
        # only names this store makes: another alias may share the prefix ("search" and "search-v2")
        ours = re.compile(rf"{re.escape(self._alias)}-(initial|\d{{14}}-[0-9a-f]{{6}})")
        for name in {n for n in existing.body if ours.fullmatch(n)} - live:
            await self._drop(name)
        name = f"{self._alias}-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
        await self._call(
            "create index", self._slow.indices.create(index=name, settings=SETTINGS, mappings=MAPPINGS)
        )
        self._pending = name
        return _ElasticsearchRebuild(self, name)

    async def swap(self) -> None:
        """Move the alias to the rebuilt index in one atomic ``_aliases`` call.

        The index swapped out is left, unaliased, for searches in flight on it
        (in this process or an API's) to finish: deleting it at once would fail
        them. The next ``begin_rebuild`` drops it.
        """
        name = self._pending
        if name is None:
            raise ViewStoreError(f"search index {self._alias}: no rebuild to swap in")
        await self._call("refresh", self._slow.indices.refresh(index=name))
        old = await self._alias_indices()
        actions: list[Mapping[str, Any]] = [{"add": {"index": name, "alias": self._alias}}]
        actions += [{"remove": {"index": index, "alias": self._alias}} for index in sorted(old - {name})]
        await self._call("swap alias", self._client.indices.update_aliases(actions=actions))
        self._pending = None

    # -- the reader's side -----------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchPage:
        await self._ensure_index()
        query_words = words(query.q)[:MAX_QUERY_WORDS]
        offset = query.offset
        text = _text_query(query_words)
        response = await self._call(
            "search",
            self._client.search(
                index=self._alias,
                query=_scored(text, _filters(query)),
                sort=_SORTS[query.sort],
                from_=offset,
                size=query.limit,
                track_total_hits=True,
                track_scores=True,
                allow_partial_search_results=False,  # a failed shard is an error, not fewer hits
                source_includes=["title", "description", "tags", "uploader_id"],
                aggregations={
                    "tags": {
                        "terms": {
                            "field": "tags",
                            "size": MAX_TAG_FACETS,
                            "order": [{"_count": "desc"}, {"_key": "asc"}],
                        }
                    },
                    "duration": {"terms": {"field": "duration_bucket", "size": len(DurationBucket)}},
                },
                highlight=_HIGHLIGHT | {"highlight_query": text} if query_words else None,
            ),
        )
        hits = tuple(_hit(raw) for raw in response["hits"]["hits"])
        total = int(response["hits"]["total"]["value"])
        aggs = response["aggregations"]
        durations = {b["key"]: int(b["doc_count"]) for b in aggs["duration"]["buckets"]}
        end = offset + len(hits)
        return SearchPage(
            hits=hits,
            total=total,
            facets=Facets(
                tags={b["key"]: int(b["doc_count"]) for b in aggs["tags"]["buckets"]},
                duration={b: durations.get(b.value, 0) for b in DurationBucket},
            ),
            next_cursor=encode_cursor(end) if hits and end < total and end <= MAX_OFFSET else None,
        )

    async def suggest(self, prefix: str, *, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        limit = max(0, min(limit, MAX_SUGGESTIONS))
        prefix_words = words(prefix)[:MAX_QUERY_WORDS]
        if not prefix_words or limit == 0:
            return []
        await self._ensure_index()
        completion: dict[str, Any] = {"field": "suggest", "size": limit * 5, "skip_duplicates": False}
        typos = min(2, sum(max_typos(w) for w in prefix_words))
        if typos:
            completion["fuzzy"] = {
                "fuzziness": typos,
                "transpositions": True,
                "prefix_length": 0,
                "min_length": 0,
            }
        response = await self._call(
            "suggest",
            self._client.search(
                index=self._alias,
                suggest={"s": {"prefix": " ".join(prefix_words), "completion": completion}},
                source_includes=["title", "views_7d"],
            ),
        )
        found: dict[str, Suggestion] = {}
        for option in response["suggest"]["s"][0]["options"]:
            source = option["_source"]
            found[option["_id"]] = Suggestion(
                text=source["title"], video_id=option["_id"], popularity=int(source["views_7d"])
            )
        ranked = sorted(found.values(), key=lambda s: (-s.popularity, s.video_id))
        return ranked[:limit]

    async def check(self) -> None:
        health = await self._call("cluster health", self._client.cluster.health(timeout="2s"))
        if health["status"] == "red":
            raise StoreUnavailableError(f"Elasticsearch at {self._url}: cluster health is red")
        await self._ensure_index()
        await self._call("count", self._client.count(index=self._alias))

    async def close(self) -> None:
        await self._client.close()

    # -- plumbing ----------------------------------------------------------------------------

    async def _ensure_index(self) -> None:
        """Create the first index behind the alias unless the alias exists (once per store)."""
        if self._ready:
            return
        async with self._ready_lock:
            if self._ready:
                return
            if not await self._call("alias", self._client.indices.exists_alias(name=self._alias)):
                try:
                    await self._call(
                        "create index",
                        self._slow.indices.create(
                            index=f"{self._alias}-initial",
                            settings=SETTINGS,
                            mappings=MAPPINGS,
                            aliases={self._alias: {}},
                        ),
                    )
                except ViewStoreError as exc:  # another process created it first
                    if "resource_already_exists_exception" not in str(exc):
                        raise
            self._ready = True

    async def _alias_indices(self) -> set[str]:
        response = await self._call("alias", self._client.indices.get_alias(name=self._alias))
        return set(response.body)

    async def _drop(self, index: str) -> None:
        with contextlib.suppress(NotFoundError):
            await self._call(
                "delete index", self._client.indices.delete(index=index), passing=(NotFoundError,)
            )

    async def _bulk(self, index: str, docs: Sequence[SearchDocument], *, refresh: bool | str) -> None:
        """Index ``docs`` in requests of BULK_DOCUMENTS; the last one carries ``refresh``."""
        for start in range(0, len(docs), BULK_DOCUMENTS):
            chunk = docs[start : start + BULK_DOCUMENTS]
            last = start + BULK_DOCUMENTS >= len(docs)
            await self._bulk_request(index, chunk, refresh=refresh if last else False)

    async def _bulk_request(self, index: str, docs: Sequence[SearchDocument], *, refresh: bool | str) -> None:
        operations: list[Mapping[str, Any]] = []
        for doc in docs:
            operations += [{"index": {"_index": index, "_id": doc.video_id}}, _body(doc)]
        response = await self._call("bulk", self._slow.bulk(operations=operations, refresh=refresh))
        if not response["errors"]:
            return
        failed = [item["index"] for item in response["items"] if "error" in item["index"]]
        first = failed[0]
        message = f"search index {index}: {len(failed)} of {len(docs)} writes failed, first: {first['error']}"
        if any(item["status"] == 429 or item["status"] >= 500 for item in failed):
            raise StoreUnavailableError(message)
        raise ViewStoreError(message)

    async def _call(self, what: str, request: Awaitable[T], *, passing: tuple[type[ApiError], ...] = ()) -> T:
        """Await a client call, translating its errors, but for those in ``passing`` (the caller's to handle).

        An index gone missing (404) is an outage like a refusal; another 4xx is a bug.
        """
        try:
            return await request
        except ApiError as exc:
            if isinstance(exc, passing):
                raise
            message = f"Elasticsearch at {self._url}: {what} failed: {exc}"
            if exc.meta.status in (404, 429) or exc.meta.status >= 500:
                raise StoreUnavailableError(message) from exc
            raise ViewStoreError(message) from exc  # a bad request: a bug, not an outage
        except TransportError as exc:  # refused, reset, timed out
            raise StoreUnavailableError(f"Elasticsearch at {self._url}: {what} failed: {exc}") from exc


class _ElasticsearchRebuild:
    """Bulk-writes into the new index (not refreshed until ``swap``)."""

    def __init__(self, store: ElasticsearchSearchStore, index: str) -> None:
        self._store = store
        self.index = index

    async def put(self, doc: SearchDocument) -> None:
        await self.put_many([doc])

    async def put_many(self, docs: list[SearchDocument]) -> None:
        await self._store._bulk(self.index, docs, refresh=False)

    async def abort(self) -> None:
        if self._store._pending == self.index:
            self._store._pending = None
        await self._store._drop(self.index)


# -- documents ------------------------------------------------------------------------------


def _body(doc: SearchDocument) -> dict[str, Any]:
    bucket = duration_bucket(doc.duration_ms)
    body: dict[str, Any] = {
        "video_id": doc.video_id,
        "status": doc.status,
        "watchable": doc.watchable,
        "title": doc.title,
        "description": doc.description,
        "tags": list(doc.tags),
        "uploader_id": doc.uploader_id,
        "duration_ms": doc.duration_ms,
        "duration_bucket": None if bucket is None else bucket.value,
        "published_at": None if doc.published_at is None else _nanos_text(doc.published_at),
        "renditions": list(doc.renditions),
        "views_24h": doc.views_24h,
        "views_7d": doc.views_7d,
        "title_key": title_key(doc.title),
        # the folded fields hold text.words joined by spaces, so the standard analyzer sees the very
        # words a query is split into ("there's" → "there s", "A.D." → "a d", as SQLite's tokenizer does)
        "s_title": title_key(doc.title),
        "s_tags": [title_key(tag) for tag in doc.tags],
        "s_uploader": title_key(doc.uploader_id),
        "s_description": title_key(doc.description),
    }
    inputs = _completions(doc)
    if doc.watchable and inputs:
        body["suggest"] = {"input": inputs, "weight": max(0, min(doc.views_7d, MAX_WEIGHT))}
    return body


def _completions(doc: SearchDocument) -> list[str]:
    """Every word-suffix of the folded title and tags: a completion matches from an input's start."""
    inputs: dict[str, None] = {}
    for text in (doc.title, *doc.tags):
        ws = words(text)[:MAX_COMPLETION_WORDS]
        for i in range(len(ws)):
            inputs[" ".join(ws[i:])] = None
    return list(inputs)


def _nanos_text(value: datetime) -> str:
    """UTC with all nine fraction digits: a range bound missing some is rounded up by ``gt``
    (12:00:00 would mean 12:00:00.999999999), so a video a microsecond later would be missed."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _from_source(source: Mapping[str, Any]) -> SearchDocument:
    published = source.get("published_at")
    return SearchDocument(
        video_id=source["video_id"],
        status=source["status"],
        title=source["title"],
        description=source["description"],
        tags=tuple(source["tags"]),
        uploader_id=source["uploader_id"],
        duration_ms=source["duration_ms"],
        published_at=None if published is None else datetime.fromisoformat(published[:-4] + "+00:00"),
        renditions=tuple(source["renditions"]),
        views_24h=int(source["views_24h"]),
        views_7d=int(source["views_7d"]),
    )


# -- queries --------------------------------------------------------------------------------


def _text_query(query_words: list[str]) -> dict[str, Any]:
    """Every word must match in some field: exactly, within its typos, or (the last) as a prefix."""
    if not query_words:
        return {"match_all": {}}

    def word_clause(word: str, *, last: bool, fuzzy: bool) -> dict[str, Any]:
        match: dict[str, Any] = {"multi_match": {"query": word, "fields": FIELDS}}
        if fuzzy:
            match["multi_match"] |= {"fuzziness": FUZZINESS, "prefix_length": 0}
        if not last:
            return match
        prefix = {"multi_match": {"query": word, "fields": FIELDS, "type": "bool_prefix"}}
        return {"dis_max": {"queries": [match, prefix]}}

    last = len(query_words) - 1
    fuzzy = [word_clause(w, last=i == last, fuzzy=True) for i, w in enumerate(query_words)]
    exact = [word_clause(w, last=i == last, fuzzy=False) for i, w in enumerate(query_words)]
    return {
        "bool": {
            "must": fuzzy,
            "should": [
                {"constant_score": {"filter": {"bool": {"must": exact}}, "boost": EXACT_WORDS_BOOST}},
                {
                    "constant_score": {
                        "filter": {"term": {"title_key": " ".join(query_words)}},
                        "boost": EXACT_TITLE_BOOST,
                    }
                },
                {
                    "constant_score": {
                        "filter": {"prefix": {"title_key": " ".join(query_words)}},
                        "boost": TITLE_PREFIX_BOOST,
                    }
                },
            ],
        }
    }


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if not query.include_unwatchable:
        filters.append({"term": {"watchable": True}})
    if query.uploader is not None:
        filters.append({"term": {"uploader_id": query.uploader}})
    if query.duration is not None:
        filters.append({"term": {"duration_bucket": query.duration.value}})
    if query.uploaded_after is not None:
        filters.append({"range": {"published_at": {"gt": _nanos_text(query.uploaded_after)}}})
    filters += [{"term": {"tags": tag}} for tag in dict.fromkeys(query.tags)]
    return filters


def _scored(text: dict[str, Any], filters: list[dict[str, Any]]) -> dict[str, Any]:
    """The text query, filtered, its score times ``text.popularity_boost`` of the video's views."""
    return {
        "function_score": {
            "query": {"bool": {"must": [text], "filter": filters}},
            "functions": [
                {"weight": 1},
                {
                    "field_value_factor": {"field": "views_7d", "modifier": "log1p", "missing": 0},
                    "weight": POPULARITY_WEIGHT,
                },
            ],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


_SORTS: dict[SearchSort, list[Any]] = {
    SearchSort.RELEVANCE: [{"_score": "desc"}, {"video_id": "asc"}],
    SearchSort.VIEWS: [{"views_7d": "desc"}, {"views_24h": "desc"}, {"video_id": "asc"}],
    SearchSort.NEWEST: [{"published_at": {"order": "desc", "missing": "_last"}}, {"video_id": "asc"}],
}

_HIGHLIGHT: dict[str, Any] = {
    "pre_tags": [MARK_OPEN],
    "post_tags": [MARK_CLOSE],
    "fields": {
        field: {"number_of_fragments": 0} for field in ("s_title", "s_tags", "s_uploader", "s_description")
    },
}


def _hit(raw: Mapping[str, Any]) -> SearchHit:
    """A hit, its highlights made from the original text: the folded fields tell which words matched."""
    matched: set[str] = set()
    for fragments in raw.get("highlight", {}).values():
        for fragment in fragments:
            for marked in fragment.split(MARK_OPEN)[1:]:
                matched.update(words(marked.split(MARK_CLOSE, 1)[0]))
    source = raw["_source"]
    highlights: dict[str, str] = {}
    if matched:
        candidates = {
            "title": mark_words(source["title"], matched),
            "tags": mark_words(", ".join(source["tags"]), matched),
            "uploader": mark_words(source["uploader_id"], matched),
            "description": mark_words(source["description"], matched, max_words=SNIPPET_WORDS),
        }
        highlights = {field: text for field, text in candidates.items() if "<mark>" in text}
    return SearchHit(video_id=raw["_id"], score=float(raw["_score"] or 0.0), highlights=highlights)
