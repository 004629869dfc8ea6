"""Opaque page cursors: a ``ListCursor`` as URL-safe base64 of a small JSON document.

Opaque so clients pass it back untouched and the store's keyset can change
without breaking them; strict on the way in so a mangled cursor is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from query_api.errors import BadRequestError
from views.catalog import ListCursor

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(cursor: ListCursor) -> str:
    doc = {"c": cursor.created_at.isoformat(timespec="microseconds"), "v": cursor.video_id}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> ListCursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
        created_at = datetime.fromisoformat(doc["c"])
        video_id = doc["v"]
        if created_at.tzinfo is None or not isinstance(video_id, str):
            raise ValueError("incomplete cursor")
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise BadRequestError(
            "cursor is not one this API issued; pass next_cursor from the previous page unchanged"
        ) from exc
    return ListCursor(created_at=created_at, video_id=video_id)
