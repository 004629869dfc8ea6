"""The trending score: decay, windows, unique viewers, and a deterministic top N."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.aggregates import BucketKey, PlaybackStats, aggregate_playback
from stream_apps.trending.score import (
    TRENDING_1H,
    TRENDING_24H,
    VideoTrend,
    decay_weight,
    top_trending,
    trending_score,
    trending_window,
    video_trends,
)

NOW = datetime(2024, 5, 1, 18, 0, tzinfo=UTC)


def ago(minutes: int) -> datetime:
    return NOW - timedelta(minutes=minutes)


def viewed(*viewers: str) -> PlaybackStats:
    return PlaybackStats(views=len(viewers), viewers=frozenset(viewers), events=len(viewers))


def test_decay_halves_every_half_life() -> None:
    half_life = timedelta(minutes=15)
    assert decay_weight(timedelta(0), half_life) == 1.0
    assert decay_weight(half_life, half_life) == 0.5
    assert decay_weight(4 * half_life, half_life) == 1 / 16
    with pytest.raises(ValueError, match="positive"):
        decay_weight(timedelta(0), timedelta(0))


def test_score_is_a_sum_that_does_not_depend_on_order() -> None:
    ages = [timedelta(seconds=random.Random(n).randrange(86_400)) for n in range(500)]
    counts = {age: 1 + n % 3 for n, age in enumerate(ages)}
    score = trending_score(counts, TRENDING_24H.half_life)
    random.Random(1).shuffle(ages)
    assert trending_score({age: counts[age] for age in ages}, TRENDING_24H.half_life) == score
    assert trending_score({}, TRENDING_1H.half_life) == 0.0


def test_viewers_of_one_age_count_as_that_many_weights() -> None:
    half_life = TRENDING_1H.half_life
    age = timedelta(minutes=7)
    assert trending_score({age: 3}, half_life) == 3 * decay_weight(age, half_life)
    assert trending_score({age: 2, timedelta(0): 1}, half_life) == 2 * decay_weight(age, half_life) + 1


def test_windows() -> None:
    assert trending_window("1h") == TRENDING_1H
    assert trending_window("24h") == TRENDING_24H
    assert TRENDING_1H.half_life * 4 == TRENDING_1H.span
    assert TRENDING_24H.half_life * 4 == TRENDING_24H.span
    with pytest.raises(ValueError, match="1h, 24h"):
        trending_window("7d")


def test_each_viewer_counts_once_at_their_latest_view() -> None:
    buckets = {
        BucketKey("v", ago(30)): viewed("a", "b"),
        BucketKey("v", ago(15)): viewed("a"),
        BucketKey("w", ago(15)): viewed("a"),
    }
    trends = video_trends(buckets, now=NOW, window=TRENDING_1H)
    assert trends == {
        "v": VideoTrend(video_id="v", score=0.5 + 0.25, unique_viewers=2),
        "w": VideoTrend(video_id="w", score=0.5, unique_viewers=1),
    }


def test_window_holds_minutes_starting_from_now_minus_span_up_to_now() -> None:
    buckets = {
        BucketKey("edge", ago(60)): viewed("a"),
        BucketKey("too-old", ago(61)): viewed("a"),
        BucketKey("current", NOW): viewed("a"),  # the minute now starts has not begun to count
        BucketKey("no-views", ago(1)): PlaybackStats(events=3, watch_ms=5_000),
    }
    assert video_trends(buckets, now=NOW, window=TRENDING_1H) == {
        "edge": VideoTrend(video_id="edge", score=1 / 16, unique_viewers=1)
    }


def test_ties_break_on_unique_viewers_then_video_id() -> None:
    buckets = {
        BucketKey("x", ago(30)): viewed("a", "b"),  # 0.25 + 0.25
        BucketKey("z", ago(15)): viewed("a"),  # 0.5
        BucketKey("y", ago(15)): viewed("c"),  # 0.5
        BucketKey("best", ago(1)): viewed("a"),
    }
    trends = list(video_trends(buckets, now=NOW, window=TRENDING_1H).values())
    expected = ["best", "x", "y", "z"]
    for seed in range(5):
        random.Random(seed).shuffle(trends)
        assert [t.video_id for t in top_trending(trends, limit=10)] == expected
    assert [t.video_id for t in top_trending(trends, limit=2)] == expected[:2]
    assert top_trending(trends, limit=0) == ()
    with pytest.raises(ValueError, match="negative"):
        top_trending(trends, limit=-1)


_ids = count()


def watch(video: str, user: str, started: datetime) -> list[PlaybackEvent]:
    """A session that becomes a view 12 s after it starts."""
    session = f"s{next(_ids)}"

    def event(kind: PlaybackKind, after_s: int) -> PlaybackEvent:
        at = started + timedelta(seconds=after_s)
        return PlaybackEvent(
            event_id=f"{session}-{kind.value}",
            occurred_at=at,
            received_at=at + timedelta(seconds=1),
            session_id=session,
            user_pseudonym=user,
            video_id=video,
            kind=kind,
            position_ms=after_s * 1_000,
        )

    return [event(PlaybackKind.START, 0), event(PlaybackKind.END, 12)]


def test_trending_order_from_playback_events() -> None:
    events: list[PlaybackEvent] = []
    for n in range(4):  # hot: a few viewers right now, one of them watching over and over
        events += watch("hot", f"h{n}", ago(3))
    events += [e for _ in range(5) for e in watch("hot", "h0", ago(2))]
    for n in range(10):  # fading: more viewers, 50 minutes ago
        events += watch("fading", f"f{n}", ago(50))
    for n in range(12):  # steady: even more, three hours ago
        events += watch("steady", f"s{n}", ago(180))
    for n in range(2):  # cold: yesterday
        events += watch("cold", f"c{n}", ago(25 * 60))
    buckets = aggregate_playback(events)

    hour = top_trending(video_trends(buckets, now=NOW, window=TRENDING_1H).values(), limit=10)
    assert [(t.video_id, t.unique_viewers) for t in hour] == [("hot", 4), ("fading", 10)]
    day = top_trending(video_trends(buckets, now=NOW, window=TRENDING_24H).values(), limit=10)
    assert [t.video_id for t in day] == ["fading", "steady", "hot"]
    assert day[0].score == pytest.approx(10 * 2 ** (-50 / 360))
