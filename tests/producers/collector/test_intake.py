from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from producers.collector.intake import MAX_BATCH, InvalidPlaybackError, parse_playback_batch
from producers.collector.pseudonyms import Pseudonymizer
from producers.errors import PastBackfillHorizonError
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
        ({"occurred_at": "1969-12-31T23:59:59.9995Z"}, "occurred_at must not be before 1970"),
        ({"occurred_at": "1970-01-01T01:00:00+02:00"}, "occurred_at must not be before 1970"),
        ({"occurred_at": True}, "occurred_at is required"),
        ({"duration_ms": True}, "duration_ms must be a non-negative integer"),
        ({"rendition": 720}, "rendition must be a non-empty string"),
        ({"occurred_at": "2026-11-24T12:00:00"}, "occurred_at must be ISO-8601 with a zone"),
        ({"occurred_at": (NOW + timedelta(hours=2)).isoformat()}, "ahead of the collector's clock"),
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


def _records(body: Any) -> list[dict[str, Any]]:
    """The wire-form records exactly as the collector hands them to the encoder.

    With a backfill horizon back to 1970, so that times as old as the epoch test the parsing.
    """
    return parse_playback_batch(
        body,
        viewer_id="user-7",
        client_ip="203.0.113.9",
        pseudonyms=PSEUDONYMS,
        received_at=NOW,
        backfill_horizon=timedelta(days=366 * 60),
    )


def test_the_wire_record_has_every_field_in_schema_order_with_its_defaults() -> None:
    [record] = _records(_event(position_ms=0))
    assert list(record) == [
        "event_id",
        "occurred_at",
        "received_at",
        "session_id",
        "user_pseudonym",
        "video_id",
        "kind",
        "position_ms",
        "rendition",
        "duration_ms",
        "client",
        "video_duration_ms",
        "ip_pseudonym",
    ]
    assert record["occurred_at"] == 1795521599500 and record["received_at"] == 1795521600000
    assert record["kind"] == "HEARTBEAT" and record["position_ms"] == 0
    assert (record["rendition"], record["duration_ms"], record["client"], record["video_duration_ms"]) == (
        None,
        None,
        "",
        None,
    )
    [record] = _records(_event(rendition="", client="", duration_ms=0, video_duration_ms=None))
    assert (record["rendition"], record["client"], record["duration_ms"]) == (None, "", 0)
    [record] = _records(_event(rendition="720p", client=" web ", session_id=" s ", kind="quality_change"))
    assert (record["rendition"], record["client"], record["session_id"]) == ("720p", " web ", " s ")
    assert record["kind"] == "QUALITY_CHANGE"


@pytest.mark.parametrize(
    ("occurred_at", "ms"),
    [
        (0, 0),
        (1795521599500, 1795521599500),
        ("2026-11-24T11:59:59.500999Z", 1795521599500),  # sub-millisecond: floored
        ("2026-11-24T11:59:59.500999+00:00", 1795521599500),
        ("2026-11-24T12:59:59.500999+01:00", 1795521599500),
        ("2026-11-24T06:29:59.999999-05:30", 1795521599999),
        ("2026-11-24T12:00:29.500999+00:00:30", 1795521599500),
        ("1970-01-01T00:00:00.000999Z", 0),
        ("2026-11-24T13:00:00+01:00", 1795521600000),
    ],
)
def test_occurred_at_becomes_floor_epoch_milliseconds(occurred_at: Any, ms: int) -> None:
    [record] = _records(_event(occurred_at=occurred_at))
    assert record["occurred_at"] == ms


def test_up_to_an_hour_ahead_is_accepted_and_a_millisecond_more_is_not() -> None:
    latest = 1795521600000 + 3_600_000
    assert _records(_event(occurred_at=latest))[0]["occurred_at"] == latest
    future = (
        r"^event #1: occurred_at 2026-11-24T13:00:00.001000\+00:00 is more than 1:00:00 ahead of the "
        r"collector's clock$"
    )
    with pytest.raises(InvalidPlaybackError, match=future):
        _records(_event(occurred_at=latest + 1))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"occurred_at": None}, "occurred_at is required (ISO-8601 or epoch milliseconds)"),
        ({"occurred_at": False}, "occurred_at is required (ISO-8601 or epoch milliseconds)"),
        (
            {"occurred_at": 1.5e12},
            "occurred_at must be ISO-8601 with a zone or epoch milliseconds, got 1500000000000.0",
        ),
        ({"occurred_at": "2026-11-24"}, "occurred_at must be ISO-8601 with a zone or epoch milliseconds"),
        ({"event_id": None}, "event_id must be a UUID made by the player, got None"),
        ({"session_id": "  "}, "session_id must be a non-empty string"),
        ({"video_id": None}, "video_id must be a non-empty string"),
        ({"video_id": "v" * 201}, "video_id is longer than 200 characters"),
        ({"rendition": "r" * 201}, "rendition is longer than 200 characters"),
        ({"client": 7}, "client must be a non-empty string"),
        ({"client": "c" * 201}, "client is longer than 200 characters"),
        (
            {"kind": 3},
            "kind must be one of start, heartbeat, pause, seek, end, rebuffer, quality_change "
            "(or the same in capitals); got 3",
        ),
        ({"position_ms": None}, "position_ms is required"),
        ({"position_ms": True}, "position_ms must be a non-negative integer of milliseconds, got True"),
        ({"position_ms": 1.0}, "position_ms must be a non-negative integer of milliseconds, got 1.0"),
        ({"duration_ms": -1}, "duration_ms must be a non-negative integer of milliseconds, got -1"),
        ({"video_duration_ms": False}, "video_duration_ms must be a non-negative integer"),
        ({"video_duration_ms": "8000"}, "video_duration_ms must be a non-negative integer"),
        # several bad fields: the first in the record's order is the one named
        ({"occurred_at": "x", "event_id": "x"}, "occurred_at must be ISO-8601"),
        ({"event_id": "x", "session_id": ""}, "event_id must be a UUID"),
        ({"kind": "x", "position_ms": -1, "session_id": 1}, "session_id must be"),
        ({"rendition": 1, "duration_ms": -1, "position_ms": -1}, "position_ms must be"),
        ({"client": 1, "duration_ms": -1}, "duration_ms must be"),
        ({"client": 1, "video_duration_ms": -1}, "client must be"),
    ],
)
def test_each_refusal_names_the_event_and_its_first_bad_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidPlaybackError) as caught:
        _records([_event(), _event(), _event(**overrides)])
    assert str(caught.value).startswith(f"event #3: {message}")


