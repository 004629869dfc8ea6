"""A playback event as the analytics fold it: a flat tuple with times in epoch milliseconds.

The fold compares and subtracts client and server times for every event;
doing that on aware datetimes cost more than all the rest of the aggregation.
``PlaybackFact`` carries the integers instead, and the analytics worker
decodes facts straight from the wire (``decode_facts``, a whole consumed
batch in one call) without building a datetime, a UUID or a
``PlaybackEvent`` on the way. Typed events (the batch
path, tests) convert with ``fact_of``; both give the same fact for the same
event, so the real-time and batch paths fold identical inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import NamedTuple, cast

from schemas.errors import EventDecodeError
from schemas.playback_event import PlaybackEvent, PlaybackKind
from schemas.registry import PLAYBACK_EVENT
from schemas.wire_batch import decode_wire_columns, wire_fields
from stream_apps.playback.time import epoch_ms

__all__ = ["PlaybackFact", "decode_facts", "fact_of"]

_KINDS = {kind.value: kind for kind in PlaybackKind}


class PlaybackFact(NamedTuple):
    event_id: str
    occurred_ms: int  # client time
    received_ms: int  # server time, stamped by the collector
    session_id: str
    user_pseudonym: str
    video_id: str
    kind: PlaybackKind
    position_ms: int
    rendition: str | None
    duration_ms: int | None
    client: str
    video_duration_ms: int | None


def fact_of(event: PlaybackEvent | PlaybackFact) -> PlaybackFact:
    """The fact of a typed event (a fact is returned as it is); naive datetimes are ``ValueError``."""
    if isinstance(event, PlaybackFact):
        return event
    return PlaybackFact(
        event.event_id,
        epoch_ms(event.occurred_at),
        epoch_ms(event.received_at),
        event.session_id,
        event.user_pseudonym,
        event.video_id,
        event.kind,
        event.position_ms,
        event.rendition,
        event.duration_ms,
        event.client,
        event.video_duration_ms,
    )


# A fact is the first twelve fields of the current schema, in its order, kind as a PlaybackKind.
_WIRE_NAMES = ("event_id", "occurred_at", "received_at", *PlaybackFact._fields[3:])
if wire_fields(PLAYBACK_EVENT)[: len(_WIRE_NAMES)] != _WIRE_NAMES:
    raise RuntimeError("playback-event's fields no longer open with PlaybackFact's: update both")
# Skips NamedTuple's generated __new__, a Python-level call per fact.
_new_fact: Callable[[tuple[object, ...]], PlaybackFact] = partial(tuple.__new__, PlaybackFact)


def decode_facts(datas: Sequence[bytes]) -> list[PlaybackFact | EventDecodeError]:
    """Each ``playback-event`` message's fact, or why it has none (the ``EventDecodeError`` of ``codec``).

    One call for the whole batch (``schemas.wire_batch``).
    """
    decoded = decode_wire_columns(datas, PLAYBACK_EVENT)
    columns = [decoded.columns[name] for name in _WIRE_NAMES]
    try:
        columns[_WIRE_NAMES.index("kind")] = [_KINDS[symbol] for symbol in decoded.columns["kind"]]
    except KeyError as exc:  # a symbol the schema has and PlaybackKind lacks
        raise RuntimeError(f"playback-event kind {exc} is not a PlaybackKind: update both") from None
    facts: list[PlaybackFact] = list(map(_new_fact, zip(*columns, strict=True)))
    if not decoded.errors:
        return cast("list[PlaybackFact | EventDecodeError]", facts)  # the list is ours: no copy
    by_index: dict[int, PlaybackFact | EventDecodeError] = dict(zip(decoded.readable, facts, strict=True))
    by_index.update(decoded.errors)
    return [by_index[index] for index in range(len(datas))]
