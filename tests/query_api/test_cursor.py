"""Page cursors: opaque to clients, exact for the store, and a 400 when tampered with."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from query_api.cursor import decode_cursor, encode_cursor
from query_api.errors import BadRequestError
from views.catalog import ListCursor


def test_a_cursor_comes_back_as_the_same_instant_and_id() -> None:
    cursor = ListCursor(created_at=datetime(2026, 11, 1, 12, 0, 0, 1, tzinfo=UTC), video_id="vidéo/1?&=")
    text = encode_cursor(cursor)
    assert text.replace("-", "").replace("_", "").isalnum()  # safe in a query string unescaped
    assert decode_cursor(text) == cursor


def test_an_offset_time_is_the_same_instant() -> None:
    t = datetime(2026, 11, 1, 13, tzinfo=timezone(timedelta(hours=1)))
    back = decode_cursor(encode_cursor(ListCursor(created_at=t, video_id="v")))
    assert back.created_at == t


@pytest.mark.parametrize(
    "doc",
    [b'{"c": "2026-11-01T12:00:00", "v": "x"}', b'{"c": "2026-11-01T12:00:00+00:00", "v": 5}', b"[]", b"7"],
)
def test_a_cursor_without_a_zoned_time_and_a_string_id_is_refused(doc: bytes) -> None:
    with pytest.raises(BadRequestError, match="cursor"):
        decode_cursor(base64.urlsafe_b64encode(doc).decode())
