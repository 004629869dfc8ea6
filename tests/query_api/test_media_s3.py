"""Media on object storage (a private MinIO bucket), fetched as a player fetches it.

A player resolves each relative URL in a playlist, an MPD or a WebVTT against the URL it finally
read, after redirects. Here every file of a real transcoder job is put in a private bucket, and
each one a player would fetch next is resolved and fetched that way, through the API: public, and
through the signed prefix of an unlisted video.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from blobs.s3 import S3BlobStore
from deploy.cli.main import main
from deploy.local_minio import LocalMinio
from query_api.app import create_app
from query_api.signing import MediaSigner
from views.catalog import CatalogStore, VideoRecord, VideoStatus, Visibility
from views.sqlite_catalog import SqliteCatalogStore

from harness import fresh_bucket
from upload_service import tiny_video

SIGNER = MediaSigner(secret=b"m" * 32)
T0 = datetime(2026, 12, 1, tzinfo=UTC)
Player = tuple[TestClient[Any, Any], S3BlobStore]  # the API over the bucket, and the bucket


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real job's files: master and rendition playlists, MPD, init and segments, storyboard."""
    folder = tmp_path_factory.mktemp("job")
    clip = tiny_video(folder / "clip.mp4", size="640x360", duration_s=3)
    out = folder / "out"
    assert main(["transcode", str(clip), str(out), "--speed", "fast"]) == 0
    return out


@pytest.fixture
def bucket(minio: LocalMinio, job: Path) -> S3BlobStore:
    """A private bucket holding the job twice: for a public video and for an unlisted one."""
    s3 = fresh_bucket(minio)
    for video_id in ("pub", "unl"):
        for path in job.iterdir():
            s3.put_bytes(f"videos/{video_id}/j1/{path.name}", path.read_bytes())
    return s3


@pytest.fixture
async def player(tmp_path: Path, bucket: S3BlobStore) -> AsyncIterator[Player]:
    catalog: CatalogStore = SqliteCatalogStore(tmp_path / "catalog.db")
    for video_id, visibility in (("pub", Visibility.PUBLIC), ("unl", Visibility.UNLISTED)):
        await catalog.put(
            VideoRecord(
                video_id=video_id,
                status=VideoStatus.READY,
                updated_at=T0,
                created_at=T0,
                title=video_id,
                visibility=visibility,
            )
        )
    app = create_app(catalog=catalog, media=bucket, media_signer=SIGNER)
    async with TestClient(TestServer(app)) as client:
        yield client, bucket
    await catalog.close()


async def _fetch(session: aiohttp.ClientSession, url: str) -> tuple[str, bytes]:
    """(the URL finally read, its bytes), following redirects as a browser does."""
    async with session.get(url) as response:
        assert response.status == 200, f"{url} -> {response.url}: {response.status}"
        return str(response.url), await response.read()


def _uris(playlist: bytes) -> list[str]:
    """What an HLS playlist names: its URI lines and the URI attributes (EXT-X-MAP)."""
    text = playlist.decode()
    return re.findall(r'URI="([^"]+)"', text) + [ln for ln in text.splitlines() if ln and ln[0] != "#"]


@pytest.mark.parametrize("video_id", ["pub", "unl"])
async def test_a_player_follows_every_relative_url_through_the_api_on_a_private_bucket(
    player: Player, job: Path, video_id: str
) -> None:
    client, s3 = player
    session = client.session
    base = str(client.make_url("/media/"))
    if video_id == "unl":
        base += SIGNER.prefix(video_id, now=time.time())
    folder = f"{base}videos/{video_id}/j1/"

    # the bucket really is private: an object's plain URL, without a pre-signed query, is refused
    signed = urlsplit(s3.get_url(f"videos/{video_id}/j1/init-0.m4s", expires_s=60))
    async with session.get(f"{signed.scheme}://{signed.netloc}{signed.path}") as bare:
        assert bare.status == 403

    fetched: dict[str, bytes] = {}
    master_url, master = await _fetch(session, folder + "master.m3u8")
    assert master == (job / "master.m3u8").read_bytes()
    for variant in _uris(master):
        variant_url, playlist = await _fetch(session, urljoin(master_url, variant))
        for name in _uris(playlist):
            fetched[name] = (await _fetch(session, urljoin(variant_url, name)))[1]

    mpd_url, mpd = await _fetch(session, folder + "manifest.mpd")
    for template in re.findall(r'initialization="([^"]+)"', mpd.decode()):
        name = template.replace("$RepresentationID$", "0")
        fetched[name] = (await _fetch(session, urljoin(mpd_url, name)))[1]

    vtt_url, vtt = await _fetch(session, folder + "storyboard.vtt")
    for sprite in sorted({m.split("#")[0] for m in re.findall(r"^(\S+#xywh=\S+)$", vtt.decode(), re.M)}):
        fetched[sprite] = (await _fetch(session, urljoin(vtt_url, sprite)))[1]

    assert {"init-0.m4s", "seg-0-00001.m4s", "storyboard-1.jpg"} <= set(fetched)
    for name, body in fetched.items():
        assert body == (job / name).read_bytes(), name


async def test_playlists_are_answered_by_the_api_and_segments_redirected_to_signed_urls(
    player: Player, minio: LocalMinio
) -> None:
    client, _ = player
    playlist = await client.get("/media/videos/pub/j1/media_0.m3u8", allow_redirects=False)
    assert playlist.status == 200
    assert playlist.content_type == "application/vnd.apple.mpegurl"
    assert playlist.headers["Cache-Control"] == "public, max-age=5"
    vtt = await client.get("/media/videos/pub/j1/storyboard.vtt", allow_redirects=False)
    assert vtt.status == 200 and vtt.content_type == "text/vtt"
    segment = await client.get("/media/videos/pub/j1/seg-0-00001.m4s", allow_redirects=False)
    assert segment.status == 302
    assert segment.headers["Location"].startswith(minio.endpoint)
    assert "X-Amz-Signature=" in segment.headers["Location"]
    missing = await client.get("/media/videos/pub/j1/nothing.m3u8", allow_redirects=False)
    assert missing.status == 404 and (await missing.json())["error"]["status"] == 404
