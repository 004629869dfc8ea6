"""The query API over a real SQLite catalog: what clients rely on, errors included."""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from blobs.local import LocalBlobStore
from deploy.local_minio import LocalMinio
from query_api.app import create_app
from views.catalog import CatalogStore, RenditionRecord, VideoRecord, VideoStatus
from views.catalog_rows import to_document
from views.stores import open_catalog_store

from harness import fresh_bucket

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Client = TestClient[Any, Any]


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[CatalogStore]:
    store = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield store
    await store.close()


@pytest.fixture
async def client(catalog: CatalogStore) -> AsyncIterator[Client]:
    app = create_app(catalog=catalog, media_base_url="https://cdn.example/media/")
    async with TestClient(TestServer(app)) as c:
        yield c


def _video(video_id: str, minutes: int = 0, **fields: Any) -> VideoRecord:
    defaults: dict[str, Any] = {
        "video_id": video_id,
        "status": VideoStatus.UPLOADED,
        "updated_at": T0 + timedelta(minutes=minutes),
        "created_at": T0 + timedelta(minutes=minutes),
        "title": f"Video {video_id}",
    }
    return VideoRecord(**(defaults | fields))


async def _error(response: Any, status: int) -> str:
    assert response.status == status
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["error"]["status"] == status
    message: str = body["error"]["message"]
    return message


async def test_a_video_is_served_with_media_urls(client: Client, catalog: CatalogStore) -> None:
    rendition = RenditionRecord(
        name="720p",
        codec="H264",
        width=1280,
        height=720,
        bitrate_kbps=3000,
        segment_duration_s=4.0,
        encoder="libx264",
        manifest_key="videos/v1/j1/720p.m3u8",
        job_id="j1",
    )
    await catalog.put(
        _video(
            "v1",
            status=VideoStatus.READY,
            job_id="j1",
            renditions=(rendition,),
            hls_master_key="videos/v1/j1/master.m3u8",
            dash_manifest_key="videos/v1/j1/manifest.mpd",
            progress_pct=100.0,
            progress_job_id="j1",
        )
    )

    response = await client.get("/v1/videos/v1")

    assert response.status == 200
    body = await response.json()
    assert body["id"] == "v1" and body["status"] == "ready"
    assert body["created_at"] == "2026-11-01T12:00:00.000Z"
    assert body["hls_url"] == "https://cdn.example/media/videos/v1/j1/master.m3u8"
    assert body["dash_url"] == "https://cdn.example/media/videos/v1/j1/manifest.mpd"
    assert body["renditions"][0]["manifest_url"] == "https://cdn.example/media/videos/v1/j1/720p.m3u8"
    assert body["progress_pct"] is None  # only shown while processing


async def test_progress_and_failure_are_shown_in_their_states(client: Client, catalog: CatalogStore) -> None:
    await catalog.put(
        _video("p", status=VideoStatus.PROCESSING, job_id="j2", progress_pct=40.0, progress_job_id="j2")
    )
    await catalog.put(
        _video("f", status=VideoStatus.FAILED, job_id="j3", failure_reason="moov atom not found")
    )
    assert (await (await client.get("/v1/videos/p")).json())["progress_pct"] == 40.0
    assert (await (await client.get("/v1/videos/f")).json())["failure_reason"] == "moov atom not found"


async def test_an_updated_video_is_never_served_as_it_was(
    client: Client, catalog: CatalogStore, tmp_path: Path
) -> None:
    """Answers are kept encoded per version of the row: every change shows at once, on every route,
    whoever writes it (the store here, another process's connection below)."""
    await catalog.put(_video("v1", title="first"))
    for _ in range(2):  # the second answer comes from what the first one kept
        assert (await (await client.get("/v1/videos/v1")).json())["title"] == "first"
        assert [v["title"] for v in (await (await client.get("/v1/videos")).json())["videos"]] == ["first"]

    await catalog.put(_video("v1", title="second", status=VideoStatus.PROCESSING, progress_pct=40.0))
    video = await (await client.get("/v1/videos/v1")).json()
    assert (video["title"], video["status"]) == ("second", "processing")
    assert [v["title"] for v in (await (await client.get("/v1/videos")).json())["videos"]] == ["second"]

    # the same bytes-for-bytes document but for one field, written by another process
    doc = to_document(_video("v1", title="third", status=VideoStatus.PROCESSING, progress_pct=40.0))
    _overwrite_doc(tmp_path / "catalog.db", "v1", doc)
    assert (await (await client.get("/v1/videos/v1")).json())["title"] == "third"


async def test_an_unknown_video_is_a_json_404(client: Client) -> None:
    message = await _error(await client.get("/v1/videos/nope"), 404)
    assert "nope" in message


async def test_listing_walks_every_video_newest_first_through_cursors(
    client: Client, catalog: CatalogStore
) -> None:
    for i in range(25):
        await catalog.put(_video(f"v{i:02d}", minutes=i))

    seen: list[str] = []
    url = "/v1/videos?limit=10"
    while True:
        body = await (await client.get(url)).json()
        seen += [v["id"] for v in body["videos"]]
        if body["next_cursor"] is None:
            break
        url = f"/v1/videos?limit=10&cursor={body['next_cursor']}"

    assert seen == [f"v{i:02d}" for i in reversed(range(25))]


