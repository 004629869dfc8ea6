"""Opaque page cursors: a ``ListCursor`` as URL-safe base64 of a small JSON document.

Opaque so clients pass it back untouched and the store's keyset can change
without breaking them; strict on the way in so a mangled cursor is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from query_api.errors import BadRequestError
from views.catalog import ListCursor

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(cursor: ListCursor) -> str:
    doc = {"c": cursor.created_at.isoformat(timespec="microseconds"), "v": cursor.video_id}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR_LENGTH = 512  # ours are under 200 characters


def decode_cursor(text: str) -> ListCursor:
    try:
        if len(text) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
        created_at = datetime.fromisoformat(doc["c"])
        video_id = doc["v"]
        if created_at.tzinfo is None or not isinstance(video_id, str):
            raise ValueError("incomplete cursor")
        created_at.astimezone(UTC)  # OverflowError for year 1 at +23:59
        video_id.encode("utf-8")  # UnicodeEncodeError for a lone surrogate
    except (binascii.Error, ValueError, KeyError, TypeError, RecursionError, OverflowError) as exc:
        raise BadRequestError(
            "cursor is not one this API issued; pass next_cursor from the previous page unchanged"
        ) from exc
    return ListCursor(created_at=created_at, video_id=video_id)
