"""Facts decoded from the wire, one message or a batch at a time, are the facts of the typed events."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from schemas import codec
from schemas.errors import CorruptPayloadError, EventDecodeError, NotAnEventError
from schemas.playback_event import PlaybackEvent, PlaybackKind
from stream_apps.playback.facts import PlaybackFact, decode_facts, fact_of

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def events(count: int) -> list[PlaybackEvent]:
    rng = random.Random(5)
    return [
        PlaybackEvent(
            event_id=str(uuid.UUID(int=rng.getrandbits(128))),
            occurred_at=T0 + timedelta(milliseconds=rng.randrange(-(10**9), 10**9)),
            received_at=T0 + timedelta(milliseconds=rng.randrange(10**6)),
            session_id=f"s{rng.randrange(50)}",
            user_pseudonym=f"u{rng.randrange(20)}",
            video_id=f"v{rng.randrange(10)}",
            kind=rng.choice(list(PlaybackKind)),
            position_ms=rng.randrange(10**7),
            rendition=rng.choice([None, "360p", "1080p"]),
            duration_ms=rng.choice([None, 0, 1500]),
            client=rng.choice(["", "web/1.2"]),
            video_duration_ms=rng.choice([None, 9000, 600_000]),
            ip_pseudonym="ip",
        )
        for _ in range(count)
    ]


def test_a_batch_decodes_to_the_facts_of_the_events_written() -> None:
    written = events(500)
    datas = [codec.encode(event) for event in written]

    facts = decode_facts(datas)

    assert facts == [fact_of(event) for event in written]
    assert facts == [decode_facts([data])[0] for data in datas]  # the same, one message at a time
    assert all(isinstance(fact, PlaybackFact) and isinstance(fact.kind, PlaybackKind) for fact in facts)


def test_a_fact_holds_epoch_milliseconds() -> None:
    [event] = events(1)

    [fact] = decode_facts([codec.encode(event)])

    assert isinstance(fact, PlaybackFact)
    assert fact.occurred_ms == int(event.occurred_at.timestamp() * 1000)
    assert fact.received_ms == int(event.received_at.timestamp() * 1000)


def test_an_unreadable_message_is_reported_in_its_place() -> None:
    written = events(3)
    datas = [codec.encode(e) for e in written]

    facts = decode_facts([datas[0], b"junk", datas[1], datas[2][:-5], datas[2]])

    assert facts[0] == fact_of(written[0])
    assert isinstance(facts[1], NotAnEventError)
    assert facts[2] == fact_of(written[1])
    assert isinstance(facts[3], CorruptPayloadError)
    assert facts[4] == fact_of(written[2])
    assert all(str(f) for f in facts if isinstance(f, EventDecodeError))
