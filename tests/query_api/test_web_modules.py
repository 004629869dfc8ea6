"""The web app's own JavaScript, unit-tested with node's built-in runner: the player SDK's batching and
retries, and the storyboard track's parsing (``query_api/web/tests/``)."""

from __future__ import annotations

import shutil
import subprocess

from harness import REPO


def test_the_web_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    assert node, "node is missing: deploy/setup.sh needs Node.js and npm for the web app"
    result = subprocess.run(
        [node, "--test", "tests/"],
        cwd=REPO / "query_api" / "web",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
