"""The whole path for an unlisted and a private video: upload → plan → transcode → the API → playback
through the signed prefix, with the real services as ``tubestream`` subprocesses."""

from __future__ import annotations

import getpass
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from harness import Platform, http_json

pytestmark = pytest.mark.kafka


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def _first_uri(playlist: bytes) -> str:
    """The first URI a player would fetch next: a variant of a master, or a rendition's first segment."""
    lines = playlist.decode().splitlines()
    return next(line for line in lines if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=2",
            "-c:v", "libx264", "-preset", "ultrafast", str(source),
        ],
        check=True,
    )  # fmt: skip
    return source


@pytest.fixture(scope="module")
def services(platform: Platform) -> Platform:
    platform.start("uploads", "upload-service")
    platform.start("transcoder", "transcoder", "--speed", "fast")
    platform.wait_for(
        lambda: http_json(f"http://127.0.0.1:{platform.upload_port}/healthz")[0] == 200,
        what="the upload service",
    )
    return platform


def _uploaded(platform: Platform, clip: Path, visibility: str, headers: dict[str, str]) -> dict[str, Any]:
    video_id = platform.run(
        "upload", str(clip), "--title", f"A {visibility} clip", "--visibility", visibility
    )

    def ready() -> dict[str, Any] | None:
        status, body, _ = _get(f"{platform.api}/v1/videos/{video_id.strip()}", headers)
        if status != 200:
            return None
        video: dict[str, Any] = json.loads(body)
        return video if video["status"] == "ready" else None

    return platform.wait_for(ready, timeout_s=120, what=f"the {visibility} video to be transcoded")


def test_an_unlisted_video_plays_through_its_signed_master_and_not_without_it(
    services: Platform, clip: Path
) -> None:
    video = _uploaded(services, clip, "unlisted", {})
    assert video["visibility"] == "unlisted" and "/media/s/" in video["hls_url"]
    status, listed = http_json(f"{services.api}/v1/videos")
    assert status == 200 and video["id"] not in [v["id"] for v in listed["videos"]]

    master_url = services.api + video["hls_url"]
    status, master, headers = _get(master_url)
    assert status == 200 and master.startswith(b"#EXTM3U") and headers["Cache-Control"].startswith("private")
    rendition_url = master_url.rsplit("/", 1)[0] + "/" + _first_uri(master)  # relative, as hls.js resolves
    status, rendition, _ = _get(rendition_url)
    assert status == 200 and rendition.startswith(b"#EXTM3U")
    segment_url = rendition_url.rsplit("/", 1)[0] + "/" + _first_uri(rendition)
    status, segment, headers = _get(segment_url)
    assert status == 200 and len(segment) > 100 and headers["Cache-Control"].startswith("private")

    for url in (master_url, rendition_url, segment_url):  # the same paths without the signed prefix
        unsigned = url.replace(url[url.index("/media/s/") : url.index("/videos/")], "/media")
        assert "/media/videos/" in unsigned and _get(unsigned)[0] == 404


def test_a_private_video_is_its_uploaders_only(services: Platform, clip: Path) -> None:
    token = services.run("upload-token", getpass.getuser()).strip()
    mine = {"Authorization": f"Bearer {token}"}
    video = _uploaded(services, clip, "private", mine)
    assert video["visibility"] == "private"
    assert _get(f"{services.api}/v1/videos/{video['id']}")[0] == 404  # anonymous: no such video
    status, master, _ = _get(services.api + video["hls_url"])
    assert status == 200 and master.startswith(b"#EXTM3U")
