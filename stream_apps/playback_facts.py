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
from typing import Any, NamedTuple, cast

from schemas import codec
from schemas.errors import CorruptPayloadError, EventDecodeError
from schemas.playback_event import PlaybackEvent, PlaybackKind
from schemas.registry import PLAYBACK_EVENT
from schemas.wire_batch import decode_wire_columns, wire_fields
from stream_apps.playback_time import epoch_ms

__all__ = ["PlaybackFact", "decode_fact", "decode_facts", "fact_from_wire", "fact_of"]

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


def fact_from_wire(record: dict[str, Any]) -> PlaybackFact:
    """A wire-form record of the current schema (``codec.decode_wire``) as a fact."""
    return PlaybackFact(
        record["event_id"],
        record["occurred_at"],
        record["received_at"],
        record["session_id"],
        record["user_pseudonym"],
        record["video_id"],
        _KINDS[record["kind"]],
        record["position_ms"],
        record["rendition"],
        record["duration_ms"],
        record["client"],
        record["video_duration_ms"],
    )


def decode_fact(data: bytes) -> PlaybackFact:
    """Decode a ``playback-event`` message; raises ``EventDecodeError`` as ``codec.decode`` does."""
    record = codec.decode_wire(data, PLAYBACK_EVENT)
    try:
        return fact_from_wire(record)
    except KeyError as exc:
        raise CorruptPayloadError(f"playback-event record does not fit its type: {exc}") from exc


# A fact is the first twelve fields of the current schema, in its order, kind as a PlaybackKind.
_WIRE_NAMES = ("event_id", "occurred_at", "received_at", *PlaybackFact._fields[3:])
if wire_fields(PLAYBACK_EVENT)[: len(_WIRE_NAMES)] != _WIRE_NAMES:
    raise RuntimeError("playback-event's fields no longer open with PlaybackFact's: update both")
# Skips NamedTuple's generated __new__, a Python-level call per fact.
_new_fact: Callable[[tuple[object, ...]], PlaybackFact] = partial(tuple.__new__, PlaybackFact)


def decode_facts(datas: Sequence[bytes]) -> list[PlaybackFact | EventDecodeError]:
    """``decode_fact`` of each message in one call (``schemas.wire_batch``): a fact or why there is none."""
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
