"""Dead-letter headers: an operator can tell why a message was parked and where it came from."""

from __future__ import annotations

from datetime import UTC, datetime

from topics.dead_letter import dead_letter_headers, reason_of

FAILED_AT = datetime(2026, 11, 24, 12, 0, 1, tzinfo=UTC)


def headers(
    reason: str = "not an event", original: list[tuple[str, bytes]] | None = None
) -> dict[str, bytes]:
    return dict(
        dead_letter_headers(
            original=original or [],
            reason=reason,
            error="rejected",
            topic="t1-upload-complete",
            partition=3,
            offset=1234,
            app="catalog",
            failed_at=FAILED_AT,
        )
    )


def test_the_headers_name_the_reason_and_the_exact_source_position() -> None:
    h = headers()
    assert h["dlq.reason"] == b"not an event"
    assert h["dlq.error"] == b"rejected"
    assert (h["dlq.source.topic"], h["dlq.source.partition"], h["dlq.source.offset"]) == (
        b"t1-upload-complete",
        b"3",
        b"1234",
    )
    assert datetime.fromisoformat(h["dlq.failed.at"].decode()) == FAILED_AT
    assert h["dlq.app"] == b"catalog"


def test_the_original_headers_are_kept_in_order_before_the_dead_letter_ones() -> None:
    original = [("traceparent", b"00-abc-01"), ("x-source", b"cli"), ("x-source", b"again")]
    listed = dead_letter_headers(
        original=original,
        reason="r",
        error="rejected",
        topic="t",
        partition=0,
        offset=0,
        app="catalog",
        failed_at=FAILED_AT,
    )
    assert listed[:3] == original
    assert all(k.startswith("dlq.") for k, _ in listed[3:])


def test_a_message_dead_lettered_again_carries_only_the_new_reason() -> None:
    """Replayed from the DLQ and rejected again: the stale dlq.* headers must not contradict the new ones."""
    first = dead_letter_headers(
        original=[("keep", b"me")],
        reason="old reason",
        error="internal",
        topic="t",
        partition=0,
        offset=1,
        app="catalog",
        failed_at=FAILED_AT,
    )
    again = dead_letter_headers(
        original=first,
        reason="new reason",
        error="rejected",
        topic="t",
        partition=2,
        offset=9,
        app="catalog",
        failed_at=FAILED_AT,
    )
    keys = [k for k, _ in again]
    assert len(keys) == len(set(keys)), keys
    assert reason_of(again) == "new reason"
    assert dict(again)["dlq.source.offset"] == b"9"
    assert ("keep", b"me") in again


def test_reason_of_reads_the_reason_back() -> None:
    assert reason_of(list(headers("schema fingerprint 00ff is not on record").items())) == (
        "schema fingerprint 00ff is not on record"
    )
    assert reason_of([("other", b"x")]) is None
    assert reason_of(()) is None


def test_a_long_reason_is_clipped_to_valid_utf8() -> None:
    """A traceback full of non-ASCII text is cut on a character boundary, not in the middle of one."""
    reason = "é" * 3000  # 6000 bytes; byte 4000 falls inside no character, 3999 does
    clipped = headers(reason="x" + reason)["dlq.reason"]
    assert len(clipped) <= 4000
    text = clipped.decode("utf-8")  # strict: no half character at the end
    assert text.startswith("xéé") and set(text[1:]) == {"é"}
    assert len(headers(reason="short")["dlq.reason"]) == 5
