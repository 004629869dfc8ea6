"""Per-machine secrets: made once, the same for every process, even when they all start at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from deploy.secrets import local_secret

from harness import REPO

RACE = """
import sys
from pathlib import Path
from deploy.secrets import local_secret
print(local_secret(Path(sys.argv[1]), "shared"))
"""


def test_a_secret_is_made_once_and_kept(tmp_path: Path) -> None:
    first = local_secret(tmp_path, "token")
    assert len(first) >= 32
    assert local_secret(tmp_path, "token") == first
    assert (tmp_path / "secrets" / "token").stat().st_mode & 0o777 == 0o600
    assert local_secret(tmp_path, "token", configured="from-the-environment") == "from-the-environment"


def test_processes_racing_to_make_a_secret_all_get_the_same_complete_one(tmp_path: Path) -> None:
    for run in range(25):
        home = tmp_path / str(run)
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(home)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outcomes = [racer.communicate(timeout=60) for racer in racers]
        assert all(r.returncode == 0 for r in racers), [err for _, err in outcomes]
        values = {out.strip() for out, _ in outcomes}
        assert len(values) == 1 and len(values.pop()) >= 32, outcomes
        assert [p.name for p in (home / "secrets").iterdir()] == ["shared"]  # no temporary file left
