"""Players' JSON → ``PlaybackEvent`` records: validation, server time, pseudonyms. Pure.

Everything a player sends is checked before anything is produced, so a
batch is accepted whole or refused whole with a message naming the event
and the field. The viewer comes from the verified token, never from the
body, and the IP only as a keyed pseudonym.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from producers.pseudonyms import Pseudonymizer
from schemas.playback_event import PlaybackEvent, PlaybackKind

__all__ = ["MAX_BATCH", "InvalidPlaybackError", "parse_playback_batch"]

MAX_BATCH = 500
MAX_TEXT = 200
MAX_FUTURE = timedelta(hours=1)  # a client clock further ahead than this is wrong, not early


class InvalidPlaybackError(ValueError):
    """The body cannot be accepted; the message says which event and field, for a 400."""


def parse_playback_batch(
    body: Any,
    *,
    viewer_id: str,
    client_ip: str,
    pseudonyms: Pseudonymizer,
    received_at: datetime,
) -> list[PlaybackEvent]:
    """``body`` is one event object, a list of them, or ``{"events": [...]}``."""
    items = body.get("events") if isinstance(body, dict) and "events" in body else body
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise InvalidPlaybackError('expected an event object, a list of events, or {"events": [...]}')
    if len(items) > MAX_BATCH:
        raise InvalidPlaybackError(f"at most {MAX_BATCH} events per batch, got {len(items)}")
    user = pseudonyms.user(viewer_id)
    ip = pseudonyms.ip(client_ip)
    events = []
    for index, item in enumerate(items):
        try:
            events.append(_event(item, user=user, ip=ip, received_at=received_at))
        except InvalidPlaybackError as exc:
            raise InvalidPlaybackError(f"event #{index + 1}: {exc}") from None
    return events


def _event(item: Any, *, user: str, ip: str, received_at: datetime) -> PlaybackEvent:
    if not isinstance(item, dict):
        raise InvalidPlaybackError(f"expected a JSON object, got {type(item).__name__}")
    known = {
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
    unknown = sorted(set(item) - known)
    if unknown:
        raise InvalidPlaybackError(f"unknown field(s) {', '.join(unknown)}")
    occurred_at = _time(item.get("occurred_at"))
    if occurred_at - received_at > MAX_FUTURE:
        raise InvalidPlaybackError(f"occurred_at {occurred_at.isoformat()} is in the future")
    return PlaybackEvent(
        event_id=_uuid(item.get("event_id")),
        occurred_at=occurred_at,
        received_at=received_at,
        session_id=_text(item, "session_id"),
        user_pseudonym=user,
        video_id=_text(item, "video_id"),
        kind=_kind(item.get("kind")),
        position_ms=_millis(item, "position_ms", required=True) or 0,
        rendition=_text(item, "rendition", required=False) or None,
        duration_ms=_millis(item, "duration_ms"),
        video_duration_ms=_millis(item, "video_duration_ms"),
        client=_text(item, "client", required=False),
        ip_pseudonym=ip,
    )


def _uuid(value: Any) -> str:
    """Client-made, so a retried batch carries the same ids and is deduplicated downstream."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError):
        raise InvalidPlaybackError(f"event_id must be a UUID made by the player, got {value!r}") from None


def _text(item: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidPlaybackError(f"{name} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise InvalidPlaybackError(f"{name} is longer than {MAX_TEXT} characters")
    return value


def _kind(value: Any) -> PlaybackKind:
    try:
        return PlaybackKind(str(value).upper())
    except ValueError:
        known = ", ".join(k.value.lower() for k in PlaybackKind)
        raise InvalidPlaybackError(f"kind must be one of {known}; got {value!r}") from None


def _millis(item: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = item.get(name)
    if value is None:
        if required:
            raise InvalidPlaybackError(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidPlaybackError(f"{name} must be a non-negative integer of milliseconds, got {value!r}")
    return value


def _time(value: Any) -> datetime:
    if isinstance(value, bool) or value is None:
        raise InvalidPlaybackError("occurred_at is required (ISO-8601 or epoch milliseconds)")
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
    raise InvalidPlaybackError(
        f"occurred_at must be ISO-8601 with a zone or epoch milliseconds, got {value!r}"
    )
