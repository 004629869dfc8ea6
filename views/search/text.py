"""Pure text logic both search stores share, so that they agree on what matches and how it ranks.

- Folding: NFKD, combining marks dropped, casefolded, so "Crème" and "creme"
  are one word in documents and queries alike. SQLite's unicode61 tokenizer
  (remove_diacritics 2) folds the same way for Latin scripts; Elasticsearch
  here has no asciifolding, so its store indexes text folded by ``fold``.
- Words: runs of letters and digits of the folded text (``_`` and punctuation
  separate), as unicode61 and the standard analyzer split them.
- Typos (Meilisearch's rule): a query word under 5 characters must match
  exactly, one from 5 characters may be one edit away, one from 9 two edits.
  An edit is an insertion, a deletion, a substitution or the transposition of
  two neighbours (optimal string alignment, as Lucene's fuzzy queries count).
- Candidates for a typo are found by padded bigrams ("^ab", "abc$" → "^a",
  "ab", "bc", "c$"): an edit changes at most three of a word's bigrams, so a
  word within k edits shares all but 3k of the query word's distinct bigrams.
- Relevance: the text score (BM25) times a popularity boost of
  ``1 + POPULARITY_WEIGHT * log10(1 + views_7d)``: 1 for an unwatched video,
  about 1.6 for a million views, so popularity orders equally relevant hits
  without lifting a poor match above a good one. ``log10(1 + x)`` is what
  Elasticsearch's ``log1p`` modifier computes, so both stores blend alike.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz.distance import OSA

__all__ = [
    "MARK_CLOSE",
    "MARK_OPEN",
    "MAX_QUERY_WORDS",
    "ONE_TYPO_FROM",
    "POPULARITY_WEIGHT",
    "SNIPPET_WORDS",
    "TWO_TYPOS_FROM",
    "bigrams",
    "blend",
    "bounded_distance",
    "bounded_prefix_distance",
    "fold",
    "gram_threshold",
    "mark_words",
    "marked_text",
    "max_typos",
    "popularity_boost",
    "title_key",
    "words",
]

ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9
MAX_QUERY_WORDS = 10  # words past this are ignored: a query is a few words, not a paragraph
POPULARITY_WEIGHT = 0.1
SNIPPET_WORDS = 24  # a description's highlight: this many words around its first match

_WORD = re.compile(r"[^\W_]+")
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"  # sentinels a store puts around matches before escaping


def fold(text: str) -> str:
    """Decompose, drop combining marks, casefold: "Ærø Crème" → "ærø creme"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The folded words of ``text``, in order."""
    return _WORD.findall(fold(text))


def title_key(text: str) -> str:
    """The words of a title joined by one space: equal keys are the same title to a user."""
    return " ".join(words(text))


def max_typos(word: str) -> int:
    """How many edits a query word of this length may be away from a match."""
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    if len(word) >= ONE_TYPO_FROM:
        return 1
    return 0


def bounded_distance(a: str, b: str, bound: int) -> int:
    """The edit distance of ``a`` and ``b`` (transpositions count one) if at most ``bound``, else bound + 1.

    Optimal string alignment, computed by rapidfuzz (C++), which also stops
    early past the bound: about a microsecond where Python took a hundred.
    """
    if a == b:
        return 0
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    return int(OSA.distance(a, b, score_cutoff=bound))


def bounded_prefix_distance(prefix: str, word: str, bound: int) -> int:
    """The least edit distance of ``prefix`` to any prefix of ``word``, if at most ``bound``, else bound + 1.

    "pyhton" is one edit from "python", the start of "pythonic".
    """
    if word.startswith(prefix):
        return 0
    if len(word) < len(prefix) - bound:
        return bound + 1
    shortest, longest = max(0, len(prefix) - bound), min(len(word), len(prefix) + bound)
    return min(
        (bounded_distance(prefix, word[:cut], bound) for cut in range(shortest, longest + 1)),
        default=bound + 1,
    )


def bigrams(word: str, *, whole: bool = True) -> set[str]:
    """Distinct bigrams of ``^word$`` (of ``^word`` for a prefix still being typed: ``whole=False``)."""
    padded = "^" + word + ("$" if whole else "")
    return {padded[i : i + 2] for i in range(len(padded) - 1)}


def gram_threshold(word: str, typos: int, *, whole: bool = True) -> int:
    """How many of ``word``'s distinct bigrams a word within ``typos`` edits must share (may be ≤ 0)."""
    return len(bigrams(word, whole=whole)) - 3 * typos


def popularity_boost(views_7d: int) -> float:
    return 1.0 + POPULARITY_WEIGHT * math.log10(1 + max(views_7d, 0))


def blend(text_score: float, views_7d: int) -> float:
    """The relevance score of a hit: its text score (higher is better) times its popularity boost."""
    return text_score * popularity_boost(views_7d)


def marked_text(text: str) -> str:
    """HTML-escape a store's highlighted text and turn its sentinels into <mark>…</mark>."""
    return _escape(text).replace(MARK_OPEN, "<mark>").replace(MARK_CLOSE, "</mark>")


def mark_words(text: str, matched: Iterable[str], *, max_words: int | None = None) -> str:
    """``text`` HTML-escaped with each word whose folded form is in ``matched`` in <mark>…</mark>.

    With ``max_words``, a snippet of that many words from a little before the
    first match, with "…" where text was cut (as SQLite's ``snippet()``).
    """
    text = unicodedata.normalize("NFC", text)  # a decomposed accent would split a word in two
    wanted = set(matched)
    spans = [m.span() for m in _WORD.finditer(text)]
    hits = [(lo, hi) for lo, hi in spans if any(w in wanted for w in words(text[lo:hi]))]
    start, end = 0, len(text)
    if max_words is not None and len(spans) > max_words:
        first = spans.index(hits[0]) if hits else 0
        lead = min(3, max_words - 1)  # words of context before the match, which stays in the window
        lo = max(0, min(first - lead, len(spans) - max_words))
        hi = lo + max_words
        start = 0 if lo == 0 else spans[lo][0]
        end = len(text) if hi >= len(spans) else spans[hi - 1][1]
    parts = ["…" if start else ""]
    position = start
    for lo, hi in hits:
        if start <= lo and hi <= end:
            parts += [_escape(text[position:lo]), "<mark>", _escape(text[lo:hi]), "</mark>"]
            position = hi
    parts += [_escape(text[position:end]), "…" if end < len(text) else ""]
    return "".join(parts)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)
