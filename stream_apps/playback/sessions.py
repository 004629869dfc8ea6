"""One playback session's events → what each event adds to the analytics (pure).

A session is one player playing one video: its key is ``(video_id,
session_id)``. Its events are folded in *client* time order, because only the
player's clock saw the gaps between them (the collector stamps a whole POSTed
batch with one server time). ``advance`` is the single step of that fold: it
takes the state after the previous event and returns the state after this one
plus a ``SessionStep``, what this event adds to the minute bucket it falls in.
The real-time aggregator and the batch recomputation both fold with it, so
they cannot disagree on what a view or a second of watch time is.

Definitions (docs/analytics.md has the reasoning):

- a session belongs to the viewer of its first event: the one the collector
  received first (then fold order). Events of other viewers for it are
  *foreign*: counted apart, folded nowhere (``session_owner``).
- watch time into an event = how far the position advanced since the previous
  event, capped by the client time elapsed, never negative. Pauses add nothing
  (the position stands still), a seek jump adds nothing (a SEEK reports where it
  jumped *from*), rebuffering adds nothing, and playing at 2x counts wall time.
  Nothing is counted into a START: nothing was playing before it.
- the session's watch time so far is never ahead of the collector's clock by
  more than ``ALLOWED_SKEW_MS``: at most the server time from its earliest
  received event to this one, plus the skew. What the player's clock says
  beyond that waits until the collector has seen the time pass (a batch of
  a minute of heartbeats POSTed at once credits the skew, not a minute).
- except for a *backfilled* event (received after its minute closed: a
  phone that played offline, a backlog after a collector outage): the
  collector saw none of that time pass, so it is credited by the player's
  clock, and for the on-time events of the session it stands as seen at its
  own (client) time.
- a view: the first event at which the session's watch time reaches 10 s, or,
  for a video known to be shorter than 20 s, half its duration. Once per session.
- a quality switch: an event reporting a rendition other than the last one
  reported; watch time goes to the rendition that was playing (the last one
  reported before the interval, else the one this event reports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.facts import PlaybackFact, fact_of
from stream_apps.playback.time import MINUTE_MS

__all__ = [
    "ALLOWED_SKEW_MS",
    "DEFAULT_ALLOWED_LATENESS_MS",
    "INITIAL_STATE",
    "NO_STEP",
    "SHORT_VIDEO_MS",
    "UNKNOWN_RENDITION",
    "VIEW_MIN_WATCH_MS",
    "OrderKey",
    "OwnerKey",
    "SessionFold",
    "SessionKey",
    "SessionState",
    "SessionStep",
    "advance",
    "fold_session",
    "is_backfill",
    "owner_key",
    "qualifies_as_view",
    "session_key",
    "session_order_key",
    "session_owner",
]

VIEW_MIN_WATCH_MS = 10_000  # PeerTube's rule: a view after 10 s watched...
SHORT_VIDEO_MS = 20_000  # ...or half the video when it is shorter than this
UNKNOWN_RENDITION = "unknown"  # watch time while no event has said which rendition plays
# Watch time may run this far ahead of the collector's clock: players batch events for a few seconds.
# Under 10 s, so one POST alone never makes a view by the 10 s rule.
ALLOWED_SKEW_MS = 5_000
# A minute closes this long after it ends; what the collector receives later is a backfill.
DEFAULT_ALLOWED_LATENESS_MS = 5 * 60_000

SessionKey = tuple[str, str]  # (video_id, session_id)
OrderKey = tuple[int, int, int, str]  # see session_order_key
OwnerKey = tuple[int, OrderKey]  # see owner_key

# Events at the same client millisecond: START first, END last, the rest by position.
_KIND_RANK = {kind: 1 for kind in PlaybackKind} | {PlaybackKind.START: 0, PlaybackKind.END: 2}
# On these kinds duration_ms is something else than the video's duration (see the .avsc).
_DURATION_IS_NOT_VIDEO = frozenset({PlaybackKind.REBUFFER, PlaybackKind.SEEK})
_START, _SEEK, _REBUFFER = PlaybackKind.START, PlaybackKind.SEEK, PlaybackKind.REBUFFER


# State and step are named tuples, not dataclasses: the fold makes one of each per
# event and compares them to stop refolding, and tuples are the cheapest to do both.
class SessionState(NamedTuple):
    """What the fold remembers after an event; equal states mean equal futures."""

    last_occurred_ms: int | None = None  # client time of the previous event
    last_position_ms: int | None = None  # playhead after the previous event
    rendition: str | None = None  # last rendition reported
    video_duration_ms: int | None = None  # last video duration reported
    watched_ms: int = 0  # watch time so far, as credited (never ahead of the collector's clock)
    viewed_at_ms: int | None = None  # client time of the event that made the view
    played_ms: int = 0  # watch time so far by the player's clock alone
    # earliest server time among the events so far; a backfill's is its client time (clamped)
    first_received_ms: int | None = None

    @property
    def viewed(self) -> bool:
        return self.viewed_at_ms is not None


INITIAL_STATE = SessionState()


class SessionStep(NamedTuple):
    """What one event adds to its minute bucket."""

    watch_ms: int = 0
    watch_rendition: str = UNKNOWN_RENDITION  # meaningful only when watch_ms > 0
    view: bool = False
    rebuffer_ms: int = 0
    rebuffers: int = 0
    quality_switches: int = 0


NO_STEP = SessionStep()

# Positional construction without NamedTuple's generated __new__ (a Python-level call), for
# ``advance``, which makes a state and a step per event: all fields, in declaration order.
_new_state: Callable[[tuple[object, ...]], SessionState] = partial(tuple.__new__, SessionState)
_new_step: Callable[[tuple[object, ...]], SessionStep] = partial(tuple.__new__, SessionStep)


@dataclass(frozen=True)
class SessionFold:
    """A whole session folded: the owner's final state and events (in fold order, with their steps).

    ``foreign`` are the events of other viewers, folded nowhere.
    """

    final: SessionState
    steps: tuple[tuple[PlaybackFact, SessionStep], ...]
    foreign: tuple[PlaybackFact, ...] = ()


def session_key(event: PlaybackFact) -> SessionKey:
    return (event.video_id, event.session_id)


def session_order_key(event: PlaybackFact) -> OrderKey:
    """Fold order: client time, then kind, then position, then event id (so ties are deterministic)."""
    return (event.occurred_ms, _KIND_RANK[event.kind], event.position_ms, event.event_id)


def owner_key(event: PlaybackFact) -> OwnerKey:
    """The session's first event is the smallest: received first (the collector's clock), then fold order.

    Server time first, because the player's clock is the player's to set: an event
    backdated into someone's session must not come "first".
    """
    return (event.received_ms, session_order_key(event))


def session_owner(events: Iterable[PlaybackFact]) -> str:
    """The viewer pseudonym of the session's first event (``owner_key``); the events must not be empty."""
    return min(events, key=owner_key).user_pseudonym


