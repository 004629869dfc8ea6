"""The collector's session guard: owners, the new-session and per-session budgets, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from producers.collector.guard import GuardLimits, SessionGuard
from producers.errors import PlaybackRateLimitError, SessionOwnedError

T = 1_800_000_000_000  # epoch ms
SECOND = 1_000


def events(*sessions: tuple[str, int], video: str = "v1") -> list[dict[str, Any]]:
    """``n`` events for each ``(session, n)``, as the intake hands them over (the fields the guard reads)."""
    return [{"video_id": video, "session_id": s} for s, n in sessions for _ in range(n)]


def test_a_session_belongs_to_the_viewer_who_posted_first() -> None:
    guard = SessionGuard()
    guard.admit("alice", events(("s1", 2)), T)
    guard.admit("alice", events(("s1", 2)), T + SECOND)
    with pytest.raises(SessionOwnedError, match=r"session 's1' of video 'v1' belongs to another viewer"):
        guard.admit("mallory", events(("s1", 1)), T + SECOND)
    with pytest.raises(SessionOwnedError):  # refused whole, even beside a session of their own
        guard.admit("mallory", events(("m1", 1), ("s1", 1)), T + SECOND)
    assert guard.owner("v1", "s1") == "alice"
    assert guard.owner("v1", "m1") is None  # nothing of the refused batch was kept
    guard.admit("mallory", events(("s1", 1), video="v2"), T)  # a session is (video, session)


def test_new_sessions_per_viewer_are_bounded_per_minute() -> None:
    guard = SessionGuard(GuardLimits(new_sessions_per_minute=20))
    with pytest.raises(
        PlaybackRateLimitError, match="at most 20 new sessions per viewer per minute"
    ) as caught:
        guard.admit("bot", events(*((f"s{n}", 2) for n in range(240))), T)  # the incident's POST
    assert "opens 240, 20 can be opened now" in str(caught.value)
    assert caught.value.retry_after_s == 60
    guard.admit("bot", events(*((f"s{n}", 2) for n in range(20))), T)
    with pytest.raises(PlaybackRateLimitError, match="0 can be opened now") as caught:
        guard.admit("bot", events(("s20", 1)), T + 1)
    assert caught.value.retry_after_s == 3  # one session every 3 s
    guard.admit("bot", events(("s0", 2)), T + 1)  # known sessions go on
    guard.admit("bot", events(("s20", 1)), T + 3 * SECOND + 1)
    guard.admit("someone-else", events(("x", 1)), T + 1)  # a budget per viewer


def test_events_per_session_are_bounded_per_minute() -> None:
    guard = SessionGuard(GuardLimits(events_per_session_per_minute=120))
    with pytest.raises(PlaybackRateLimitError, match="at most 120 events per session per minute"):
        guard.admit("alice", events(("s1", 121)), T)
    guard.admit("alice", events(("s1", 100)), T)
    with pytest.raises(PlaybackRateLimitError, match="room for 20 now, the batch has 30") as caught:
        guard.admit("alice", events(("s1", 30)), T)
    assert caught.value.retry_after_s == 5  # 10 more events: 2 per second
    guard.admit("alice", events(("s1", 30)), T + 5 * SECOND)


def test_a_refused_batch_takes_nothing_and_a_batch_kafka_did_not_take_is_given_back() -> None:
    guard = SessionGuard(GuardLimits(new_sessions_per_minute=2, events_per_session_per_minute=10))
    guard.admit("alice", events(("a", 9)), T)
    with pytest.raises(PlaybackRateLimitError):
        guard.admit("alice", events(("b", 1), ("a", 2)), T)  # a has room for 1: b is not opened
    assert guard.owner("v1", "b") is None
    admission = guard.admit("alice", events(("b", 10), ("a", 1)), T)
    guard.give_back(admission)  # Kafka was down: the retry should not pay twice
    assert guard.owner("v1", "b") is None  # and b is opened by whichever batch gets through
    guard.admit("alice", events(("b", 10), ("a", 1)), T)
    with pytest.raises(PlaybackRateLimitError, match="new sessions"):
        guard.admit("alice", events(("c", 1)), T)


def test_the_memories_are_bounded() -> None:
    guard = SessionGuard(GuardLimits(remembered_sessions=3, remembered_viewers=2))
    for n in range(4):
        guard.admit(f"viewer-{n}", events((f"s{n}", 1)), T)
    assert guard.owner("v1", "s0") is None  # forgotten, least recently used first
    assert [guard.owner("v1", f"s{n}") for n in (1, 2, 3)] == ["viewer-1", "viewer-2", "viewer-3"]
    guard.admit("viewer-1", events(("s1", 1)), T)  # used again: kept longest
    guard.admit("viewer-9", events(("s9", 1)), T)
    assert guard.owner("v1", "s1") == "viewer-1" and guard.owner("v1", "s2") is None
