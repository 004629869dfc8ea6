"""``transcode_file``: what ``tubestream transcode SOURCE OUTDIR`` runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import m3u8
import pytest

from schemas.transcode_requested import VideoCodec
from transcoder.local import parse_codecs, transcode_file


def make_source(path: Path, *, size: str, seconds: float) -> Path:
    lavfi = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    encode = ["-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *lavfi, *encode, str(path)], check=True
    )
    return path


def test_codecs_are_parsed_from_the_command_line() -> None:
    assert parse_codecs("h264") == (VideoCodec.H264,)
    assert parse_codecs(" H264, vp9 ,h264") == (VideoCodec.H264, VideoCodec.VP9)  # order kept, once each
    with pytest.raises(ValueError, match="choose from h264, h265, vp9, av1; got 'h266'"):
        parse_codecs("h266")
    with pytest.raises(ValueError, match="at least one"):
        parse_codecs(" , ")


def test_a_file_becomes_a_folder_with_both_manifests(tmp_path: Path) -> None:
    source = make_source(tmp_path / "in.mp4", size="854x480", seconds=2)
    progress: list[float] = []
    result = transcode_file(
        source,
        tmp_path / "out",
        codecs=parse_codecs("h264,vp9"),
        max_height=360,
        segment_duration_s=1.0,
        speed="fast",
        on_progress=progress.append,
    )
    assert [(r.rung.name, r.encoder) for r in result.renditions] == [
        ("360p-h264", "libx264"),
        ("360p-vp9", "libvpx-vp9"),
    ]
    master = m3u8.load(str(tmp_path / "out" / result.hls_master))
    assert len(master.playlists) == 2 and (tmp_path / "out" / result.dash_manifest).is_file()
    assert progress[-1] == 100.0


def test_a_second_run_into_the_same_folder_replaces_the_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    long = make_source(tmp_path / "long.mp4", size="320x180", seconds=3)
    transcode_file(long, out, segment_duration_s=1.0, speed="fast")
    short = make_source(tmp_path / "short.mp4", size="320x180", seconds=1)
    result = transcode_file(short, out, segment_duration_s=1.0, speed="fast")
    [rendition] = result.renditions
    assert rendition.segments == ("seg-0-00001.m4s",)
    assert sorted(p.name for p in out.glob("seg-*.m4s")) == ["seg-0-00001.m4s"]  # no segment of the first run


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_height": 0}, "max_height"),
        ({"segment_duration_s": 0.0}, "segment_duration_s"),
        ({"codecs": ()}, "codecs"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        transcode_file(tmp_path / "never-read.mp4", tmp_path / "out", **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()