def test_an_event_that_is_not_an_object_is_named() -> None:
    with pytest.raises(InvalidPlaybackError, match=r"^event #2: expected a JSON object, got list$"):
        _records([_event(), []])


@pytest.mark.parametrize("spelling", ["start", "START"])
def test_a_kind_is_its_lower_case_name_or_its_schema_symbol(spelling: str) -> None:
    [record] = _records(_event(kind=spelling))
    assert record["kind"] == "START"


@pytest.mark.parametrize(
    "spelling",
    [
        "\u017ftart",  # LATIN SMALL LETTER LONG S: "\u017ftart".upper() == "START"
        "\u017fTART",
        "Start",
        "sTART",
        " start",
        "start\u200b",
        "\uff53tart",  # FULLWIDTH s
        "quality-change",
    ],
)
def test_any_other_spelling_of_a_kind_is_refused(spelling: str) -> None:
    with pytest.raises(InvalidPlaybackError, match=r"^event #1: kind must be one of start, "):
        _records(_event(kind=spelling))


@pytest.mark.parametrize(
    ("overrides", "bound"),
    [
        ({"duration_ms": 2**63 - 1, "kind": "rebuffer"}, "a stall of at most 600000 ms"),
        ({"duration_ms": 600_001, "kind": "rebuffer"}, "a stall of at most 600000 ms"),
        ({"duration_ms": 86_400_001, "kind": "seek"}, "duration_ms must be at most 86400000 ms (24 hours)"),
        ({"duration_ms": 2**63 - 1}, "duration_ms must be at most 86400000 ms (24 hours)"),
        ({"position_ms": 86_400_001}, "position_ms must be at most 86400000 ms (24 hours)"),
        ({"video_duration_ms": 86_400_001}, "video_duration_ms must be at most 86400000 ms (24 hours)"),
    ],
)
def test_values_past_the_bounds_are_refused_naming_the_bound(overrides: dict[str, Any], bound: str) -> None:
    with pytest.raises(InvalidPlaybackError) as caught:
        _records([_event(), _event(**overrides)])
    assert str(caught.value).startswith("event #2: ") and bound in str(caught.value)


def test_values_at_the_bounds_are_accepted() -> None:
    day = 86_400_000
    records = _records(
        [
            _event(kind="rebuffer", duration_ms=600_000),
            _event(kind="seek", position_ms=day, duration_ms=day),
            _event(kind="start", position_ms=0, video_duration_ms=day, duration_ms=day),
        ]
    )
    assert [r["duration_ms"] for r in records] == [600_000, day, day]


def test_an_event_past_the_backfill_horizon_refuses_the_batch_naming_the_horizon() -> None:
    """The analytics count an event received up to the horizon after its minute ended; later, nowhere."""

    def parse(occurred: datetime, horizon: timedelta) -> int:
        body = [
            _event(),
            _event(event_id="1b6f3c2e-8d0a-4a8e-9a57-3b1f0f3d9a11", occurred_at=occurred.isoformat()),
        ]
        records = parse_playback_batch(
            body,
            viewer_id="user-7",
            client_ip="203.0.113.9",
            pseudonyms=PSEUDONYMS,
            received_at=NOW,
            backfill_horizon=horizon,
        )
        return len(records)

    week = timedelta(days=7)
    # NOW is a minute's start: the minute that began 7 days before NOW is the oldest still counted
    assert parse(NOW - week, week) == 2
    assert parse(NOW - timedelta(days=6), week) == 2
    with pytest.raises(PastBackfillHorizonError, match=r"event #2: .*past the backfill horizon.*7 days"):
        parse(NOW - week - timedelta(milliseconds=1), week)
    with pytest.raises(InvalidPlaybackError, match="past the backfill horizon"):  # a 400, like the rest
        parse(NOW - timedelta(hours=2), timedelta(hours=1))
    assert parse(NOW - timedelta(hours=2), timedelta(hours=3)) == 2