async def test_the_default_page_is_twenty(client: Client, catalog: CatalogStore) -> None:
    for i in range(21):
        await catalog.put(_video(f"v{i:02d}", minutes=i))
    body = await (await client.get("/v1/videos")).json()
    assert len(body["videos"]) == 20 and body["next_cursor"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "²", "1" * 5000, " 5"])
async def test_a_bad_limit_is_a_400_that_says_the_range(client: Client, limit: str) -> None:
    message = await _error(await client.get(f"/v1/videos?limit={limit}"), 400)
    assert "limit must be an integer from 1 to 100" in message


@pytest.mark.parametrize("cursor", ["garbage!", "e30", "eyJjIjogIm5vdCBhIHRpbWUiLCAidiI6ICJ4In0"])
async def test_a_mangled_cursor_is_a_400(client: Client, cursor: str) -> None:
    message = await _error(await client.get(f"/v1/videos?cursor={cursor}"), 400)
    assert "cursor" in message


async def test_unknown_routes_and_methods_answer_json(client: Client) -> None:
    assert "no route" in await _error(await client.get("/v2/nothing"), 404)
    response = await client.delete("/v1/videos/v1")
    message = await _error(response, 405)
    assert "GET" in message and "GET" in response.headers["Allow"]


async def test_healthz_reports_the_store(client: Client, catalog: CatalogStore) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"

    await catalog.close()
    message = await _error(await client.get("/healthz"), 503)
    assert "catalog store unavailable" in message


async def test_a_store_that_cannot_serve_is_a_503_to_retry_not_a_500(
    client: Client, catalog: CatalogStore
) -> None:
    await catalog.close()
    for path in ("/v1/videos/v1", "/v1/videos"):
        response = await client.get(path)
        assert "retry later" in await _error(response, 503)
        assert response.headers["Retry-After"].isdigit()


async def test_an_unexpected_failure_is_a_json_500_that_leaks_nothing(
    client: Client, catalog: CatalogStore, tmp_path: Path
) -> None:
    await catalog.put(_video("v1"))
    _overwrite_doc(tmp_path / "catalog.db", "v1", "not json")
    message = await _error(await client.get("/v1/videos/v1"), 500)
    assert message == "internal error; the server log has the details"


async def test_healthz_is_503_when_the_database_file_is_gone(client: Client, tmp_path: Path) -> None:
    assert (await client.get("/healthz")).status == 200
    _remove_database(tmp_path / "catalog.db")
    message = await _error(await client.get("/healthz"), 503)
    assert "catalog store unavailable" in message and "gone" in message


async def test_the_openapi_schemas_name_exactly_the_fields_answers_carry(
    client: Client, catalog: CatalogStore
) -> None:
    rendition = RenditionRecord(
        name="360p",
        codec="H264",
        width=640,
        height=360,
        bitrate_kbps=800,
        segment_duration_s=4.0,
        encoder="libx264",
        manifest_key="videos/v1/j1/360p.m3u8",
        job_id="j1",
    )
    await catalog.put(_video("v1", status=VideoStatus.READY, job_id="j1", renditions=(rendition,)))
    schemas = (await (await client.get("/openapi.json")).json())["components"]["schemas"]

    page = await (await client.get("/v1/videos")).json()
    error = await (await client.get("/v1/videos/nope")).json()
    video = page["videos"][0]
    for schema, answer in [
        (schemas["VideoPage"], page),
        (schemas["Video"], video),
        (schemas["Rendition"], video["renditions"][0]),
        (schemas["Error"], error),
        (schemas["Error"]["properties"]["error"], error["error"]),
    ]:
        assert set(answer) == set(schema["properties"])
        assert set(schema.get("required", ())) <= set(answer)


