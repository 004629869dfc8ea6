"""Who may post into a session, and how fast: the collector's memory of recent sessions and viewers. Pure.

A session belongs to the viewer whose token posted its first event; a batch
with an event for a session that another viewer owns is refused (403), so a
valid token cannot add watch time or a view to someone else's session. The
analytics apply the same rule to whatever reaches the topic (a session
forgotten here, another collector), so this is the early, visible refusal
and not the only line.

Two budgets bound what one token can make the analytics count (token
buckets, refilled continuously; docs/analytics.md, "Abuse bounds"):

- new sessions per viewer: at most ``new_sessions_per_minute``, the whole
  minute's worth usable at once;
- events per session: at most ``events_per_session_per_minute``.

A batch that would go past either is refused whole with 429 and
Retry-After, the bound named in the message. Both memories are LRUs of
bounded size: a session forgotten here can be posted into by another
viewer (the analytics still count only its first viewer), and a forgotten
viewer's budget starts full again.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from producers.errors import PlaybackRateLimitError, SessionOwnedError

__all__ = ["Admission", "GuardLimits", "SessionGuard"]

MINUTE_MS = 60_000

_video_of, _session_of = itemgetter("video_id"), itemgetter("session_id")


@dataclass(frozen=True, kw_only=True)
class GuardLimits:
    new_sessions_per_minute: int = 20
    events_per_session_per_minute: int = 120  # a heartbeat every 5 s is 12
    remembered_sessions: int = 200_000  # about 200 B each
    remembered_viewers: int = 100_000


class _Budget:
    """A token bucket: ``tokens`` at ``at_ms``, refilled at ``per_minute``, never above ``per_minute``."""

    __slots__ = ("at_ms", "tokens")

    def __init__(self, tokens: float, at_ms: int) -> None:
        self.tokens, self.at_ms = tokens, at_ms

    def available(self, now_ms: int, per_minute: int) -> float:
        elapsed = max(0, now_ms - self.at_ms)
        return min(float(per_minute), self.tokens + elapsed * per_minute / MINUTE_MS)

    def take(self, n: float, now_ms: int, per_minute: int) -> None:
        self.tokens = self.available(now_ms, per_minute) - n
        self.at_ms = max(self.at_ms, now_ms)

    def give_back(self, n: float, per_minute: int) -> None:
        self.tokens = min(float(per_minute), self.tokens + n)


class _Session(_Budget):
    __slots__ = ("owner",)

    def __init__(self, owner: str, tokens: float, at_ms: int) -> None:
        super().__init__(tokens, at_ms)
        self.owner = owner


SessionKey = tuple[str, str]  # (video_id, session_id), as the analytics key a session


@dataclass(frozen=True)
class Admission:
    """What a batch took from the budgets and which sessions it opened, to undo if Kafka does not
    take the batch."""

    viewer: _Budget | None
    opened: tuple[tuple[SessionKey, _Session], ...]
    sessions: tuple[tuple[_Session, int], ...]  # each session of the batch and its events


class SessionGuard:
    def __init__(self, limits: GuardLimits | None = None) -> None:
        self.limits = limits or GuardLimits()
        self._sessions: OrderedDict[SessionKey, _Session] = OrderedDict()
        self._viewers: OrderedDict[str, _Budget] = OrderedDict()

    def admit(self, viewer: str, events: Sequence[dict[str, Any]], now_ms: int) -> Admission:
        """Check a parsed batch of ``viewer`` (a pseudonym) and take it from the budgets, or raise.

        All-or-nothing: nothing is taken from any budget unless the whole batch passes.
        ``SessionOwnedError`` (403) for another viewer's session, ``PlaybackRateLimitError``
        (429, with ``retry_after_s``) past a bound.
        """
        limits = self.limits
        per_session = limits.events_per_session_per_minute
        counts = Counter(zip(map(_video_of, events), map(_session_of, events), strict=True))
        known: list[tuple[_Session, int]] = []
        new: list[tuple[SessionKey, int]] = []
        for key, n in counts.items():
            session = self._sessions.get(key)
            if session is None:
                new.append((key, n))
                available = float(per_session)
            elif session.owner != viewer:
                raise SessionOwnedError(
                    f"session {key[1]!r} of video {key[0]!r} belongs to another viewer; "
                    "start a session of your own"
                )
            else:
                known.append((session, n))
                available = session.available(now_ms, per_session)
            if n > available:
                raise PlaybackRateLimitError(
                    f"at most {per_session} events per session per minute: session {key[1]!r} "
                    f"has room for {math.floor(available)} now, the batch has {n}",
                    retry_after_s=_wait_s(n - available, per_session),
                )
        budget: _Budget | None = None
        if new:
            per_viewer = limits.new_sessions_per_minute
            budget = self._viewers.get(viewer)
            available = float(per_viewer) if budget is None else budget.available(now_ms, per_viewer)
            if len(new) > available:
                raise PlaybackRateLimitError(
                    f"at most {per_viewer} new sessions per viewer per minute: the batch opens "
                    f"{len(new)}, {math.floor(available)} can be opened now",
                    retry_after_s=_wait_s(len(new) - available, per_viewer),
                )
            if budget is None:
                budget = self._viewers[viewer] = _Budget(float(per_viewer), now_ms)
                _trim(self._viewers, limits.remembered_viewers)
            else:
                self._viewers.move_to_end(viewer)
            budget.take(len(new), now_ms, per_viewer)
        sessions = self._sessions
        for session, n in known:
            session.take(n, now_ms, per_session)
        if known:
            for key in counts:
                if key in sessions:  # the known ones: recently used, so kept longest
                    sessions.move_to_end(key)
        opened: list[tuple[SessionKey, _Session]] = []
        for key, n in new:
            session = sessions[key] = _Session(viewer, float(per_session - n), now_ms)
            opened.append((key, session))
            known.append((session, n))
        _trim(sessions, limits.remembered_sessions)
        return Admission(budget, tuple(opened), tuple(known))

    def give_back(self, admission: Admission) -> None:
        """Kafka did not take the batch: undo it, so that its retry pays once and opens its sessions."""
        if admission.viewer is not None:
            admission.viewer.give_back(len(admission.opened), self.limits.new_sessions_per_minute)
        for session, n in admission.sessions:
            session.give_back(n, self.limits.events_per_session_per_minute)
        for key, session in admission.opened:
            if self._sessions.get(key) is session:
                del self._sessions[key]

    def owner(self, video_id: str, session_id: str) -> str | None:
        """The viewer pseudonym that owns the session, while it is remembered."""
        session = self._sessions.get((video_id, session_id))
        return None if session is None else session.owner


def _trim(lru: OrderedDict[Any, Any], size: int) -> None:
    while len(lru) > size:
        lru.popitem(last=False)


def _wait_s(missing: float, per_minute: int) -> int:
    """Whole seconds until ``missing`` tokens are refilled; a minute at most (then the bucket is full)."""
    return max(1, min(60, math.ceil(missing * 60 / per_minute)))
