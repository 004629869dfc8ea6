"""Every command given bad input ends in one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.cli.main import main

EXAMPLES = Path(__file__).resolve().parents[3] / "deploy" / "examples"

# (command line, environment overrides, what the one line must say)
BAD_INPUT: list[tuple[list[str], dict[str, str], str]] = [
    (["publish", "video-liked", "-"], {}, "unknown event type 'video-liked'"),
    (["publish", "upload-complete", "{tmp}/missing.json"], {}, "missing.json"),
    (["tail", "no-such-topic"], {}, "no-such-topic"),
    (["transcode", "{tmp}/corrupt.mp4", "{tmp}/out"], {}, "corrupt.mp4"),
    (["transcode", "{tmp}/missing.mp4", "{tmp}/out"], {}, "missing.mp4"),
    (["transcode", "{tmp}/corrupt.mp4", "{tmp}/out", "--codecs", "h263"], {}, "--codecs"),
    (["transcode", "{tmp}/corrupt.mp4", "{tmp}/out", "--speed", "ludicrous"], {}, "invalid choice"),
    (["analytics", "batch", "--from", "yesterday", "--to", "today"], {}, "yesterday"),
    (["analytics", "batch", "--from", "2026-01-02T00:00Z", "--to", "2026-01-01T00:00Z"], {}, "--from"),
    (["analytics", "run", "--boards-every", "0"], {}, "between 0 and a day"),
    (
        [
            "analytics",
            "batch",
            "--source",
            "archives",
            "--from",
            "2026-01-01T10:00Z",
            "--to",
            "2026-01-01T11:00Z",
        ],
        {},
        "no archives for 2026-01-01T10:00:00+00:00 to 2026-01-01T11:00:00+00:00",
    ),
    (["analytics", "archive"], {"TUBESTREAM_BLOB_URL": "ftp://somewhere"}, "ftp://somewhere"),
    (["upload", "{tmp}/missing.mp4", "--title", "t"], {}, "missing.mp4"),
    (["upload", "{tmp}/corrupt.mp4"], {}, "--title"),
    (["uploads-clean", "--older-than-hours", "soon"], {}, "soon"),
    (["upload-service"], {"TUBESTREAM_BLOB_URL": "s3://"}, "s3://"),
    (["catalog", "rebuild", "--into", "mysql://db/catalog"], {}, "mysql"),
    (["api"], {"TUBESTREAM_CATALOG_URL": "sqlite://relative.db"}, "sqlite:///"),
    (["worker"], {"TUBESTREAM_CATALOG_URL": "cassandra://nowhere"}, "cassandra"),
    (["collector"], {"TUBESTREAM_PLAYER_TOKEN_SECRET": "short"}, "32 bytes"),
    (["player-token", "viewer", "--ttl", "forever"], {}, "forever"),
    (["transcoder"], {"TUBESTREAM_BLOB_URL": "gopher://x"}, "gopher"),
    (["kafka", "status"], {"TUBESTREAM_KAFKA_PORT": "99999"}, "TUBESTREAM_KAFKA_PORT"),
    (["minio", "launch"], {}, "invalid choice"),
    (["topics", "list"], {"TUBESTREAM_UPLOAD_MAX_BYTES": "-1"}, "TUBESTREAM_UPLOAD_MAX_BYTES"),
    (["estimate", "--dau", "lots"], {}, "lots"),
    (["estimate", "--dau", "10M", "--peak-factor", "-1"], {}, "positive"),
    (["no-such-command"], {}, "invalid choice"),
]


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Service commands configure the root logger for their process; here the process is the test run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize(("argv", "env", "says"), BAD_INPUT, ids=[" ".join(a) for a, _, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str],
    env: dict[str, str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TUBESTREAM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "127.0.0.1:9")  # nothing here may need a broker
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64)

    try:
        code = main([arg.replace("{tmp}", str(tmp_path)) for arg in argv])
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code  # type: ignore[assignment]

    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in err
