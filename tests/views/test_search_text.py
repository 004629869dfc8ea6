"""The text rules both search stores share: folding, words, typos, distances, highlights, the blend."""

from __future__ import annotations

import itertools
import random

import pytest

from views.search.text import (
    bigrams,
    blend,
    bounded_distance,
    bounded_prefix_distance,
    fold,
    gram_threshold,
    mark_words,
    marked_text,
    max_typos,
    popularity_boost,
    title_key,
    words,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Crème Brûlée", "creme brulee"),
        ("JALAPEÑO", "jalapeno"),
        ("Ærø", "ærø"),  # letters of their own, not accented letters: kept
        ("Straße", "strasse"),  # casefold, not lower
        ("ﬁlm", "film"),  # compatibility ligature decomposed
        ("e\u0301te\u0301", "ete"),  # already decomposed accents
        ("Ångström", "angstrom"),
    ],
)
def test_fold_drops_accents_and_case(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_words_are_letters_and_digits_of_the_folded_text() -> None:
    assert words("Hello, Wörld! snake_case 4K-video l'été") == [
        "hello", "world", "snake", "case", "4k", "video", "l", "ete",
    ]  # fmt: skip
    assert words("  ...  ") == []


def test_a_title_key_ignores_case_accents_and_punctuation() -> None:
    assert (
        title_key("Crème  brûlée — at HOME!") == title_key("creme brulee at home") == "creme brulee at home"
    )


@pytest.mark.parametrize(
    ("word", "typos"),
    [("", 0), ("cat", 0), ("cats", 0), ("pizza", 1), ("sandwich", 1), ("chocolate", 2), ("documentary", 2)],
)
def test_the_typo_rule_is_meilisearchs(word: str, typos: int) -> None:
    assert max_typos(word) == typos


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("python", "python", 0),
        ("python", "pyhton", 1),  # transposition
        ("python", "pythn", 1),  # deletion
        ("python", "pythons", 1),  # insertion
        ("python", "pithon", 1),  # substitution
        ("chocolate", "cjokolate", 2),
        ("ca", "abc", 3),  # optimal string alignment: no edit of a transposed pair
        ("", "abc", 3),
    ],
)
def test_edit_distance_counts_a_transposition_as_one(a: str, b: str, distance: int) -> None:
    assert bounded_distance(a, b, 3) == distance
    assert bounded_distance(b, a, 3) == distance


def test_a_bounded_distance_stops_at_the_bound() -> None:
    assert bounded_distance("python", "banana", 1) == 2
    assert bounded_distance("a" * 50, "b" * 50, 2) == 3
    assert bounded_distance("short", "much longer word", 2) == 3


def test_the_bounded_distance_agrees_with_the_full_table() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 7)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 7)))
        full = _osa(a, b)
        for bound in (0, 1, 2):
            assert bounded_distance(a, b, bound) == min(full, bound + 1), (a, b, bound)


def test_a_prefix_distance_measures_against_the_start_of_a_word() -> None:
    assert bounded_prefix_distance("pyth", "python", 0) == 0
    assert bounded_prefix_distance("pyhto", "python", 1) == 1
    assert bounded_prefix_distance("guiatr", "guitars", 1) == 1
    assert bounded_prefix_distance("pyhto", "python", 0) == 1
    assert bounded_prefix_distance("banana", "python", 2) == 3
    assert bounded_prefix_distance("pythonic", "python", 2) == 2  # two letters past its end


def test_the_prefix_distance_is_the_least_over_every_prefix() -> None:
    rng = random.Random(11)
    for _ in range(1000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(1, 6)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 8)))
        best = min(_osa(a, b[:n]) for n in range(len(b) + 1))
        for bound in (0, 1, 2):
            assert bounded_prefix_distance(a, b, bound) == min(best, bound + 1), (a, b, bound)


def test_a_word_within_the_typos_shares_enough_bigrams() -> None:
    """The candidate filter never drops a word the typo rule would accept."""
    alphabet = "abcd"
    rng = random.Random(3)
    for _ in range(3000):
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(5, 11)))
        typos = max_typos(word)
        other = _edit(word, typos, rng)
        if bounded_distance(word, other, typos) <= typos:
            assert len(bigrams(word) & bigrams(other)) >= gram_threshold(word, typos)
        start = other[: rng.randint(0, len(other))] + "".join(rng.choice(alphabet) for _ in range(3))
        if bounded_prefix_distance(word, start, typos) <= typos:
            shared = bigrams(word, whole=False) & bigrams(start)
            assert len(shared) >= gram_threshold(word, typos, whole=False)


def test_bigrams_are_padded() -> None:
    assert bigrams("abc") == {"^a", "ab", "bc", "c$"}
    assert bigrams("abc", whole=False) == {"^a", "ab", "bc"}
    assert gram_threshold("python", 1) == 7 - 3


def test_marked_words_are_the_original_text_escaped() -> None:
    assert (
        mark_words("Crème <b>brûlée</b> & co", {"creme"})
        == "<mark>Crème</mark> &lt;b&gt;brûlée&lt;/b&gt; &amp; co"
    )
    assert mark_words("Nothing here", {"else"}) == "Nothing here"
    assert mark_words("chef-anna", {"anna"}) == "chef-<mark>anna</mark>"


def test_a_long_text_is_cut_to_a_snippet_around_its_first_match() -> None:
    text = " ".join(f"w{i}" for i in range(50))
    assert mark_words(text, {"w30"}, max_words=6) == "…w27 w28 w29 <mark>w30</mark> w31 w32…"
    assert mark_words(text, {"w1"}, max_words=4) == "w0 <mark>w1</mark> w2 w3…"
    assert mark_words(text, {"w49"}, max_words=3) == "…w47 w48 <mark>w49</mark>"
    assert mark_words(text, {"none"}, max_words=2) == "w0 w1…"


def test_store_sentinels_become_marks_after_escaping() -> None:
    assert marked_text("\x02<Café>\x03 & co") == "<mark>&lt;Café&gt;</mark> &amp; co"


def test_popularity_lifts_by_a_bounded_factor() -> None:
    assert popularity_boost(0) == 1.0
    assert popularity_boost(-5) == 1.0
    assert popularity_boost(9) == pytest.approx(1.1)
    assert popularity_boost(999_999) == pytest.approx(1.6)
    assert blend(2.0, 99) == pytest.approx(2.0 * 1.2)
    views = [0, 1, 10, 1000, 10**6, 10**9]
    assert [popularity_boost(v) for v in views] == sorted(popularity_boost(v) for v in views)


def _osa(a: str, b: str) -> int:
    """The optimal-string-alignment distance by the whole table, to check the bounded one against."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, j in itertools.product(range(len(a) + 1), range(len(b) + 1)):
        if min(i, j) == 0:
            d[i][j] = max(i, j)
            continue
        d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
        if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
            d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _edit(word: str, count: int, rng: random.Random) -> str:
    for _ in range(count):
        i = rng.randrange(len(word))
        match rng.choice(("sub", "del", "ins", "swap")):
            case "sub":
                word = word[:i] + rng.choice("abcd") + word[i + 1 :]
            case "del":
                word = word[:i] + word[i + 1 :]
            case "ins":
                word = word[:i] + rng.choice("abcd") + word[i:]
            case _ if i + 1 < len(word):
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word
