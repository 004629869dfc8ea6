"""The search contract's own rules: duration buckets, query validation, cursors."""

from __future__ import annotations

from datetime import datetime

import pytest

from views.search.model import (
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    DurationBucket,
    SearchDocument,
    SearchQuery,
    decode_cursor,
    duration_bucket,
    encode_cursor,
)


@pytest.mark.parametrize(
    ("duration_ms", "bucket"),
    [
        (None, None),
        (0, DurationBucket.SHORT),
        (239_999, DurationBucket.SHORT),
        (240_000, DurationBucket.MEDIUM),
        (1_200_000, DurationBucket.MEDIUM),
        (1_200_001, DurationBucket.LONG),
    ],
)
def test_duration_buckets(duration_ms: int | None, bucket: DurationBucket | None) -> None:
    assert duration_bucket(duration_ms) is bucket


def test_only_a_ready_video_is_watchable() -> None:
    assert SearchDocument(video_id="v", status="ready").watchable
    assert not SearchDocument(video_id="v", status="processing").watchable


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
def test_a_limit_outside_the_page_bounds_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit must be an integer from 1 to 100"):
        SearchQuery(limit=limit)


def test_a_naive_uploaded_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        SearchQuery(uploaded_after=datetime(2026, 1, 1))


def test_a_cursor_round_trips_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor(40)) == 40
    assert SearchQuery(cursor=encode_cursor(40)).offset == 40
    assert SearchQuery().offset == 0
    for bad in ["", "!!", "bm90IGpzb24", encode_cursor(-1), encode_cursor(MAX_OFFSET + 1), "eyJvIjogIjEifQ"]:
        with pytest.raises(ValueError, match="cursor"):
            SearchQuery(cursor=bad)
