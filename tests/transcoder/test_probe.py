"""ffprobe's JSON → ProbedSource, and the reasons a source is refused."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from transcoder.errors import SourceError
from transcoder.probe import probe_source, source_from_ffprobe


def info(
    video: dict[str, Any] | None = None, *, audio: bool = True, duration: str = "10.0"
) -> dict[str, Any]:
    streams: list[dict[str, Any]] = []
    if video is not None:
        streams.append(
            {"codec_type": "video", "codec_name": "h264", "width": 1920, "height": 1080,
             "avg_frame_rate": "30000/1001", "pix_fmt": "yuv420p"} | video
        )  # fmt: skip
    if audio:
        streams.append({"codec_type": "audio", "codec_name": "aac"})
    return {
        "streams": streams,
        "format": {"duration": duration, "format_name": "mov,mp4", "bit_rate": "5000000"},
    }


def test_the_usual_upload() -> None:
    source = source_from_ffprobe(info({}))
    assert (source.width, source.height, source.rotation) == (1920, 1080, 0)
    assert source.frame_rate == pytest.approx(29.97, abs=0.01)
    assert (source.duration_s, source.has_audio, source.audio_codec, source.bit_depth) == (
        10.0,
        True,
        "aac",
        8,
    )
    assert source.bit_rate == 5_000_000


@pytest.mark.parametrize(
    ("video", "size", "rotation"),
    [
        ({"side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}]}, (1080, 1920), 270),
        ({"side_data_list": [{"rotation": 90}]}, (1080, 1920), 90),
        ({"side_data_list": [{"rotation": 180}]}, (1920, 1080), 180),
        ({"tags": {"rotate": "90"}}, (1080, 1920), 90),  # what older muxers wrote
    ],
)
def test_a_rotated_video_is_described_as_displayed(
    video: dict[str, Any], size: tuple[int, int], rotation: int
) -> None:
    source = source_from_ffprobe(info(video))
    assert ((source.width, source.height), source.rotation) == (size, rotation)


def test_ten_bit_and_odd_rates() -> None:
    source = source_from_ffprobe(
        info({"pix_fmt": "yuv420p10le", "avg_frame_rate": "0/0", "r_frame_rate": "50/1"})
    )
    assert source.bit_depth == 10 and source.frame_rate == 50.0


def test_cover_art_is_not_the_video() -> None:
    cover = {"codec_type": "video", "codec_name": "mjpeg", "width": 600, "height": 600,
             "disposition": {"attached_pic": 1}}  # fmt: skip
    audio_with_cover = info(None) | {"streams": [{"codec_type": "audio", "codec_name": "mp3"}, cover]}
    with pytest.raises(SourceError, match="no video stream"):
        source_from_ffprobe(audio_with_cover)


@pytest.mark.parametrize(
    ("probed", "reason"),
    [
        (info(None), "no video stream"),
        (info({}, duration="N/A"), "no duration"),
        (info({}, duration="0"), "no duration"),
        (info({"width": 0}), "no picture size"),
    ],
)
def test_what_cannot_be_transcoded_says_why(probed: dict[str, Any], reason: str) -> None:
    with pytest.raises(SourceError, match=reason):
        source_from_ffprobe(probed)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def test_a_real_file_is_probed(tmp_path: Path) -> None:
    video = tmp_path / "v.mkv"
    lavfi = ("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=1")
    ffmpeg(*lavfi, "-c:v", "ffv1", "-pix_fmt", "yuv420p10le", str(video))
    source = probe_source(video)
    assert (source.width, source.height, source.frame_rate, source.bit_depth) == (320, 240, 24.0, 10)
    assert not source.has_audio and source.duration_s == pytest.approx(1.0, abs=0.05)


def test_files_ffmpeg_can_read_that_are_no_video_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n" * 100)  # FFmpeg's tty demuxer would render it as a video
    with pytest.raises(SourceError, match="text file"):
        probe_source(text)
    photo = tmp_path / "photo.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", str(photo))
    with pytest.raises(SourceError, match=r"still image \(image2\)"):
        probe_source(photo)
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(SourceError, match=r"ffprobe cannot read the source: .*Invalid data found"):
        probe_source(junk)


def test_a_refused_url_is_named_without_its_query() -> None:
    """A pre-signed URL's signature must not travel on in the error (the upload service answers with it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    url = f"http://127.0.0.1:{port}/v1/blobs/objects?key=uploads/v/source&expires=9&signature=s3cr3t"
    with pytest.raises(SourceError) as refused:
        probe_source(url)
    assert f"http://127.0.0.1:{port}/v1/blobs/objects" in str(refused.value)
    assert "s3cr3t" not in str(refused.value) and "signature" not in str(refused.value)