async def test_the_openapi_document_describes_every_route(client: Client, catalog: CatalogStore) -> None:
    doc = await (await client.get("/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    described = set(doc["paths"])
    app = create_app(catalog=catalog)
    served = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert served == described


async def test_the_page_allows_only_its_own_scripts_and_no_answer_names_the_server_version(
    client: Client,
) -> None:
    page = await client.get("/")
    assert page.status == 200 and page.content_type == "text/html"
    csp = page.headers["Content-Security-Policy"]
    html = await page.text()
    assert '<script type="module" src="/static/app.js"></script>' in html
    inline = [part.split("</script>", 1)[0] for part in html.split("<script>")[1:]]
    digests = [base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in inline]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert script_src == " ".join(["script-src 'self'", *(f"'sha256-{d}'" for d in digests)])
    assert "unsafe-inline" not in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    for response in (page, await client.get("/v1/videos"), await client.get("/v1/videos/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Server"] == "tubestream"


async def test_media_does_not_follow_a_symlink_out_of_the_media_root(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put_bytes("videos/v1/j1/seg.m4s", b"inside")
    secret = tmp_path / "server-secret.txt"
    secret.write_text("private")
    (tmp_path / "blobs" / "videos" / "v1" / "j1" / "leak.m4s").symlink_to(secret)
    (tmp_path / "blobs" / "videos" / "v1" / "j1" / "alias.m4s").symlink_to(
        tmp_path / "blobs/videos/v1/j1/seg.m4s"
    )
    await catalog.put(_video("v1"))  # only a video the catalog knows as public is served unsigned
    app = create_app(catalog=catalog, media=blobs)
    async with TestClient(TestServer(app)) as client:
        leak = await client.get("/media/videos/v1/j1/leak.m4s")
        assert leak.status == 404 and b"private" not in await leak.read()
        assert leak.headers["Server"] == "tubestream"
        inside = await client.get("/media/videos/v1/j1/alias.m4s")  # a link that stays inside is fine
        assert inside.status == 200 and await inside.read() == b"inside"


async def test_published_media_is_served_with_ranges_and_sources_stay_private(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put_bytes("videos/v1/j1/master.m3u8", b"#EXTM3U\n#EXT-X-VERSION:7\n")
    blobs.put_bytes("videos/v1/j1/seg-0-00001.m4s", bytes(range(256)) * 4)
    blobs.put_bytes("uploads/v1/source", b"the original file")
    await catalog.put(_video("v1"))  # only a video the catalog knows as public is served unsigned
    app = create_app(catalog=catalog, media=blobs)
    async with TestClient(TestServer(app)) as client:
        master = await client.get("/media/videos/v1/j1/master.m3u8")
        assert master.status == 200
        assert master.content_type == "application/vnd.apple.mpegurl"
        assert (await master.read()).startswith(b"#EXTM3U")
        part = await client.get("/media/videos/v1/j1/seg-0-00001.m4s", headers={"Range": "bytes=10-19"})
        assert part.status == 206 and await part.read() == bytes(range(10, 20))
        assert (await client.get("/media/uploads/v1/source")).status == 404
        assert (await client.get("/media/videos/../uploads/v1/source")).status == 404
        assert (await client.get("/media/videos/v1/nope.m3u8")).status == 404


async def test_media_caches_segments_for_good_manifests_briefly_and_revalidates_by_etag(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put_bytes("videos/v1/j1/master.m3u8", b"#EXTM3U\n")
    blobs.put_bytes("videos/v1/j1/seg-0-00001.m4s", b"segment")
    await catalog.put(_video("v1"))
    async with TestClient(TestServer(create_app(catalog=catalog, media=blobs))) as client:
        segment = await client.get("/media/videos/v1/j1/seg-0-00001.m4s")
        assert segment.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        manifest = await client.get("/media/videos/v1/j1/master.m3u8")
        assert manifest.headers["Cache-Control"] == "public, max-age=5"
        again = await client.get(
            "/media/videos/v1/j1/seg-0-00001.m4s", headers={"If-None-Match": segment.headers["ETag"]}
        )
        assert again.status == 304 and await again.read() == b""


async def test_browsers_of_allowed_origins_get_cors_and_preflights_others_do_not(
    catalog: CatalogStore, tmp_path: Path
) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    blobs.put_bytes("videos/v1/j1/seg.m4s", b"segment")
    await catalog.put(_video("v1"))
    app = create_app(catalog=catalog, media=blobs, cors_origins=("https://app.example",))
    async with TestClient(TestServer(app)) as client:
        preflight = await client.options(
            "/media/videos/v1/j1/seg.m4s",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "range",
            },
        )
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Range" in preflight.headers["Access-Control-Allow-Headers"]
        api = await client.get("/v1/videos/v1", headers={"Origin": "https://app.example"})
        assert api.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "Origin" in api.headers["Vary"]
        ranged = await client.get(
            "/media/videos/v1/j1/seg.m4s", headers={"Origin": "https://app.example", "Range": "bytes=0-2"}
        )
        assert ranged.status == 206 and "Content-Range" in ranged.headers["Access-Control-Expose-Headers"]
        other = await client.get("/v1/videos/v1", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        refused = await client.options(
            "/v1/videos", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert refused.status == 403 and (await refused.json())["error"]["status"] == 403


async def test_any_origin_by_default(client: Client, catalog: CatalogStore) -> None:
    await catalog.put(_video("v1"))
    response = await client.get("/v1/videos/v1", headers={"Origin": "https://anywhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_media_on_s3_redirects_to_a_signed_url(catalog: CatalogStore, minio: LocalMinio) -> None:
    s3 = fresh_bucket(minio)
    s3.put_bytes("videos/v2/j1/seg-0-00001.m4s", b"segment bytes")
    await catalog.put(_video("v2"))
    app = create_app(catalog=catalog, media=s3)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/media/videos/v2/j1/seg-0-00001.m4s", allow_redirects=False)
        assert response.status == 302
        location = response.headers["Location"]
        assert location.startswith(minio.endpoint) and "X-Amz-Signature=" in location
        async with client.session.get(location) as stored:  # the signed URL works on its own
            assert stored.status == 200 and await stored.read() == b"segment bytes"


def _overwrite_doc(path: Path, video_id: str, doc: str) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("UPDATE videos_by_id SET doc = ? WHERE video_id = ?", (doc, video_id))
    finally:
        conn.close()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
