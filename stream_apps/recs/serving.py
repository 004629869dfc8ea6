"""What serving a list needs beyond the model: weights from view rows, blending, diversity, fallback (pure).

The query API calls these around ``RecsModel`` at request time:

- ``history_of``: a viewer's rows (one per partition) → video → weight, the fold-in's input;
- ``training_rows``: every row → ``(viewer, video, weight)`` for ``build_matrix``;
- ``content_tokens`` / ``content_similarity``: shared tags and title words, so a video nobody
  watched yet has related videos from its first minute;
- ``blend``: item-item scores (cosine of the model's item factors, below 0 counts as 0) mixed
  with content similarity;
- ``diversify``: at most ``per_uploader`` videos of one uploader, order kept;
- ``popular_and_fresh``: the list for a viewer we know nothing about, the most popular and the
  newest videos taken in turn.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from stream_apps.recs.interactions import WatchTotals, interaction_weight
from views.recs import InteractionRow

__all__ = [
    "CONTENT_WEIGHT",
    "PER_UPLOADER",
    "blend",
    "content_similarity",
    "content_tokens",
    "diversify",
    "history_of",
    "merge_rows",
    "popular_and_fresh",
    "training_rows",
]

PER_UPLOADER = 3  # at most this many videos of one uploader in a list
CONTENT_WEIGHT = 0.4  # share of content similarity in a related score when the model knows the video
TAG_WEIGHT = 2.0  # a shared tag counts as much as two shared title words
_WORD = re.compile(r"[^\W_]{3,}")  # words of 3 letters or digits or more: "a", "of", "hd" say little
_STOP_WORDS = frozenset({"the", "and", "for", "with", "from", "this", "that", "how", "you", "your"})


def merge_rows(rows: Iterable[InteractionRow]) -> dict[tuple[str, str], WatchTotals]:
    """(viewer, video) → totals over the pair's partitions: sums, the duration the longest reported."""
    sums: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        entry = sums.setdefault((row.viewer, row.video_id), [0, -1, 0, 0, 0])
        entry[0] += row.watched_ms
        entry[1] = max(entry[1], row.duration_ms or -1)
        entry[2] += row.sessions
        entry[3] += row.completed_sessions
        entry[4] += row.seeks
    return {
        pair: WatchTotals(
            watched_ms=watched,
            duration_ms=duration if duration > 0 else None,
            sessions=sessions,
            completed_sessions=completed,
            seeks=seeks,
        )
        for pair, (watched, duration, sessions, completed, seeks) in sums.items()
    }


def training_rows(rows: Iterable[InteractionRow]) -> list[tuple[str, str, float]]:
    """``(viewer, video, weight)`` of every pair with a positive weight, sorted."""
    weighted = ((viewer, video, interaction_weight(t)) for (viewer, video), t in merge_rows(rows).items())
    return sorted(row for row in weighted if row[2] > 0)


def history_of(rows: Iterable[InteractionRow]) -> dict[str, float]:
    """One viewer's rows → video → weight (positive weights only): ``RecsModel.recommend(history=...)``."""
    return {video: weight for _, video, weight in training_rows(rows)}


def content_tokens(title: str, tags: Iterable[str]) -> dict[str, float]:
    """What a video is about: its title's words (weight 1) and its tags (``#tag``, weight ``TAG_WEIGHT``)."""
    tokens = {w: 1.0 for w in _WORD.findall(title.casefold()) if w not in _STOP_WORDS}
    tokens.update({f"#{t.strip().casefold()}": TAG_WEIGHT for t in tags if t.strip()})
    return tokens


def content_similarity(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Weighted Jaccard of two token sets, 0 to 1 (1: the same words and tags)."""
    union = sum(max(a.get(t, 0.0), b.get(t, 0.0)) for t in a.keys() | b.keys())
    if union <= 0:
        return 0.0
    return sum(min(a[t], b[t]) for t in a.keys() & b.keys()) / union


def blend(
    item_item: Mapping[str, float], content: Mapping[str, float], *, content_weight: float = CONTENT_WEIGHT
) -> list[tuple[str, float]]:
    """Candidates by ``(1 - w) * max(0, cosine) + w * content``, best first, ties by id.

    Without item-item scores (a video the model has not seen) the content
    score alone ranks, so a new video's related list is never empty for want of watches.
    Candidates with a score of 0 are left out.
    """
    w = content_weight if item_item else 1.0
    scores = {
        video: (1 - w) * max(0.0, item_item.get(video, 0.0)) + w * content.get(video, 0.0)
        for video in item_item.keys() | content.keys()
    }
    return sorted(((v, s) for v, s in scores.items() if s > 0), key=lambda vs: (-vs[1], vs[0]))


def diversify(
    ranked: Iterable[str], uploader_of: Mapping[str, str], *, n: int, per_uploader: int = PER_UPLOADER
) -> list[str]:
    """The first ``n`` of ``ranked`` with at most ``per_uploader`` per uploader (unknown: no cap)."""
    taken: list[str] = []
    counts: defaultdict[str, int] = defaultdict(int)
    for video in ranked:
        if len(taken) >= n:
            break
        uploader = uploader_of.get(video, "")
        if uploader and counts[uploader] >= per_uploader:
            continue
        counts[uploader] += 1
        taken.append(video)
    return taken


def popular_and_fresh(popular: Sequence[str], newest: Sequence[str]) -> list[str]:
    """The most popular and the newest videos in turn (popular first), each once."""
    merged: list[str] = []
    seen: set[str] = set()
    for index in range(max(len(popular), len(newest))):
        for source in (popular, newest):
            if index < len(source) and source[index] not in seen:
                seen.add(source[index])
                merged.append(source[index])
    return merged
