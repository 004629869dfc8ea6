"""The upload service attacked from its own OpenAPI document, with real tokens and forged ones, plus
the reviewer's inputs: no 5xx, every refusal the JSON error body, no server version."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from producers.uploads.auth import UploaderAuth
from producers.uploads.openapi import openapi_document
from topics.config import KafkaConfig

from harness import Platform, free_port, http_json

pytestmark = pytest.mark.kafka

SECRET = "an-upload-secret-long-enough-for-hs256"
AUTH = UploaderAuth(hs256_secret=SECRET)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
schema = schemathesis.openapi.from_dict(openapi_document(local_store=True))


@pytest.fixture(scope="module")
def uploads(kafka: KafkaConfig, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("fuzz-uploads")
    platform = Platform(
        kafka=kafka, home=home, catalog_url=f"sqlite:///{home / 'c.db'}", api_port=free_port()
    )
    platform.extra_env["TUBESTREAM_UPLOAD_JWT_SECRET"] = SECRET
    platform.start("uploads", "upload-service")
    url = f"http://127.0.0.1:{platform.upload_port}"
    try:
        platform.wait_for(lambda: http_json(f"{url}/healthz")[0] == 200, what="the upload service")
        yield url
    finally:
        platform.stop()


def _json_error_body(ctx: Any, response: Any, case: Any) -> bool:
    if 400 <= response.status_code < 500:
        body = json.loads(response.content)
        assert body["error"]["status"] == response.status_code and body["error"]["message"], body
    return True


def test_the_document_names_every_route_and_no_server_version(uploads: str) -> None:
    with urllib.request.urlopen(f"{uploads}/openapi.json", timeout=10) as response:
        served = json.loads(response.read())
        assert response.headers["Server"] == "tubestream"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert served == openapi_document(local_store=True)


@schema.parametrize()
@FUZZ
def test_generated_requests_never_get_a_server_error(uploads: str, case: Any) -> None:
    case.call_and_validate(
        base_url=uploads,
        headers={"Authorization": f"Bearer {AUTH.issue('fuzzer')}"},
        checks=[not_a_server_error, _json_error_body],
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"size_bytes": ' + b"9" * 5000 + b', "content_type": "video/mp4", "title": "t"}',
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps({"size_bytes": 10, "content_type": "video/mp4", "title": "\ud800"}).encode(),
        json.dumps(
            {"size_bytes": 10, "content_type": "video/mp4", "title": "t", "description": "x" * 6000}
        ).encode(),
        json.dumps({"size_bytes": 10, "content_type": "video/mp4", "title": "abc\u202edef"}).encode(),
    ],
    ids=["5000-digit size", "deep nesting", "lone surrogate", "6000-char description", "bidi override"],
)
def test_hostile_create_bodies_are_a_4xx(uploads: str, body: bytes) -> None:
    request = urllib.request.Request(
        f"{uploads}/v1/uploads",
        data=body,
        headers={"Authorization": f"Bearer {AUTH.issue('u1')}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read())
        exc.close()
        assert 400 <= exc.code < 500 and answer["error"]["status"] == exc.code, answer
    else:
        raise AssertionError("accepted")


def test_a_part_url_with_a_non_ascii_signature_is_a_403_not_a_500(uploads: str) -> None:
    query = "key=k&upload_id=u&part=1&length=1&expires=9999999999&signature=%C3%A9%E2%82%AC"
    url = f"{uploads}/v1/blobs/parts?{query}"
    request = urllib.request.Request(url, data=b"x", method="PUT")
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError as exc:
        answer = json.loads(exc.read())
        exc.close()
        assert exc.code == 403 and answer["error"]["status"] == 403
    else:
        raise AssertionError("accepted")
