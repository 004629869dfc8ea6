"""What a dead letter carries besides the original key, value and headers.

The headers name the reason and the exact source position, so an operator
can find, fix and replay the message; the original bytes are kept untouched.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["dead_letter_headers", "reason_of"]

REASON = "dlq.reason"
ERROR = "dlq.error"
SOURCE_TOPIC = "dlq.source.topic"
SOURCE_PARTITION = "dlq.source.partition"
SOURCE_OFFSET = "dlq.source.offset"
FAILED_AT = "dlq.failed.at"
APP = "dlq.app"


def dead_letter_headers(
    *,
    original: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...],
    reason: str,
    error: str,
    topic: str,
    partition: int,
    offset: int,
    app: str,
    failed_at: datetime,
) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in original if not k.startswith("dlq.")]
    return [
        *kept,
        (REASON, _clip(reason, 4000)),
        (ERROR, error.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
        (FAILED_AT, failed_at.isoformat().encode()),
        (APP, app.encode()),
    ]


def reason_of(headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> str | None:
    for k, v in headers:
        if k == REASON:
            return v.decode(errors="replace")
    return None


def _clip(text: str, limit: int) -> bytes:
    """At most ``limit`` bytes of UTF-8, cut between characters so the header stays valid UTF-8."""
    return text.encode()[:limit].decode(errors="ignore").encode()