def qualifies_as_view(watched_ms: int, video_duration_ms: int | None) -> bool:
    """PeerTube's view rule: 10 s watched, or half of a video known to be shorter than 20 s."""
    if watched_ms >= VIEW_MIN_WATCH_MS:
        return True
    if video_duration_ms is None or not 0 < video_duration_ms < SHORT_VIDEO_MS:
        return False
    return watched_ms > 0 and 2 * watched_ms >= video_duration_ms


def is_backfill(event: PlaybackFact, lateness_ms: int = DEFAULT_ALLOWED_LATENESS_MS) -> bool:
    """Received at or after its minute closed (``lateness_ms`` after the minute's end)?

    The minute is the one of the event's client time clamped to its server time,
    as its bucket's (``aggregates``).
    """
    at_ms = event.occurred_ms if event.occurred_ms < event.received_ms else event.received_ms
    return event.received_ms >= at_ms - at_ms % MINUTE_MS + MINUTE_MS + lateness_ms


def advance(
    state: SessionState, event: PlaybackFact, lateness_ms: int = DEFAULT_ALLOWED_LATENESS_MS
) -> tuple[SessionState, SessionStep]:
    """One step of the fold: the state after ``event`` and what ``event`` adds."""
    occurred_ms = event.occurred_ms
    kind = event.kind
    reported = event.rendition or None
    played_ms = state.played_ms + _watched_since(state, event)
    received_ms = event.received_ms
    first_received_ms = state.first_received_ms
    at_ms = occurred_ms if occurred_ms < received_ms else received_ms
    if received_ms >= at_ms - at_ms % MINUTE_MS + MINUTE_MS + lateness_ms:  # a backfill (is_backfill)
        # The collector saw none of it live: the player's clock it is, and it counts as seen then.
        credit_to = played_ms
        if first_received_ms is None or at_ms < first_received_ms:
            first_received_ms = at_ms
    else:
        if first_received_ms is None or received_ms < first_received_ms:
            first_received_ms = received_ms
        ceiling = received_ms - first_received_ms + ALLOWED_SKEW_MS  # what the collector's clock allows
        credit_to = played_ms if played_ms < ceiling else ceiling
    watch_ms = credit_to - state.watched_ms if credit_to > state.watched_ms else 0
    if event.video_duration_ms is not None and event.video_duration_ms > 0:  # v2 says it on any kind
        video_duration_ms: int | None = event.video_duration_ms
    elif kind not in _DURATION_IS_NOT_VIDEO and event.duration_ms is not None and event.duration_ms > 0:
        video_duration_ms = event.duration_ms  # v1 players reported it in duration_ms
    else:
        video_duration_ms = state.video_duration_ms
    watched_ms = state.watched_ms + watch_ms
    view = state.viewed_at_ms is None and qualifies_as_view(watched_ms, video_duration_ms)
    switched = reported is not None and state.rendition is not None and reported != state.rendition
    rebuffer = kind is _REBUFFER
    if watch_ms or view or switched or rebuffer:
        step = _new_step(
            (
                watch_ms,
                (state.rendition or reported or UNKNOWN_RENDITION) if watch_ms else UNKNOWN_RENDITION,
                view,
                max(0, event.duration_ms or 0) if rebuffer else 0,
                1 if rebuffer else 0,
                1 if switched else 0,
            )
        )
    else:
        step = NO_STEP
    after = _new_state(
        (
            occurred_ms,
            event.position_ms,
            reported or state.rendition,
            video_duration_ms,
            watched_ms,
            occurred_ms if view else state.viewed_at_ms,
            played_ms,
            first_received_ms,
        )
    )
    return after, step


