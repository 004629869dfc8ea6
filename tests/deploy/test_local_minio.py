"""The local MinIO's start and stop, when two runs share one folder (and so one pid file)."""

from __future__ import annotations

from pathlib import Path

from deploy.local_minio import LocalMinio

from harness import free_port


def test_each_server_stops_its_own_even_after_another_rewrote_the_pid_file(
    minio: LocalMinio, tmp_path: Path
) -> None:
    """Two test suites (or a suite and `tubestream up`) on one checkout share .local/minio; stopping
    one must not leave its server running and kill the other's."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "minio").symlink_to(minio.binary)  # the suite's build, not another one
    first, second = LocalMinio(tmp_path, port=free_port()), LocalMinio(tmp_path, port=free_port())
    try:
        assert first.start(timeout_s=60) and second.start(timeout_s=60)
        assert first.pid_file.read_text().strip() != ""  # the second's pid now: the file is shared
        assert first.stop()
        assert not first.healthy()
        assert second.healthy(), "stopping the first server stopped the second"
        assert second.stop()
        assert not second.healthy()
        assert not second.pid_file.exists()
        assert not first.stop()  # nothing of its own left to stop, and the file names nothing
    finally:
        first.stop()
        second.stop()
