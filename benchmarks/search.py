"""Benchmark: the search store's queries against the raw engine's own query, in one run.

    python benchmarks/search.py [--videos 10000] [--queries 2000] [--elasticsearch URL]

Indexes a generated catalog of ``--videos`` watchable videos (titles, tags,
uploaders and descriptions drawn from a fixed vocabulary, Zipf-like
popularity) into the embedded store (SQLite FTS5), and into an Elasticsearch
when ``--elasticsearch`` names one, then times, interleaved:
  x  ``store.search`` (typo expansion, tiers, facets, highlights, total) and ``store.suggest``
  a  the raw engine's own query for the same words: one FTS5 ``MATCH`` ordered by bm25, 20 rows
     (or one Elasticsearch ``multi_match``), no typos, facets or highlights
and prints p50/p99 of each and the ratio x/a, plus the documents indexed per second.
Goals on the embedded store with 10 000 videos: search p99 <= 30 ms, suggest p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from views.search.model import SearchDocument, SearchQuery, SearchStore
from views.search.text import words
from views.stores import open_search_store

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "sa",
    "to",
    "vel",
    "dor",
    "an",
    "pe",
    "ri",
    "sun",
    "mar",
    "tel",
    "ova",
    "qui",
]
TAGS = ["music", "howto", "gaming", "travel", "cooking", "science", "sports", "news", "comedy", "nature"]


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    found: set[str] = set()
    while len(found) < size:
        found.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(found)


def catalog(n: int, seed: int = 11) -> list[SearchDocument]:
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    published = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        SearchDocument(
            video_id=f"v{i:06d}",
            status="ready",
            title=" ".join(rng.choice(vocab) for _ in range(rng.randint(2, 6))),
            description=" ".join(rng.choice(vocab) for _ in range(rng.randint(10, 40))),
            tags=tuple(rng.sample(TAGS, rng.randint(1, 3))),
            uploader_id=f"uploader-{rng.randint(1, 500)}",
            duration_ms=rng.randint(10_000, 3_600_000),
            published_at=published + timedelta(minutes=i),
            views_24h=int(1_000_000 / (1 + i) ** 0.8),
            views_7d=int(7_000_000 / (1 + i) ** 0.8),
        )
        for i in range(n)
    ]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1 :]


def queries(docs: list[SearchDocument], n: int, seed: int = 5) -> tuple[list[str], list[str]]:
    """Search texts (title words, some with a typo, the last sometimes cut) and suggestion prefixes."""
    rng = random.Random(seed)
    texts, prefixes = [], []
    for _ in range(n):
        title = words(rng.choice(docs).title)
        picked = rng.sample(title, min(len(title), rng.randint(1, 3)))
        picked = [typo(w, rng) if rng.random() < 0.3 else w for w in picked]
        if rng.random() < 0.3:
            picked[-1] = picked[-1][: max(2, len(picked[-1]) - 2)]
        texts.append(" ".join(picked))
        word = rng.choice(title)
        prefixes.append(word[: rng.randint(2, max(2, min(len(word), 6)))])
    return texts, prefixes


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def raw_fts(path: Path) -> Callable[[str], Awaitable[Any]]:
    """FTS5's own query, on the store's own table, through the same thread hop the store makes."""
    conn = sqlite3.connect(str(path), check_same_thread=False)

    def query(text: str) -> list[Any]:
        terms = words(text)
        match = " ".join(f'"{t}"' for t in terms[:-1]) + f' "{terms[-1]}"*' if terms else '""'
        return conn.execute(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH ? ORDER BY bm25(search_fts) LIMIT 20",
            (match,),
        ).fetchall()

    async def run(text: str) -> Any:
        return await asyncio.to_thread(query, text)

    return run


def raw_es(url: str, index: str) -> Callable[[str], Awaitable[Any]]:
    from elasticsearch import AsyncElasticsearch

    client = AsyncElasticsearch(url)

    async def run(text: str) -> Any:
        body = {
            "multi_match": {"query": text, "fields": ["s_title^4", "s_tags^2", "s_uploader", "s_description"]}
        }
        return await client.search(index=index, query=body, size=20)

    return run


Raw = Callable[[str], Awaitable[Any]]


async def bench(
    name: str, store: SearchStore, raw: Raw, docs: list[SearchDocument], texts: list[str], prefixes: list[str]
) -> None:
    started = time.perf_counter()
    rebuild = await store.begin_rebuild()
    for i in range(0, len(docs), 500):
        await rebuild.put_many(docs[i : i + 500])
    await store.swap()
    rate = len(docs) / (time.perf_counter() - started)
    for text in texts[:50]:  # warm caches and connections
        await store.search(SearchQuery(q=text))
        await raw(text)
    x_search, a_search, x_suggest = [], [], []
    for text, prefix in zip(texts, prefixes, strict=True):
        x_search.append(await timed(lambda t=text: store.search(SearchQuery(q=t))))  # type: ignore[misc]
        a_search.append(await timed(lambda t=text: raw(t)))  # type: ignore[misc]
        x_suggest.append(await timed(lambda p=prefix: store.suggest(p)))  # type: ignore[misc]
    print(f"\n{name}: {len(docs):,} videos indexed at {rate:,.0f} documents/s")
    print(f"  {'':32}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"  {'x search (store)':32}{pct(x_search, 0.5):>9.2f}{pct(x_search, 0.99):>9.2f}")
    print(f"  {'a raw engine query':32}{pct(a_search, 0.5):>9.2f}{pct(a_search, 0.99):>9.2f}")
    print(f"  {'x suggest (store)':32}{pct(x_suggest, 0.5):>9.2f}{pct(x_suggest, 0.99):>9.2f}")
    ratio = pct(x_search, 0.99) / pct(a_search, 0.99)
    at_p50 = statistics.median(x_search) / statistics.median(a_search)
    print(f"  search x/a at p99 = {ratio:.2f}; at p50 = {at_p50:.2f}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--elasticsearch", metavar="URL", help="also measure this Elasticsearch (a scratch index)"
    )
    args = parser.parse_args()
    docs = catalog(args.videos)
    texts, prefixes = queries(docs, args.queries)
    with tempfile.TemporaryDirectory(prefix="tubestream-bench-") as tmp:
        path = Path(tmp) / "search.db"
        store = open_search_store(f"sqlite:///{path}")
        try:
            await bench("SQLite FTS5 (embedded)", store, raw_fts(path), docs, texts, prefixes)
        finally:
            await store.close()
    if args.elasticsearch:
        index = f"bench-{int(time.time())}"
        store = open_search_store(f"{args.elasticsearch}?index={index}&refresh=false")
        try:
            await bench("Elasticsearch", store, raw_es(args.elasticsearch, index), docs, texts, prefixes)
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
