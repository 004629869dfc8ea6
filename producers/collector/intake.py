"""Players' JSON → ``PlaybackEvent`` records: validation, server time, pseudonyms. Pure.

Everything a player sends is checked before anything is produced, so a
batch is accepted whole or refused whole with a message naming the event
and the field. The viewer comes from the verified token, never from the
body, and the IP only as a keyed pseudonym.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from producers.collector.pseudonyms import Pseudonymizer
from producers.errors import InvalidPlaybackError, PastBackfillHorizonError
from schemas.codec import canonical_uuid
from schemas.playback_event import MAX_MEDIA_MS, MAX_STALL_MS, PlaybackKind

__all__ = ["DEFAULT_BACKFILL_HORIZON", "MAX_BATCH", "InvalidPlaybackError", "parse_playback_batch"]

MAX_BATCH = 500
MAX_TEXT = 200
MAX_FUTURE = timedelta(hours=1)  # a client clock further ahead than this is wrong, not early
# The analytics count an event received up to this long after its minute ended (backfill: a phone
# that played offline, a backlog after an outage); an older one would count nowhere, so it is refused.
# The same default as stream_apps.playback.aggregates.DEFAULT_BACKFILL_HORIZON (deploy sets both).
DEFAULT_BACKFILL_HORIZON = timedelta(days=7)
_MINUTE_MS = 60_000

_KNOWN = frozenset(
    {
        "event_id",
        "session_id",
        "video_id",
        "kind",
        "position_ms",
        "occurred_at",
        "rendition",
        "duration_ms",
        "video_duration_ms",
        "client",
    }
)
# Exactly these spellings: the schema's symbol or its lower case. No case folding: "\u017ftart".upper()
# is "START", and a kind is a protocol word, not text to normalize.
_KINDS = {kind.value: kind.value for kind in PlaybackKind} | {k.value.lower(): k.value for k in PlaybackKind}
_REBUFFER = PlaybackKind.REBUFFER.value
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def parse_playback_batch(
    body: Any,
    *,
    viewer_id: str,
    client_ip: str,
    pseudonyms: Pseudonymizer,
    received_at: datetime,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> list[dict[str, Any]]:
    """``body`` is one event object, a list of them, or ``{"events": [...]}``.

    An event whose minute ended ``backfill_horizon`` or more before ``received_at``
    refuses the batch with ``PastBackfillHorizonError`` (a 400 the collector counts).

    The result is ``playback-event`` records in wire form, ready for
    ``codec.encode_wire``: times in epoch milliseconds, the kind as its symbol.
    The collector handles tens of thousands of events a second, and building
    typed records with datetimes only to take them apart again cost more than
    the checks themselves.
    """
    items = body.get("events") if isinstance(body, dict) and "events" in body else body
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise InvalidPlaybackError('expected an event object, a list of events, or {"events": [...]}')
    if len(items) > MAX_BATCH:
        raise InvalidPlaybackError(f"at most {MAX_BATCH} events per batch, got {len(items)}")
    user = pseudonyms.user(viewer_id)
    ip = pseudonyms.ip(client_ip)
    received_ms = _ms(received_at)
    latest_ms = received_ms + MAX_FUTURE // _ONE_MS
    # the last minute start past the horizon: minute + 1 min + horizon <= received_at
    expired_ms = received_ms - _MINUTE_MS - backfill_horizon // _ONE_MS
    events: list[dict[str, Any]] = []
    append = events.append
    for index, item in enumerate(items):
        try:
            event = _event(item, user, ip, received_ms, latest_ms)
        except InvalidPlaybackError as exc:
            raise InvalidPlaybackError(f"event #{index + 1}: {exc}") from None
        occurred_ms = event["occurred_at"]
        if occurred_ms - occurred_ms % _MINUTE_MS <= expired_ms:
            raise PastBackfillHorizonError(
                f"event #{index + 1}: occurred_at {_readable(occurred_ms)} is past the backfill horizon: "
                f"the analytics count an event received up to {_span(backfill_horizon)} after its minute, "
                "so this one would count nowhere; drop it"
            )
        append(event)
    return events


def _event(item: Any, user: str, ip: str, received_ms: int, latest_ms: int) -> dict[str, Any]:
    """One event as a wire record, or a refusal naming its first bad field (in record order).

    This runs for every event the collector takes, so the usual values (exact
    ``str`` and ``int``, a UTC time) are checked inline; anything else goes to
    the helper for that field, which accepts or refuses it and words the refusal.
    """
    if not isinstance(item, dict):
        raise InvalidPlaybackError(f"expected a JSON object, got {type(item).__name__}")
    if not _KNOWN.issuperset(item):
        raise InvalidPlaybackError(f"unknown field(s) {', '.join(sorted(set(item) - _KNOWN))}")
    get = item.get
    occurred = get("occurred_at")
    if type(occurred) is int and occurred >= 0:
        occurred_ms = occurred
    else:
        try:
            moment = datetime.fromisoformat(occurred) if type(occurred) is str else None
        except ValueError:
            moment = None
        # UTC, what players send, needs no (slow) utcoffset() call; other zones and refusals go to _time
        occurred_ms = _ms(moment) if moment is not None and moment.tzinfo is UTC else _time(occurred)
    if occurred_ms < 0:  # an ISO time before 1970: refused as the same instant in epoch ms is
        raise InvalidPlaybackError(f"occurred_at must not be before 1970, got {occurred!r}")
    if occurred_ms > latest_ms:
        raise InvalidPlaybackError(
            f"occurred_at {_readable(occurred_ms)} is more than {MAX_FUTURE} ahead of the collector's clock"
        )
    event_id = get("event_id")
    try:
        event_id = canonical_uuid(event_id)  # client-made, so a retried batch is deduplicated downstream
    except ValueError:
        raise InvalidPlaybackError(f"event_id must be a UUID made by the player, got {event_id!r}") from None
    session_id = get("session_id")
    if type(session_id) is not str or not session_id.strip() or len(session_id) > MAX_TEXT:
        session_id = _text(session_id, "session_id")
    video_id = get("video_id")
    if type(video_id) is not str or not video_id.strip() or len(video_id) > MAX_TEXT:
        video_id = _text(video_id, "video_id")
    kind = get("kind")
    symbol = _KINDS.get(kind) if type(kind) is str else None
    if symbol is None:
        _unknown_kind(kind)
    position_ms = get("position_ms")
    if type(position_ms) is not int or not 0 <= position_ms <= MAX_MEDIA_MS:
        position_ms = _millis(position_ms, "position_ms", required=True) or 0
    rendition = get("rendition")
    if rendition is not None and (type(rendition) is not str or len(rendition) > MAX_TEXT):
        rendition = _text(rendition, "rendition", required=False)
    duration_ms = get("duration_ms")
    if duration_ms is not None and (
        type(duration_ms) is not int
        or not 0 <= duration_ms <= (MAX_STALL_MS if symbol == _REBUFFER else MAX_MEDIA_MS)
    ):
        duration_ms = _millis(duration_ms, "duration_ms", stall=symbol == _REBUFFER)
    client = get("client")
    if client is None:
        client = ""
    elif type(client) is not str or len(client) > MAX_TEXT:
        client = _text(client, "client", required=False)
    video_duration_ms = get("video_duration_ms")
    if video_duration_ms is not None and (
        type(video_duration_ms) is not int or not 0 <= video_duration_ms <= MAX_MEDIA_MS
    ):
        video_duration_ms = _millis(video_duration_ms, "video_duration_ms")
    return {
        "event_id": event_id,
        "occurred_at": occurred_ms,
        "received_at": received_ms,
        "session_id": session_id,
        "user_pseudonym": user,
        "video_id": video_id,
        "kind": symbol,
        "position_ms": position_ms,
        "rendition": rendition or None,
        "duration_ms": duration_ms,
        "client": client,
        "video_duration_ms": video_duration_ms,
        "ip_pseudonym": ip,
    }


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidPlaybackError(f"{name} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise InvalidPlaybackError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def _unknown_kind(value: Any) -> NoReturn:
    known = ", ".join(k.value.lower() for k in PlaybackKind)
    raise InvalidPlaybackError(f"kind must be one of {known} (or the same in capitals); got {value!r}")


def _millis(value: Any, name: str, *, required: bool = False, stall: bool = False) -> int | None:
    if value is None:
        if required:
            raise InvalidPlaybackError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPlaybackError(f"{name} must be a non-negative integer of milliseconds, got {value!r}")
    if stall and value > MAX_STALL_MS:
        raise InvalidPlaybackError(
            f"duration_ms of a rebuffer is a stall of at most {MAX_STALL_MS} ms (10 minutes), got {value}"
        )
    if value > MAX_MEDIA_MS:
        raise InvalidPlaybackError(f"{name} must be at most {MAX_MEDIA_MS} ms (24 hours), got {value}")
    return value


def _time(value: Any) -> int:
    """Epoch milliseconds of an ISO-8601 time with a zone, or of epoch milliseconds themselves."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidPlaybackError(f"occurred_at must not be before 1970, got {value!r}")
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)  # 3.11 reads "Z" too
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None and parsed.utcoffset() is not None:
                return _ms(parsed)
    if value is None or isinstance(value, bool):
        raise InvalidPlaybackError("occurred_at is required (ISO-8601 or epoch milliseconds)")
    raise InvalidPlaybackError(
        f"occurred_at must be ISO-8601 with a zone or epoch milliseconds, got {value!r}"
    )


def _ms(moment: datetime) -> int:
    """``(moment - _EPOCH) // _ONE_MS``, exactly, without the slow ``timedelta // timedelta``.

    A timedelta keeps 0 <= seconds < 86400 and 0 <= microseconds < 10**6, so
    flooring its microseconds to milliseconds floors the whole.
    """
    try:
        delta = moment - _EPOCH
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
        raise InvalidPlaybackError(f"occurred_at {moment.isoformat()} is past the year 9999") from None
    return (delta.days * 86_400 + delta.seconds) * 1_000 + delta.microseconds // 1_000


def _span(span: timedelta) -> str:
    """A horizon for a refusal: "7 days", "36 hours"."""
    hours = span // timedelta(hours=1)
    if span == timedelta(hours=hours):
        return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
    return str(span)


def _readable(ms: int) -> str:
    """An epoch-ms time for a refusal: ISO-8601 where datetime reaches, the number itself past it."""
    try:
        return (_EPOCH + ms * _ONE_MS).isoformat()
    except OverflowError:
        return f"{ms} (epoch ms)"
