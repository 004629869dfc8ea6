"""Encoded answers: reused only while what they were made from is equal, whatever store made it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from query_api.encoded import EncodedVideos, Memo, dumps
from query_api.resources import video_resource
from views.catalog import VideoRecord, VideoStatus

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


def _video(**fields: object) -> VideoRecord:
    base = VideoRecord(video_id="v1", status=VideoStatus.UPLOADED, updated_at=T0, created_at=T0, title="a")
    return replace(base, **fields)  # type: ignore[arg-type]


def test_an_equal_record_from_another_read_reuses_the_bytes_a_changed_one_does_not() -> None:
    """A store that decodes each read (Cassandra) hands equal, not identical, records."""
    encoded = EncodedVideos(media_base_url="/media/")
    first = encoded(_video())
    assert encoded(_video()) is first
    changed = encoded(_video(title="b"))
    assert json.loads(changed)["title"] == "b"
    assert json.loads(changed) == video_resource(_video(title="b"), media_base_url="/media/")
    assert json.loads(encoded(_video(updated_at=T0.replace(minute=1))))["updated_at"].endswith(
        "12:01:00.000Z"
    )


def test_the_oldest_answer_goes_when_the_memo_is_full() -> None:
    memo: Memo[str] = Memo(entries=2)
    for key in ("a", "b", "c"):
        memo.put(key, key, key.encode())
    assert memo.get("a", "a") is None
    assert (memo.get("b", "b"), memo.get("c", "c")) == (b"b", b"c")
    assert memo.get("c", "another source") is None


def test_what_orjson_refuses_is_still_encoded() -> None:
    for value in ({"title": "\ud800 lone"}, {"n": 2**70}, {"ok": "caf\u00e9"}):
        assert json.loads(dumps(value)) == value
