"""The query API attacked as an outsider would: generated requests from its own OpenAPI document,
extreme times, huge numbers, deep nesting and lone surrogates. No input may give a 5xx, and every
refusal is the JSON error body.

The API runs as ``tubestream api`` (a real process and socket); schemathesis and urllib are its clients.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from query_api.openapi import openapi_document
from topics.config import KafkaConfig
from views.catalog import VideoRecord, VideoStatus
from views.stores import open_catalog_store

from harness import Platform, free_port, http_json

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("fuzz-api")
    catalog_url = f"sqlite:///{home / 'catalog.db'}"

    async def seed() -> None:
        store = open_catalog_store(catalog_url)
        for n in range(3):
            created = T0 + timedelta(minutes=n)
            await store.put(
                VideoRecord(
                    video_id=f"vid-{n}", status=VideoStatus.UPLOADED, updated_at=created, created_at=created
                )
            )
        await store.close()

    asyncio.run(seed())
    platform = Platform(
        kafka=KafkaConfig(bootstrap="127.0.0.1:9"), home=home, catalog_url=catalog_url, api_port=free_port()
    )
    platform.start("api", "api")
    try:
        platform.wait_for(lambda: http_json(f"{platform.api}/healthz")[0] == 200, what="the API")
        yield platform.api
    finally:
        platform.stop()


# The document the API serves at /openapi.json (a test in test_query_app checks they are the same).
schema = schemathesis.openapi.from_dict(openapi_document())


def _json_error_body(ctx: Any, response: Any, case: Any) -> bool:
    """Every 4xx says what is wrong in the one JSON shape."""
    if 400 <= response.status_code < 500:
        body = orjson.loads(response.content)
        assert body["error"]["status"] == response.status_code, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return True


@schema.parametrize()
@FUZZ
def test_generated_requests_never_get_a_server_error(api: str, case: Any) -> None:
    case.call_and_validate(base_url=api, checks=[not_a_server_error, _json_error_body])


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        exc.close()
        return exc.code, orjson.loads(body)


def _refused(status: int, body: Any) -> bool:
    return 400 <= status < 500 and body["error"]["status"] == status


# The reviewer's inputs, then generated ones of the same kinds.
@pytest.mark.parametrize(
    "query",
    [
        "to=9999-12-31T23:59:00Z",
        "to=0001-01-01T00:00:00Z",
        "from=0001-01-01T00:00:00%2B23:59&to=0001-01-01T00:00:00%2B23:59",
        "to=2026-11-01T12:00:00-23:59",
        "from=2026-11-01T12:00:00Z&to=2026-11-01T11:00:00Z",
        "from=1970-01-01T00:00:00Z&to=2999-12-31T00:00:00Z&step=1d",
        "step=999999d",
    ],
)
def test_extreme_stats_ranges_are_refused_or_answered_never_a_5xx(api: str, query: str) -> None:
    status, body = _get(f"{api}/v1/videos/vid-0/stats?{query}")
    assert status == 200 or _refused(status, body), (status, body)


@given(moment=st.datetimes(timezones=st.timezones()), hours=st.integers(min_value=-(10**6), max_value=10**6))
@FUZZ
def test_any_time_and_zone_in_a_stats_range_is_never_a_5xx(api: str, moment: datetime, hours: int) -> None:
    try:
        other = moment + timedelta(hours=hours)
    except OverflowError:
        other = moment
    query = urllib.parse.urlencode({"from": moment.isoformat(), "to": other.isoformat()})
    status, body = _get(f"{api}/v1/videos/vid-0/stats?{query}")
    assert status == 200 or _refused(status, body), (status, body)


def _cursor(doc: Any) -> str:
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(b"[" * 3000),
        _cursor(b'{"c": "0001-01-01T00:00:00+23:59", "v": "vid-1"}'),
        _cursor(b'{"c": "2026-11-01T12:00:00+00:00", "v": "\\ud800"}'),
        _cursor({"c": "2026-11-01T12:00:00+00:00", "v": 12}),
        "%FF%FE" * 10,
        "A" * 5000,
    ],
)
def test_hostile_cursors_are_a_400(api: str, cursor: str) -> None:
    status, body = _get(f"{api}/v1/videos?cursor={cursor}")
    assert status == 400 and body["error"]["status"] == 400, (status, body)


def test_a_10_kb_search_is_a_json_400(api: str) -> None:
    status, body = _get(f"{api}/v1/search?q={'x' * 10_000}")
    assert status == 400 and "longer than" in body["error"]["message"], body


def test_a_request_line_past_the_servers_limit_is_a_4xx_not_a_crash(api: str) -> None:
    """aiohttp's HTTP parser refuses lines over its limit itself, in plain text, before any handler runs."""
    try:
        urllib.request.urlopen(f"{api}/v1/videos?cursor={'A' * 100_000}", timeout=10).close()
    except urllib.error.HTTPError as exc:
        exc.close()
        assert 400 <= exc.code < 500
    else:
        raise AssertionError("a 100 kB request line was accepted")
    assert http_json(f"{api}/healthz")[0] == 200  # and the server is still there


@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids),
    )
)
@FUZZ
def test_any_json_cursor_is_a_400_or_a_page(api: str, doc: Any) -> None:
    status, body = _get(f"{api}/v1/videos?cursor={_cursor(doc)}")
    assert status in (200, 400), (status, body)


@pytest.mark.parametrize("path", ["/v1/videos/%ED%A0%80", "/v1/videos/%ED%A0%80/stats"])
def test_undecodable_path_bytes_are_an_id_like_any_other(api: str, path: str) -> None:
    status, body = _get(f"{api}{path}")  # aiohttp keeps invalid UTF-8 percent-encoded: no such video
    assert status in (200, 404), (status, body)
    assert status == 404 or body["totals"]["views"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/videos/" + "9" * 5000,
        "/v1/videos?limit=" + "9" * 5000,
        "/v1/trending?limit=" + "9" * 5000,
        "/v1/trending?window=%00",
        "/media/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_odd_paths_and_huge_numbers_are_refused_cleanly(api: str, path: str) -> None:
    status, body = _get(f"{api}{path}")
    assert _refused(status, body), (status, body)
