from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from producers.playback_intake import MAX_BATCH, InvalidPlaybackError, parse_playback_batch
from producers.pseudonyms import Pseudonymizer
from schemas import codec
from schemas.playback_event import PlaybackEvent, PlaybackKind
from schemas.registry import PLAYBACK_EVENT

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PSEUDONYMS = Pseudonymizer(b"x" * 32)


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": "0b6f3c2e-8d0a-4a8e-9a57-3b1f0f3d9a11",
        "session_id": "s1",
        "video_id": "v1",
        "kind": "heartbeat",
        "position_ms": 10_000,
        "occurred_at": "2026-11-24T11:59:59.500Z",
        **overrides,
    }


def _parse(body: Any) -> list[PlaybackEvent]:
    """The accepted events as the topic will hold them."""
    records = parse_playback_batch(
        body, viewer_id="user-7", client_ip="203.0.113.9", pseudonyms=PSEUDONYMS, received_at=NOW
    )
    return [codec.decode(codec.encode_wire(PLAYBACK_EVENT, r), PLAYBACK_EVENT) for r in records]


def test_one_event_a_list_or_an_events_object_are_accepted() -> None:
    assert len(_parse(_event())) == 1
    assert len(_parse([_event(), _event()])) == 2
    assert len(_parse({"events": [_event()]})) == 1


def test_the_record_carries_server_time_and_pseudonyms_never_the_ip_or_user() -> None:
    [event] = _parse(_event(occurred_at=1795521599500, video_duration_ms=8000, kind="QUALITY_CHANGE"))
    assert event.received_at == NOW
    assert event.occurred_at == datetime(2026, 11, 24, 11, 59, 59, 500000, tzinfo=UTC)
    assert event.kind is PlaybackKind.QUALITY_CHANGE
    assert event.video_duration_ms == 8000
    assert event.user_pseudonym == PSEUDONYMS.user("user-7") != "user-7"
    assert event.ip_pseudonym == PSEUDONYMS.ip("203.0.113.9")
    assert "203.0.113.9" not in repr(event) and "user-7" not in repr(event)


def test_times_in_any_zone_or_epoch_ms_and_any_uuid_spelling_become_the_same_record() -> None:
    ms = 1795521599500  # 2026-11-24T11:59:59.500Z
    spellings = [
        _event(occurred_at="2026-11-24T11:59:59.500Z"),
        _event(occurred_at="2026-11-24T12:59:59.500+01:00"),
        _event(occurred_at=ms),
        _event(event_id="{0B6F3C2E-8D0A-4A8E-9A57-3B1F0F3D9A11}", occurred_at=ms),
        _event(event_id="0b6f3c2e8d0a4a8e9a573b1f0f3d9a11", occurred_at=ms),
    ]
    events = _parse(spellings)
    assert len(set(events)) == 1
    assert events[0].event_id == "0b6f3c2e-8d0a-4a8e-9a57-3b1f0f3d9a11"
    assert events[0].occurred_at == datetime(2026, 11, 24, 11, 59, 59, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_id": "12"}, "event_id must be a UUID"),
        ({"session_id": ""}, "session_id must be a non-empty string"),
        ({"kind": "rewind"}, "kind must be one of"),
        ({"position_ms": -1}, "position_ms must be a non-negative integer"),
        ({"position_ms": 1.5}, "position_ms must be a non-negative integer"),
        ({"occurred_at": "yesterday"}, "occurred_at must be ISO-8601"),
        ({"occurred_at": -1}, "occurred_at must not be before 1970"),
        ({"occurred_at": True}, "occurred_at is required"),
        ({"duration_ms": True}, "duration_ms must be a non-negative integer"),
        ({"rendition": 720}, "rendition must be a non-empty string"),
        ({"occurred_at": "2026-11-24T12:00:00"}, "occurred_at must be ISO-8601 with a zone"),
        ({"occurred_at": (NOW + timedelta(hours=2)).isoformat()}, "in the future"),
        ({"ip": "1.2.3.4"}, "unknown field(s) ip"),
    ],
)
def test_each_invalid_field_is_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidPlaybackError, match="event #2") as caught:
        _parse([_event(), _event(**overrides)])
    assert message in str(caught.value)


def test_batches_are_bounded_and_not_empty() -> None:
    with pytest.raises(InvalidPlaybackError, match=f"at most {MAX_BATCH}"):
        _parse([_event()] * (MAX_BATCH + 1))
    with pytest.raises(InvalidPlaybackError, match="expected an event object"):
        _parse([])
    with pytest.raises(InvalidPlaybackError, match="expected an event object"):
        _parse("start")
