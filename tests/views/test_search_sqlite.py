"""SQLite's own side of the search store: the spelling table, scale, the rebuild tables, a file shared."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from views.errors import StoreUnavailableError, ViewStoreError
from views.search.model import SearchDocument, SearchQuery
from views.search.sqlite import SqliteSearchStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "views" / "search.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteSearchStore]:
    s = SqliteSearchStore(path)
    yield s
    await s.close()


def doc(video_id: str, title: str, **fields: object) -> SearchDocument:
    return SearchDocument(video_id=video_id, status="ready", title=title, **fields)  # type: ignore[arg-type]


def spelling(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT term, doc_count FROM search_terms").fetchall())


async def test_the_spelling_table_counts_title_tag_and_uploader_words(
    store: SqliteSearchStore, path: Path
) -> None:
    await store.put(
        doc("a", "Volcano Documentary", tags=("Nature",), uploader_id="geo-anna", description="lava")
    )
    await store.put(doc("b", "Volcano eruption"))
    assert spelling(path) == {
        "volcano": 2, "documentary": 1, "nature": 1, "geo": 1, "anna": 1, "eruption": 1,
    }  # fmt: skip
    await store.put(doc("a", "Glacier"))  # a rewrite takes the old words out
    await store.delete("b")
    assert spelling(path) == {"glacier": 1}
    with sqlite3.connect(path) as conn:
        grams = {row[0] for row in conn.execute("SELECT DISTINCT term FROM search_term_grams").fetchall()}
    assert grams == {"glacier"}


async def test_typo_search_stays_fast_with_ten_thousand_videos(store: SqliteSearchStore) -> None:
    rng = random.Random(5)
    syllables = [
        "ka",
        "ro",
        "mi",
        "te",
        "lo",
        "shi",
        "pa",
        "ne",
        "vo",
        "ri",
        "gu",
        "tar",
        "len",
        "son",
        "dra",
    ]
    vocabulary = sorted(
        {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(8000)}
    )
    docs = [
        doc(
            f"v{i:05d}",
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 8))),
            tags=tuple(rng.choice(vocabulary) for _ in range(3)),
            uploader_id=f"user{i % 500}",
            description=" ".join(rng.choice(vocabulary) for _ in range(30)),
            views_7d=rng.randint(0, 10_000),
        )
        for i in range(10_000)
    ]
    for start in range(0, len(docs), 1000):
        await store.put_many(docs[start : start + 1000])
    target = next(d for d in docs if len(d.title.split()[0]) >= 6)
    first, second = target.title.split()[:2]
    typo = first[0] + first[2] + first[1] + first[3:]  # two letters swapped
    timings = []
    for query in (f"{typo} {second[:3]}", typo, f"{first} {second}"):
        started = time.perf_counter()
        page = await store.search(SearchQuery(q=query, limit=100))
        timings.append(time.perf_counter() - started)
        assert target.video_id in [hit.video_id for hit in page.hits], (query, page.total)
    started = time.perf_counter()
    suggestions = await store.suggest(typo[:6])
    timings.append(time.perf_counter() - started)
    assert suggestions
    assert max(timings) < 0.5, timings  # about 10 ms each on two cores; the bound is for slow CI


async def test_swap_without_a_rebuild_is_refused(store: SqliteSearchStore) -> None:
    with pytest.raises(ViewStoreError, match="no rebuild"):
        await store.swap()


async def test_another_connection_sees_the_swapped_in_tables(store: SqliteSearchStore, path: Path) -> None:
    reader = SqliteSearchStore(path)
    try:
        await store.put(doc("old", "Night train"))
        assert [h.video_id for h in (await reader.search(SearchQuery(q="train"))).hits] == ["old"]
        rebuild = await store.begin_rebuild()
        await rebuild.put(doc("new", "Night train"))
        await store.swap()
        assert [h.video_id for h in (await reader.search(SearchQuery(q="train"))).hits] == ["new"]
        await reader.check()
    finally:
        await reader.close()


async def test_a_closed_store_is_unavailable(path: Path) -> None:
    store = SqliteSearchStore(path)
    await store.close()
    with pytest.raises(StoreUnavailableError, match="closed"):
        await store.search(SearchQuery(q="x"))


async def test_check_notices_the_file_moved_away(store: SqliteSearchStore, path: Path) -> None:
    """An open connection keeps reading a moved file: the API would serve a stale index and look healthy."""
    await store.check()
    await asyncio.to_thread(path.rename, path.with_suffix(".old"))
    with pytest.raises(StoreUnavailableError, match="gone"):
        await store.check()
