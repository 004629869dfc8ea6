"""Known-item relevance: queries made from a catalog's own titles, and how well a search finds them. Pure.

A known-item query is what someone types to find one video they know: its
exact title, a title cut off while typing, a title with a typo or two, a word
left out or two swapped, or no diacritics. A good engine ranks that video
first; MRR and recall@10 over many such queries measure how often it does.
"""

from __future__ import annotations

import json
import random
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "QUERY_KINDS",
    "CatalogItem",
    "KindScore",
    "KnownItemQuery",
    "catalog_from_json",
    "known_item_queries",
    "score_queries",
]

QUERY_KINDS = ("exact", "prefix", "one_typo", "two_typos", "dropped_word", "swapped_words", "no_diacritics")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, kw_only=True)
class CatalogItem:
    video_id: str
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    uploader: str = ""
    popularity: int = 0


@dataclass(frozen=True, kw_only=True)
class KnownItemQuery:
    kind: str
    text: str
    relevant: frozenset[str]  # the target and any video with the very same title


@dataclass(frozen=True, kw_only=True)
class KindScore:
    kind: str
    queries: int
    mrr: float  # mean of 1/rank of the first relevant result within the top 10, 0 when absent
    recall_at_10: float


def catalog_from_json(text: str) -> list[CatalogItem]:
    """JSON lines of ``{title, description?, tags?, uploader?, popularity?, video_id?}``, or a JSON array of
    them, or vega-datasets' ``movies.json`` (``Title``, ``Major Genre``, ``Director``, ``IMDB Votes``)."""
    stripped = text.lstrip()
    rows = (
        json.loads(stripped)
        if stripped.startswith("[")
        else [json.loads(line) for line in text.splitlines() if line.strip()]
    )
    items = []
    for number, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise ValueError(f"catalog item {number}: expected an object, got {type(row).__name__}")
        title = row.get("title", row.get("Title"))
        if not isinstance(title, str) or not title.strip():
            continue  # vega's movies.json has a few numeric or missing titles
        tags = row.get("tags") or [
            str(row[k]) for k in ("Major Genre", "Creative Type", "MPAA Rating") if row.get(k)
        ]
        items.append(
            CatalogItem(
                video_id=str(row.get("video_id") or f"item-{number:05d}"),
                title=title.strip(),
                description=str(row.get("description") or ""),
                tags=tuple(str(t) for t in tags),
                uploader=str(row.get("uploader") or row.get("Director") or ""),
                popularity=int(row.get("popularity") or row.get("IMDB Votes") or 0),
            )
        )
    if not items:
        raise ValueError("the catalog holds no item with a title")
    return items


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def known_item_queries(items: Sequence[CatalogItem], *, per_kind: int, seed: int = 7) -> list[KnownItemQuery]:
    """Up to ``per_kind`` queries of each kind, from items drawn at random (the same for a given seed)."""
    rng = random.Random(seed)
    by_title: dict[str, set[str]] = {}
    for item in items:
        by_title.setdefault(fold(item.title), set()).add(item.video_id)
    makers: dict[str, Callable[[str], str | None]] = {
        "exact": lambda t: t,
        "prefix": lambda t: _prefix(t, rng),
        "one_typo": lambda t: _typos(t, rng, edits=1, min_length=5),
        "two_typos": lambda t: _typos(t, rng, edits=2, min_length=9),
        "dropped_word": lambda t: _drop_word(t, rng),
        "swapped_words": lambda t: _swap_words(t, rng),
        "no_diacritics": lambda t: fold(t) if fold(t) != t.casefold() else None,
    }
    queries = []
    for kind, make in makers.items():
        order = list(items)
        rng.shuffle(order)
        made = 0
        for item in order:
            if made == per_kind:
                break
            text = make(item.title)
            if text is None or not text.strip():
                continue
            queries.append(
                KnownItemQuery(kind=kind, text=text, relevant=frozenset(by_title[fold(item.title)]))
            )
            made += 1
    return queries


def score_queries(
    queries: Iterable[KnownItemQuery], search: Callable[[str], Sequence[str]]
) -> list[KindScore]:
    """MRR and recall@10 per kind; ``search`` returns video ids, best first."""
    ranks: dict[str, list[int | None]] = {}
    for query in queries:
        found = list(search(query.text))[:10]
        rank = next((i for i, video_id in enumerate(found, 1) if video_id in query.relevant), None)
        ranks.setdefault(query.kind, []).append(rank)
    return [
        KindScore(
            kind=kind,
            queries=len(got),
            mrr=sum(1 / r for r in got if r) / len(got),
            recall_at_10=sum(1 for r in got if r) / len(got),
        )
        for kind, got in ranks.items()
    ]


def _words(title: str) -> list[str]:
    return title.split()


def _prefix(title: str, rng: random.Random) -> str | None:
    """The title typed up to the middle of its last word (at least 2 of its letters)."""
    words = _words(title)
    last = words[-1]
    if len(last) < 3:
        return None
    cut = rng.randint(2, max(2, len(last) - 1))
    return " ".join([*words[:-1], last[:cut]])


def _typos(title: str, rng: random.Random, *, edits: int, min_length: int) -> str | None:
    """``edits`` typing mistakes in one word that, typed so, is long enough to allow them (Meilisearch's
    rule counts the letters of the query word)."""
    words = _words(title)
    long_words = [i for i, w in enumerate(words) if len(w) >= min_length and w.isalpha()]
    if not long_words:
        return None
    at = rng.choice(long_words)
    word = words[at]
    for _ in range(edits):
        word = _edit(word, rng)
    if fold(word) == fold(words[at]) or len(word) < min_length:
        return None  # a deletion can bring the word under the length that allows its typos
    words[at] = word
    return " ".join(words)


def _edit(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word))  # never the first letter: people rarely get it wrong
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    if kind == "substitute":
        return word[:i] + rng.choice(_LETTERS.replace(word[i].lower(), "")) + word[i + 1 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "insert":
        return word[:i] + rng.choice(_LETTERS) + word[i:]
    if i == len(word) - 1:
        i -= 1
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _drop_word(title: str, rng: random.Random) -> str | None:
    words = _words(title)
    if len(words) < 3:
        return None
    del words[rng.randrange(len(words))]
    return " ".join(words)


def _swap_words(title: str, rng: random.Random) -> str | None:
    words = _words(title)
    if len(words) < 2:
        return None
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)
