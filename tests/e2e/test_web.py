"""The web app in a real browser against the real platform: upload through the page, watch it get
ready, play it with hls.js and dash.js at the lowest and the highest quality, find it by search, and
see the view in its stats.

The browser is Debian's chromium, driven by playwright-core (``tests/e2e/web_flow.mjs``); both are
installed by ``deploy/test.sh``. The platform is the harness's worker and API plus the upload service,
the transcoder, the collector and the playback analytics worker, as processes on free ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness import REPO, Platform, http_json

CHROMIUM = Path(os.environ.get("TUBESTREAM_CHROMIUM", "/usr/bin/chromium"))
DRIVER = REPO / "tests" / "e2e" / "node_modules" / "playwright-core"


@pytest.fixture(scope="module")
def site(platform: Platform) -> Iterator[Platform]:
    for name, args in (
        ("uploads", ("upload-service",)),
        ("collector", ("collector",)),
        ("transcoder", ("transcoder", "--speed", "fast")),
        ("analytics", ("analytics", "run")),
    ):
        platform.start(name, *args)
    for port, what in ((platform.upload_port, "upload service"), (platform.collector_port, "collector")):
        platform.wait_for(lambda p=port: http_json(f"http://127.0.0.1:{p}/healthz")[0] == 200, what=what)  # type: ignore[misc]
    yield platform


def _test_pattern(path: Path, *, size: str, seconds: int) -> Path:
    """A ``testsrc2`` pattern of ``size`` with a tone, H.264 and AAC."""
    subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=duration={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """Six seconds at 854x480 (two renditions: 360p, 480p), then 7 MiB of random bytes (players and
    probes ignore what follows the MP4): two 8 MiB parts, so a cut upload can resume."""
    path = _test_pattern(tmp_path / "test-pattern.mp4", size="854x480", seconds=6)
    with path.open("ab") as out:
        out.write(os.urandom(7 * 1024 * 1024))
    return path


@pytest.fixture
def short_clip(tmp_path: Path) -> Path:
    """Three seconds at 640x360: one rendition, one part."""
    return _test_pattern(tmp_path / "short.mp4", size="640x360", seconds=3)


@pytest.mark.kafka
def test_a_video_uploaded_in_the_browser_plays_is_found_and_counted(
    site: Platform, clip: Path, short_clip: Path, tmp_path: Path
) -> None:
    assert CHROMIUM.is_file(), f"no browser at {CHROMIUM}: deploy/test.sh installs Debian's chromium"
    assert DRIVER.is_dir(), "playwright-core is not installed: deploy/test.sh runs npm ci in tests/e2e"
    word = f"kingfisher{uuid.uuid4().hex[:6]}"
    args = {
        "base": site.api,
        "file": str(clip),
        "private_file": str(short_clip),
        "title": f"Test pattern {word}",
        "shots": os.environ.get("TUBESTREAM_E2E_SCREENSHOTS") or str(tmp_path / "shots"),
        "chromium": str(CHROMIUM),
    }
    run = subprocess.run(
        [shutil.which("node") or "node", str(REPO / "tests" / "e2e" / "web_flow.mjs"), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert run.stdout.strip(), f"the browser script said nothing:\n{run.stderr[-3000:]}"
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    context = f"\nsteps: {seen.get('steps')}\n{run.stderr[-2000:]}\n{site.logs()}"
    (tmp_path / "seen.json").write_text(json.dumps(seen, indent=1))  # all the script saw, to look into
    print("web flow steps:", *seen.get("steps", []), sep="\n  ")  # shown with -s: where the time goes
    assert "error" not in seen, seen["error"] + context

    # signed in and uploaded through the page, with a progress bar, then processed until ready
    assert seen["signed_in_as"] == "Signed in as ada"
    assert "Upload failed" in seen["interrupted"] and "resume" in seen["interrupted"], seen["interrupted"]
    assert seen["upload_bar"] == 100 and "Uploading: 100%" in seen["upload_statuses"]
    assert "Uploaded (resumed). Processing…" in seen["upload_statuses"], seen["upload_statuses"]
    assert seen["upload_statuses"][-1] == "Ready."
    video_id = seen["video_id"]
    status, video = http_json(f"{site.api}/v1/videos/{video_id}")
    assert status == 200 and video["status"] == "ready" and video["title"] == args["title"]
    assert video["uploader_id"] == "ada" and video["tags"] == ["e2e", "testsrc"]

    # played to the end with both players, forcing the lowest and the highest rendition
    assert [p["engine_used"] for p in seen["plays"]] == ["hls", "dash"]
    for play in seen["plays"]:
        assert play["heights"] == [360, 480], play
        assert play["menu"][0] == "Auto" and play["menu"][1].startswith("360p")
        assert (play["forced_lowest"], play["forced_highest"]) == (360, 480), play
        # dash.js may end playback itself up to half a second before the element's end (player.js)
        assert play["advanced"] and play["ended"] and play["current_time_at_end"] >= 5.4, play
        assert play["events_sent"] >= 3, play  # START, QUALITY_CHANGE..., END reached the collector

    # found by search (with a suggestion while typing), and the view counted in its stats
    search = seen["search"]
    assert search["found"] is True and search["expanded"] == "true", search
    assert search["suggestion"] == args["title"]
    assert search["url"].endswith(f"/search?q=Test%20pattern%20{word}")
    assert seen["views"] >= 1, seen.get("stats_text")
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    _, stats = http_json(f"{site.api}/v1/videos/{video_id}/stats?from={since}&step=1d")
    assert stats["totals"]["views"] == seen["views"] and stats["totals"]["watch_ms"] > 5000
    assert set(stats["totals"]["rendition_mix"]) <= {"360p", "480p"}

    # hovering the seek bar previews the time, and the storyboard's sprite where the video has one
    assert seen["storyboard"]["preview_shown"] and seen["storyboard"]["time"] == "0:03", seen["storyboard"]
    if video.get("storyboard_url"):
        assert "#" not in (seen["storyboard"]["sprite"] or "#") and ".jpg" in seen["storyboard"]["sprite"]
    else:  # the resource has no thumbnail track (yet): the preview shows the time alone
        assert seen["storyboard"]["sprite"] is None

    # trending, related videos and suggestions failing: said on their sections, the rest works
    assert seen["degraded"] == {"home": True, "suggestions_hidden": True, "watch": True}

    # a private video: watched by its uploader in the page through signed media URLs, no one else's
    private = seen["private"]
    assert private["played_by_uploader"] and private["media_all_signed"], private
    assert private["stranger_sees"] == "No such video", private
    assert http_json(f"{site.api}/v1/videos/{private['video_id']}")[0] == 404  # nor the API's, unsigned in

    # the page kept to its Content-Security-Policy, threw nothing, and fits a phone
    assert seen["csp_violations"] == [] and seen["page_errors"] == []
    assert seen["phone_overflow"] <= 0
    # the home page: for the signed-in viewer (the popular fallback: no model here), trending, newest
    assert seen["home_sections"] == ["Recommended for you", "Trending", "Newest"]
