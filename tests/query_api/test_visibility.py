"""Unlisted and private videos through the API: who sees what, and their signed, expiring media URLs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from blobs.local import LocalBlobStore
from producers.collector.tokens import PlayerTokens
from producers.uploads.auth import UploaderAuth
from query_api.app import create_app
from query_api.signing import MediaSigner
from query_api.viewers import ViewerAuth
from views.catalog import CatalogStore, RenditionRecord, VideoRecord, VideoStatus, Visibility
from views.stores import open_catalog_store

T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
Client = TestClient[Any, Any]
SIGNER = MediaSigner(secret=b"s" * 32, ttl_s=3600, granularity_s=60)
PLAYER = PlayerTokens("p" * 32)
UPLOADS = UploaderAuth(hs256_secret="u" * 32)


def _video(video_id: str, visibility: Visibility, minutes: int = 0) -> VideoRecord:
    job = f"videos/{video_id}/j1"
    return VideoRecord(
        video_id=video_id,
        status=VideoStatus.READY,
        updated_at=T0 + timedelta(minutes=minutes),
        created_at=T0 + timedelta(minutes=minutes),
        title=f"Video {video_id}",
        uploader_id="alice",
        visibility=visibility,
        job_id="j1",
        planned_renditions=("360p",),
        renditions=(
            RenditionRecord(
                name="360p",
                codec="h264",
                width=640,
                height=360,
                bitrate_kbps=800,
                segment_duration_s=4.0,
                encoder="libx264",
                manifest_key=f"{job}/360p/index.m3u8",
                job_id="j1",
            ),
        ),
        hls_master_key=f"{job}/master.m3u8",
        dash_manifest_key=f"{job}/manifest.mpd",
        poster_key=f"{job}/poster.jpg",
        storyboard_key=f"{job}/storyboard.vtt",
    )


@pytest.fixture
async def catalog(tmp_path: Path) -> AsyncIterator[CatalogStore]:
    store = open_catalog_store(f"sqlite:///{tmp_path / 'catalog.db'}")
    for video_id, visibility, minutes in (
        ("pub", Visibility.PUBLIC, 0),
        ("unl", Visibility.UNLISTED, 1),
        ("priv", Visibility.PRIVATE, 2),
    ):
        await store.put(_video(video_id, visibility, minutes))
    yield store
    await store.close()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    store = LocalBlobStore(tmp_path / "blobs")
    for video_id in ("pub", "unl", "priv"):
        store.put_bytes(f"videos/{video_id}/j1/master.m3u8", b"#EXTM3U\n360p/index.m3u8\n")
        store.put_bytes(f"videos/{video_id}/j1/360p/index.m3u8", b"#EXTM3U\nseg-00001.m4s\n")
        store.put_bytes(f"videos/{video_id}/j1/360p/seg-00001.m4s", b"segment of " + video_id.encode())
    return store


@pytest.fixture
async def client(catalog: CatalogStore, blobs: LocalBlobStore) -> AsyncIterator[Client]:
    app = create_app(
        catalog=catalog,
        media=blobs,
        media_signer=SIGNER,
        viewer_auth=ViewerAuth(player_tokens=PLAYER, uploader_auth=UPLOADS),
    )
    async with TestClient(TestServer(app)) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _error(response: Any, status: int) -> str:
    assert response.status == status and response.content_type == "application/json"
    body = await response.json()
    assert body["error"]["status"] == status
    return str(body["error"]["message"])


async def test_only_public_videos_are_listed(client: Client) -> None:
    body = await (await client.get("/v1/videos")).json()
    assert [v["id"] for v in body["videos"]] == ["pub"]
    assert body["videos"][0]["visibility"] == "public"


async def test_a_public_video_keeps_plain_media_urls(client: Client) -> None:
    response = await client.get("/v1/videos/pub")
    body = await response.json()
    assert body["hls_url"] == "/media/videos/pub/j1/master.m3u8"
    assert "private" not in response.headers.get("Cache-Control", "")
    segment = await client.get("/media/videos/pub/j1/360p/seg-00001.m4s")
    assert segment.status == 200 and segment.headers["Cache-Control"].startswith("public")


async def test_an_unlisted_video_is_read_by_its_link_with_signed_urls_on_every_media_field(
    client: Client,
) -> None:
    response = await client.get("/v1/videos/unl")
    assert response.status == 200 and response.headers["Cache-Control"] == "private, no-cache"
    body = await response.json()
    assert body["visibility"] == "unlisted"
    urls = [body[f] for f in ("hls_url", "dash_url", "poster_url", "storyboard_url")]
    urls.append(body["renditions"][0]["manifest_url"])
    prefixes = set()
    for url in urls:
        parts = url.split("/")
        assert parts[1:3] == ["media", "s"] and parts[5:7] == ["videos", "unl"], url
        prefixes.add("/".join(parts[:5]))
        assert int(parts[3]) >= time.time() + 3600 - 1  # the deployment's ttl ahead
    assert len(prefixes) == 1  # one signature covers every file of the video


async def test_an_unlisted_video_plays_through_its_signed_prefix_and_not_without_it(client: Client) -> None:
    master = (await (await client.get("/v1/videos/unl")).json())["hls_url"]
    answer = await client.get(master)
    assert answer.status == 200 and answer.headers["Cache-Control"] == "private, max-age=5"
    rendition = (
        master.rsplit("/", 1)[0] + "/" + (await answer.text()).splitlines()[1]
    )  # relative, as a player
    playlist = await client.get(rendition)
    assert playlist.status == 200
    segment = await client.get(rendition.rsplit("/", 1)[0] + "/seg-00001.m4s")
    assert segment.status == 200 and await segment.read() == b"segment of unl"
    assert segment.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    for unsigned in (
        "videos/unl/j1/master.m3u8",
        "videos/unl/j1/360p/index.m3u8",
        "videos/unl/j1/360p/seg-00001.m4s",
    ):
        assert (await client.get(f"/media/{unsigned}")).status == 404


async def test_a_signature_for_one_video_never_opens_another(client: Client) -> None:
    master = (await (await client.get("/v1/videos/unl")).json())["hls_url"]
    prefix = master.split("/videos/")[0]
    for other in ("priv", "pub"):
        message = await _error(await client.get(f"{prefix}/videos/{other}/j1/360p/seg-00001.m4s"), 403)
        assert "does not match" in message
    escape = await client.get(f"{prefix}/videos/unl/j1/..%2F..%2Fpriv%2Fj1%2F360p%2Fseg-00001.m4s")
    assert escape.status in (403, 404) and b"segment of priv" not in await escape.read()


async def test_an_expired_or_forged_signature_is_a_403_json_error(client: Client) -> None:
    past = int(time.time()) - 10
    expired = f"/media/s/{past}/{SIGNER.signature('unl', past)}/videos/unl/j1/master.m3u8"
    assert "expired" in await _error(await client.get(expired), 403)
    master = (await (await client.get("/v1/videos/unl")).json())["hls_url"]
    _, _, _, expires, signature, rest = master.split("/", 5)
    forged = f"/media/s/{expires}/{signature[::-1]}/{rest}"
    assert "does not match" in await _error(await client.get(forged), 403)
    other_secret = MediaSigner(secret=b"x" * 32).prefix("unl", now=time.time())
    assert (await client.get(f"/media/{other_secret}videos/unl/j1/master.m3u8")).status == 403


async def test_a_private_video_is_its_uploaders_alone_and_a_404_for_anyone_else(client: Client) -> None:
    assert "no video" in await _error(await client.get("/v1/videos/priv"), 404)
    assert (await client.get("/v1/videos/priv", headers=_bearer(PLAYER.issue("bob")))).status == 404
    for token in (PLAYER.issue("alice"), UPLOADS.issue("alice")):
        response = await client.get("/v1/videos/priv", headers=_bearer(token))
        assert response.status == 200 and response.headers["Cache-Control"] == "private, no-cache"
        body = await response.json()
        assert body["visibility"] == "private" and body["hls_url"].startswith("/media/s/")
        assert (await client.get(body["hls_url"])).status == 200
    assert (await client.get("/media/videos/priv/j1/master.m3u8")).status == 404


async def test_a_bad_bearer_token_is_a_401_that_says_why(client: Client) -> None:
    message = await _error(await client.get("/v1/videos/priv", headers=_bearer("not-a-token")), 401)
    assert "player token" in message and "upload token" in message
    assert (await client.get("/v1/videos/priv", headers={"Authorization": "Basic abc"})).status == 401


async def test_an_unknown_video_and_an_upload_source_are_not_served(
    client: Client, blobs: LocalBlobStore
) -> None:
    blobs.put_bytes("videos/ghost/j1/master.m3u8", b"#EXTM3U\n")
    assert (
        await client.get("/media/videos/ghost/j1/master.m3u8")
    ).status == 404  # the catalog knows no ghost
    blobs.put_bytes("uploads/unl/source", b"original")
    master = (await (await client.get("/v1/videos/unl")).json())["hls_url"]
    prefix = master.split("/videos/")[0]
    assert (await client.get(f"{prefix}/uploads/unl/source")).status == 404


async def test_behind_a_cdn_the_signed_prefix_follows_the_media_base(catalog: CatalogStore) -> None:
    app = create_app(catalog=catalog, media_base_url="https://cdn.example/media/", media_signer=SIGNER)
    async with TestClient(TestServer(app)) as c:
        body = await (await c.get("/v1/videos/unl")).json()
    url = urlsplit(body["hls_url"])
    assert url.netloc == "cdn.example" and url.path.startswith("/media/s/")
    assert url.path.endswith("/videos/unl/j1/master.m3u8")


@pytest.mark.parametrize(
    "path",
    [
        "/media/videos/pub/../unl/j1/360p/seg-00001.m4s",
        "/media/videos/pub/j1/..%2F..%2Funl%2Fj1%2F360p%2Fseg-00001.m4s",
        "/media/videos/pub/%2E%2E/unl/j1/360p/seg-00001.m4s",
        "/media/videos/pub/j1/..%5C..%5Cunl%5Cj1%5C360p%5Cseg-00001.m4s",
    ],
)
async def test_a_public_videos_unsigned_path_cannot_walk_into_an_unlisted_one(
    client: Client, path: str
) -> None:
    response = await client.get(path)
    assert response.status == 404 and b"segment of unl" not in await response.read()


def test_an_unlisted_videos_encoded_bytes_are_kept_within_a_rounding_and_made_again_after() -> None:
    from query_api.encoded import EncodedVideos

    encoded = EncodedVideos(media_base_url="/media/", signer=SIGNER)
    video = _video("unl", Visibility.UNLISTED)
    now = 1_800_000_010.0  # just after a rounding edge: the expiry holds for the next 60 s
    first = encoded(video, now=now)
    assert encoded(video, now=now + 30) is first  # the same bytes, no new signature
    later = encoded(video, now=now + 3600)
    assert later != first and str(SIGNER.expiry(now + 3600)).encode() in later
    public = _video("pub", Visibility.PUBLIC)
    assert b"/media/videos/pub/" in encoded(public, now=now) and encoded(public, now=now + 3600) is encoded(
        public, now=now
    )