def fold_session(
    events: Iterable[PlaybackEvent | PlaybackFact], *, lateness_ms: int = DEFAULT_ALLOWED_LATENESS_MS
) -> SessionFold:
    """Fold one session's *distinct* events, given in any order (dedup is the caller's job).

    Events received ``lateness_ms`` after their minute closed are backfills (``advance``).
    """
    facts = sorted(map(fact_of, events), key=session_order_key)
    if not facts:
        return SessionFold(INITIAL_STATE, ())
    owner = session_owner(facts)
    state = INITIAL_STATE
    steps: list[tuple[PlaybackFact, SessionStep]] = []
    for event in facts:
        if event.user_pseudonym == owner:
            state, step = advance(state, event, lateness_ms)
            steps.append((event, step))
    foreign = tuple(event for event in facts if event.user_pseudonym != owner)
    return SessionFold(state, tuple(steps), foreign)


def _watched_since(state: SessionState, event: PlaybackFact) -> int:
    if state.last_occurred_ms is None or state.last_position_ms is None:
        return 0
    if event.kind is _START:
        return 0
    if event.kind is _SEEK:
        if event.duration_ms is None:
            return 0  # where the jump started is unknown: count nothing rather than the jump
        played_to = event.position_ms - event.duration_ms
    else:
        played_to = event.position_ms
    return max(0, min(played_to - state.last_position_ms, event.occurred_ms - state.last_occurred_ms))
