"""The search store contract, run against both backends: SQLite FTS5 and a real Elasticsearch.

Each test states something a user of search relies on. Store-specific
behaviour (SQLite's spelling table at scale, its rebuild tables) lives in
``test_search_sqlite.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from deploy.local_elasticsearch import LocalElasticsearch
from views.errors import StoreUnavailableError
from views.search.model import (
    MAX_SUGGESTIONS,
    DurationBucket,
    SearchDocument,
    SearchPage,
    SearchQuery,
    SearchSort,
    SearchStore,
)
from views.stores import open_search_store

from harness import free_port

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "elasticsearch"])
def search_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'views' / 'search.db'}"
        return
    server: LocalElasticsearch = request.getfixturevalue("elasticsearch")
    alias = f"search-{uuid.uuid4().hex[:10]}"
    yield f"{server.url}?index={alias}&refresh=true"
    _delete_indices(server.url, alias)


@pytest.fixture
async def store(search_url: str) -> AsyncIterator[SearchStore]:
    s = open_search_store(search_url)
    yield s
    await s.close()


def _delete_indices(url: str, alias: str) -> None:
    """Drop every index the test made (explicit names: wildcards may not delete)."""
    with urllib.request.urlopen(f"{url}/{alias}-*?expand_wildcards=all", timeout=10) as response:
        names = list(json.loads(response.read()))
    if names:
        request = urllib.request.Request(f"{url}/{','.join(names)}", method="DELETE")
        with urllib.request.urlopen(request, timeout=30):
            pass


def doc(video_id: str, title: str = "", **fields: object) -> SearchDocument:
    base = SearchDocument(
        video_id=video_id, status="ready", title=title or f"video {video_id}", published_at=T0
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def ids(page: SearchPage) -> list[str]:
    return [hit.video_id for hit in page.hits]


async def found(store: SearchStore, q: str, **options: object) -> list[str]:
    return ids(await store.search(SearchQuery(q=q, **options)))  # type: ignore[arg-type]


# -- words, typos, prefixes ------------------------------------------------------------------


async def test_the_video_whose_title_is_the_query_comes_first(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("popular", "Python tutorial for complete beginners", views_7d=1_000_000),
            doc("exact", "Python Tutorial"),
            doc("other", "Advanced python tutorial tricks", views_7d=50_000),
            doc("unrelated", "Sourdough bread"),
        ]
    )
    result = await found(store, "python tutorial")
    assert result[0] == "exact"
    assert set(result) == {"popular", "exact", "other"}


async def test_every_word_must_match_in_some_field(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("both", "Sourdough bread", tags=("baking",)),
            doc("one", "Sourdough starter"),
        ]
    )
    assert await found(store, "sourdough baking") == ["both"]  # title word + tag word


async def test_the_last_word_matches_as_a_prefix_while_it_is_being_typed(store: SearchStore) -> None:
    await store.put_many([doc("py", "Learn Python fast"), doc("pan", "Cast iron pan")])
    assert await found(store, "learn pyth") == ["py"]
    assert await found(store, "pyt") == ["py"]
    assert await found(store, "pyth learn") == []  # only the last word is a prefix


async def test_one_typo_is_forgiven_from_five_letters(store: SearchStore) -> None:
    await store.put_many([doc("py", "Learn Python fast"), doc("kitchen", "Kitchen knife skills")])
    assert await found(store, "pyhton") == ["py"]  # two letters swapped count as one typo
    assert await found(store, "pythn") == ["py"]  # a letter missing
    assert await found(store, "kitchem knife") == ["kitchen"]
    assert await found(store, "sandwech") == []  # nothing close


async def test_two_typos_are_forgiven_from_nine_letters_and_not_before(store: SearchStore) -> None:
    await store.put_many([doc("choc", "Chocolate cake"), doc("sand", "Sandwich ideas")])
    assert await found(store, "cjokolate") == ["choc"]  # 9 letters, 2 substitutions
    assert await found(store, "sandwech ideas") == ["sand"]  # 8 letters, 1 typo
    assert await found(store, "sendwech ideas") == []  # 8 letters, 2 typos


async def test_words_under_five_letters_must_be_spelled_right(store: SearchStore) -> None:
    await store.put_many([doc("pan", "Cast iron pan")])
    assert await found(store, "cats") == []
    assert await found(store, "iorn pan") == []
    assert await found(store, "pen") == []
    assert await found(store, "cast iron") == ["pan"]


async def test_accents_and_case_are_folded_both_ways(store: SearchStore) -> None:
    await store.put_many(
        [doc("creme", "Crème brûlée at home"), doc("jalapeno", "JALAPENO poppers", tags=("Café",))]
    )
    assert await found(store, "creme brulee") == ["creme"]
    assert await found(store, "CRÈME") == ["creme"]
    assert await found(store, "jalapeño") == ["jalapeno"]
    assert await found(store, "cafe") == ["jalapeno"]


async def test_tags_uploader_and_description_are_searched(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("tagged", "My weekend project", tags=("woodworking", "diy")),
            doc("uploaded", "Soup", uploader_id="chef-anna"),
            doc("described", "Episode 4", description="We visit a lighthouse on the coast"),
        ]
    )
    assert await found(store, "woodworking") == ["tagged"]
    assert await found(store, "anna") == ["uploaded"]
    assert await found(store, "lighthouse") == ["described"]


async def test_a_title_word_outranks_the_same_word_in_a_description(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("in-description", "Episode 7", description="today we talk about volcanoes and more"),
            doc("in-title", "Volcanoes", description="episode 8"),
        ]
    )
    assert await found(store, "volcanoes") == ["in-title", "in-description"]


async def test_matches_are_highlighted_in_the_original_text_and_escaped(store: SearchStore) -> None:
    await store.put(doc("v", "Crème <b>brûlée</b> & co", description="The best crème of the day"))
    page = await store.search(SearchQuery(q="creme"))
    highlights = page.hits[0].highlights
    assert highlights["title"] == "<mark>Crème</mark> &lt;b&gt;brûlée&lt;/b&gt; &amp; co"
    assert "<mark>crème</mark>" in highlights["description"]
    typo = await store.search(SearchQuery(q="brulle"))
    assert "<mark>brûlée</mark>" in typo.hits[0].highlights["title"]


async def test_an_empty_query_lists_everything_most_popular_first(store: SearchStore) -> None:
    await store.put_many([doc("a", views_7d=5), doc("b", views_7d=500), doc("c")])
    page = await store.search(SearchQuery())
    assert ids(page) == ["b", "a", "c"]
    assert page.total == 3
    assert all(hit.highlights == {} for hit in page.hits)


# -- filters, sorts, facets, pages -------------------------------------------------------------


async def test_filters_combine(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("a", "Cooking pasta", tags=("cooking", "italian"), uploader_id="anna", duration_ms=100_000),
            doc("b", "Cooking rice", tags=("cooking",), uploader_id="ben", duration_ms=600_000),
            doc("c", "Cooking soup", tags=("cooking", "italian"), uploader_id="ben", duration_ms=3_600_000),
        ]
    )
    assert sorted(await found(store, "cooking", tags=("cooking", "italian"))) == ["a", "c"]
    assert sorted(await found(store, "cooking", uploader="ben")) == ["b", "c"]
    assert await found(store, "cooking", uploader="ben", tags=("italian",)) == ["c"]
    assert await found(store, "", duration=DurationBucket.SHORT) == ["a"]
    assert await found(store, "", tags=("Italian",)) == []  # tags are exact, as the facets spell them


async def test_duration_buckets_have_exact_bounds(store: SearchStore) -> None:
    minute = 60_000
    await store.put_many(
        [
            doc("s", duration_ms=4 * minute - 1),
            doc("m1", duration_ms=4 * minute),
            doc("m2", duration_ms=20 * minute),
            doc("l", duration_ms=20 * minute + 1),
            doc("unknown", duration_ms=None),
        ]
    )
    assert await found(store, "", duration=DurationBucket.SHORT) == ["s"]
    assert sorted(await found(store, "", duration=DurationBucket.MEDIUM)) == ["m1", "m2"]
    assert await found(store, "", duration=DurationBucket.LONG) == ["l"]


async def test_uploaded_after_is_strict_and_skips_unpublished(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("old", published_at=T0 - timedelta(days=2)),
            doc("at", published_at=T0),
            doc("new", published_at=T0 + timedelta(microseconds=1)),
            doc("never", published_at=None),
        ]
    )
    assert await found(store, "", uploaded_after=T0) == ["new"]
    assert sorted(await found(store, "", uploaded_after=T0 - timedelta(days=3))) == ["at", "new", "old"]


async def test_sort_by_views_and_by_newest(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("a", "Guitar a", views_7d=10, views_24h=1, published_at=T0),
            doc("b", "Guitar b", views_7d=10, views_24h=5, published_at=T0 + timedelta(hours=1)),
            doc("c", "Guitar c", views_7d=99, published_at=None),
            doc("d", "Guitar d", views_7d=0, published_at=T0 - timedelta(hours=1)),
        ]
    )
    assert await found(store, "guitar", sort=SearchSort.VIEWS) == ["c", "b", "a", "d"]
    assert await found(store, "guitar", sort=SearchSort.NEWEST) == ["b", "a", "d", "c"]


async def test_facets_count_every_hit_not_just_the_page(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("a", "Cooking one", tags=("cooking", "quick"), duration_ms=60_000),
            doc("b", "Cooking two", tags=("cooking",), duration_ms=60_000),
            doc("c", "Cooking three", tags=("cooking", "slow"), duration_ms=7_200_000),
            doc("d", "Cooking four", tags=("cooking",), duration_ms=None),
            doc("e", "Gardening", tags=("garden",), duration_ms=60_000),
            doc(
                "hidden", "Cooking hidden", tags=("cooking", "quick"), status="processing", duration_ms=60_000
            ),
        ]
    )
    page = await store.search(SearchQuery(q="cooking", limit=1))
    assert page.total == 4
    assert page.facets.tags == {"cooking": 4, "quick": 1, "slow": 1}
    assert list(page.facets.tags) == ["cooking", "quick", "slow"]  # most first, then by name
    assert page.facets.duration == {DurationBucket.SHORT: 2, DurationBucket.MEDIUM: 0, DurationBucket.LONG: 1}
    filtered = await store.search(SearchQuery(q="cooking", duration=DurationBucket.SHORT))
    assert filtered.facets.tags == {"cooking": 2, "quick": 1}


async def test_pages_never_repeat_or_skip_a_hit(store: SearchStore) -> None:
    video_ids = [f"v{i:03d}" for i in range(57)]
    await store.put_many([doc(v, "Same title every time", views_7d=i % 5) for i, v in enumerate(video_ids)])
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.search(SearchQuery(q="same title", limit=10, cursor=cursor))
        assert page.total == 57
        seen += ids(page)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 6
    assert sorted(seen) == video_ids
    assert len(seen) == len(set(seen))


async def test_videos_not_ready_are_hidden_unless_asked_for(store: SearchStore) -> None:
    await store.put_many(
        [
            doc("ready", "Drone footage"),
            doc("processing", "Drone racing", status="processing"),
            doc("failed", "Drone crash", status="failed"),
        ]
    )
    assert await found(store, "drone") == ["ready"]
    assert sorted(await found(store, "drone", include_unwatchable=True)) == ["failed", "processing", "ready"]
    assert [s.video_id for s in await store.suggest("drone")] == ["ready"]
    await store.put(doc("processing", "Drone racing"))  # its transcode finished
    assert sorted(await found(store, "drone")) == ["processing", "ready"]


# -- popularity, suggestions -------------------------------------------------------------------


async def test_popularity_orders_equally_relevant_videos(store: SearchStore) -> None:
    await store.put_many([doc("a", "Sourdough starter guide"), doc("b", "Sourdough starter guide")])
    assert await found(store, "sourdough starter") == ["a", "b"]  # a tie goes by id
    await store.update_popularity("b", views_24h=40, views_7d=1000)
    assert await found(store, "sourdough starter") == ["b", "a"]
    await store.update_popularity("a", views_24h=400, views_7d=50_000)
    assert await found(store, "sourdough starter") == ["a", "b"]
    assert await found(store, "sourdough", sort=SearchSort.VIEWS) == ["a", "b"]
    await store.update_popularity("unknown", views_24h=1, views_7d=1)  # a no-op
    assert sorted(await found(store, "")) == ["a", "b"]


async def test_popularity_does_not_lift_a_typo_over_an_exact_match(store: SearchStore) -> None:
    await store.put_many([doc("exact", "Python basics"), doc("typo", "Pyhton basics", views_7d=10_000_000)])
    assert await found(store, "python") == ["exact", "typo"]


async def test_suggestions_complete_any_title_or_tag_word_most_popular_first(store: SearchStore) -> None:
    await store.put_many(
        [doc(f"g{i:02d}", f"Guitar lesson {i}", views_7d=i * 10) for i in range(15)]
        + [
            doc("tagged", "Chords for everyone", tags=("guitar",), views_7d=75),
            doc("middle", "Beginner electric guitars", views_7d=3),
            doc("other", "Piano lesson", views_7d=1_000),
        ]
    )
    suggestions = await store.suggest("guit")
    assert len(suggestions) == MAX_SUGGESTIONS
    assert [s.popularity for s in suggestions] == sorted((s.popularity for s in suggestions), reverse=True)
    assert [s.video_id for s in suggestions][:3] == ["g14", "g13", "g12"]
    assert "tagged" in [s.video_id for s in suggestions]  # 75 views: between g07 and g08
    assert suggestions[0].text == "Guitar lesson 14"
    assert {s.video_id for s in await store.suggest("electric gui")} == {"middle"}
    assert [s.video_id for s in await store.suggest("guit", limit=3)] == ["g14", "g13", "g12"]


async def test_suggestions_forgive_typos_by_the_same_rule(store: SearchStore) -> None:
    await store.put_many([doc("g", "Guitar lesson", views_7d=3), doc("p", "Piano lesson", views_7d=1)])
    assert [s.video_id for s in await store.suggest("guiatr")] == ["g"]  # 6 letters: one typo
    assert await store.suggest("gui tar") == []
    assert await store.suggest("guat") == []  # 4 letters: none
    assert await store.suggest("") == []


# -- writes, rebuilds ----------------------------------------------------------------------------


async def test_a_put_replaces_the_whole_document(store: SearchStore) -> None:
    await store.put(doc("v", "Volcano documentary", tags=("nature",)))
    await store.put(doc("v", "Glacier documentary", tags=("ice",)))
    assert await found(store, "volcano") == []
    assert await found(store, "nature") == []
    assert await found(store, "glacier") == ["v"]
    assert [s.video_id for s in await store.suggest("volc")] == []


async def test_in_one_batch_the_later_version_of_a_video_wins(store: SearchStore) -> None:
    await store.put_many([doc("v", "Volcano documentary"), doc("v", "Glacier documentary")])
    assert await found(store, "documentary") == ["v"]
    assert await found(store, "volcano") == []


async def test_a_batch_larger_than_one_request_is_written_whole(store: SearchStore) -> None:
    rebuild = await store.begin_rebuild()
    await rebuild.put_many([doc(f"v{i:04d}", f"Batch clip {i}") for i in range(1201)])
    await store.swap()
    page = await store.search(SearchQuery(q="batch clip"))
    assert page.total == 1201
    await store.put_many([doc(f"w{i:04d}", f"Second batch {i}") for i in range(1201)])
    assert (await store.search(SearchQuery(q="second batch"))).total == 1201


async def test_a_deleted_video_is_gone_from_search_and_suggestions(store: SearchStore) -> None:
    await store.put_many([doc("keep", "Marathon training"), doc("gone", "Marathon recovery")])
    await store.delete("gone")
    await store.delete("never-there")  # a no-op
    assert await found(store, "marathon") == ["keep"]
    assert [s.video_id for s in await store.suggest("marat")] == ["keep"]
    page = await store.search(SearchQuery(q="marathon"))
    assert page.total == 1


async def test_a_rebuild_is_swapped_in_while_search_keeps_answering(store: SearchStore) -> None:
    old = [doc(f"old{i}", f"Archive clip {i}") for i in range(5)]
    new = [doc(f"new{i}", f"Archive clip {i}", tags=("rebuilt",)) for i in range(7)]
    await store.put_many(old)
    answers: list[set[str]] = []
    stop = asyncio.Event()
    three_after_swap = asyncio.Event()
    swapped_at: int | None = None

    async def keep_searching() -> None:
        while not stop.is_set():
            answers.append(set(await found(store, "archive clip", limit=100)))
            if swapped_at is not None and len(answers) >= swapped_at + 3:
                three_after_swap.set()
            await asyncio.sleep(0)

    searcher = asyncio.create_task(keep_searching())
    try:
        rebuild = await store.begin_rebuild()
        await rebuild.put_many(new[:3])
        await rebuild.put(new[3])
        await rebuild.put_many(new[4:])
        assert set(await found(store, "archive")) == {d.video_id for d in old}  # not swapped yet
        await store.swap()
        swapped_at = len(answers)
        await asyncio.wait_for(three_after_swap.wait(), timeout=10)
    finally:
        stop.set()
        await searcher  # re-raises any error a search met during the rebuild
    old_ids, new_ids = {d.video_id for d in old}, {d.video_id for d in new}
    assert answers[0] == old_ids
    assert answers[-1] == new_ids
    assert all(answer in (old_ids, new_ids) for answer in answers)  # never empty, never a mix
    assert set(await found(store, "", limit=100)) == new_ids
    assert await found(store, "rebuilt", limit=100) != []
    await store.put(doc("live", "Archive clip live"))  # the store writes into the swapped-in index
    assert "live" in await found(store, "archive", limit=100)


async def test_an_aborted_rebuild_leaves_the_live_index_alone(store: SearchStore) -> None:
    await store.put(doc("live", "Harbour timelapse"))
    rebuild = await store.begin_rebuild()
    await rebuild.put(doc("new", "Harbour sunrise"))
    await rebuild.abort()
    assert await found(store, "harbour") == ["live"]
    second = await store.begin_rebuild()  # a new rebuild after an aborted one starts empty
    await second.put(doc("second", "Harbour at night"))
    await store.swap()
    assert await found(store, "harbour") == ["second"]


async def test_check_passes_on_a_working_store(store: SearchStore) -> None:
    await store.check()


# -- an unreachable Elasticsearch ----------------------------------------------------------------


async def test_an_unreachable_elasticsearch_fails_fast_with_store_unavailable() -> None:
    store = open_search_store(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        calls: list[Callable[[], Awaitable[object]]] = [
            store.check,
            lambda: store.search(SearchQuery(q="anything")),
            lambda: store.put(doc("v")),
            lambda: store.suggest("any"),
        ]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError):
                await call()
            assert time.monotonic() - started < 5.0
    finally:
        await store.close()
