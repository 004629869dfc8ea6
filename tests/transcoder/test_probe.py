"""ffprobe's JSON → ProbedSource, and the reasons a source is refused."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from transcoder.errors import DeadlineError, SourceError
from transcoder.probe import (
    ACCEPTED_DEMUXERS,
    ffprobe_reason,
    probe_command,
    probe_source,
    probe_source_async,
    source_from_ffprobe,
)

from harness import ConnectionSpy


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
    assert "Connection refused" in str(refused.value)  # the reason stays; the URL is named <url>
    assert "s3cr3t" not in str(refused.value) and "signature" not in str(refused.value)


@pytest.mark.parametrize(
    "container",
    ["mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mpegts", "flv", "ogg", "mpeg", "mpegvideo", "asf"],
)
def test_real_media_containers_are_accepted(container: str) -> None:
    probed = info({}) | {"format": {"duration": "10.0", "format_name": container}}
    assert source_from_ffprobe(probed).container == container


@pytest.mark.parametrize(
    ("container", "reason"),
    [
        ("hls", r"an HLS playlist \(hls\)"),
        ("concat", r"a concat list \(concat\)"),
        ("image2", r"still image \(image2\)"),
        ("png_pipe", r"still image \(png_pipe\)"),
        ("tty", "text file"),
        ("dash", r"a DASH manifest \(dash\)"),
        ("wav", r"format \(wav\) is not a video container"),
        ("", "format"),
    ],
)
def test_anything_but_an_accepted_container_is_refused(container: str, reason: str) -> None:
    probed = info({}) | {"format": {"duration": "10.0", "format_name": container}}
    with pytest.raises(SourceError, match=reason):
        source_from_ffprobe(probed)


def test_the_probe_allows_only_the_demuxers_and_protocols_its_source_needs(tmp_path: Path) -> None:
    local = probe_command(tmp_path / "source", rw_timeout_s=5)
    assert _option(local, "-protocol_whitelist") == "file"
    assert local[-1] == f"file:{tmp_path / 'source'}"
    remote = probe_command("https://s3.example/b/k?X-Amz-Signature=abc", rw_timeout_s=5)
    assert _option(remote, "-protocol_whitelist") == "https,http,tcp,tls"
    for command in (local, remote):
        assert _option(command, "-format_whitelist") == ",".join(ACCEPTED_DEMUXERS)
        assert _option(command, "-rw_timeout") == "5000000"  # microseconds
    assert "hls" not in ACCEPTED_DEMUXERS and "concat" not in ACCEPTED_DEMUXERS
    with pytest.raises(ValueError, match="ftp"):
        probe_command("ftp://example/x", rw_timeout_s=5)


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _mpegts(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", "-c:v", "libx264",
           "-preset", "ultrafast", "-f", "mpegts", str(path))  # fmt: skip
    return path


def test_a_playlist_is_refused_without_reading_what_it_names(tmp_path: Path) -> None:
    secret = _mpegts(tmp_path / "secret.ts")
    with ConnectionSpy() as spy:
        playlist = tmp_path / "source"  # what the worker downloads: no extension to go by
        playlist.write_text(
            f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{spy.url()}\n#EXTINF:1,\n{secret}\n#EXT-X-ENDLIST\n"
        )
        with pytest.raises(SourceError, match=r"an HLS playlist \(hls\).*refused"):
            probe_source(playlist)
        concat = tmp_path / "list"
        concat.write_text(f"ffconcat version 1.0\nfile '{secret}'\nfile '{spy.url()}'\n")
        with pytest.raises(SourceError, match=r"a concat list \(concat\)"):
            probe_source(concat)
        assert spy.connections == 0


def test_a_stalled_network_read_times_out() -> None:
    with ConnectionSpy(silent=True) as stalled:
        started = time.monotonic()
        with pytest.raises(SourceError, match="timed out"):
            probe_source(stalled.url("/v.mp4"), rw_timeout_s=1, deadline_s=60)
        assert time.monotonic() - started < 15
        assert stalled.connections == 1


def test_a_probe_past_its_deadline_is_killed(tmp_path: Path) -> None:
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # opening it blocks until a writer comes: no read timeout can help
    started = time.monotonic()
    with pytest.raises(DeadlineError, match="1 s"):
        probe_source(fifo, deadline_s=1)
    assert time.monotonic() - started < 10


async def test_the_async_probe_reads_a_real_file_and_has_the_same_deadline(tmp_path: Path) -> None:
    video = tmp_path / "v.ts"
    await asyncio.to_thread(_mpegts, video)
    source = await probe_source_async(video)
    assert (source.width, source.height, source.demuxer) == (160, 90, "mpegts")
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    with pytest.raises(DeadlineError):
        await probe_source_async(fifo, deadline_s=1)


def test_ffprobes_reason_is_kept_without_the_url_or_memory_addresses() -> None:
    url = "http://127.0.0.1:8082/v1/blobs/objects?key=uploads%2Fv%2Fsource&signature=abc123"
    stderr = (
        "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1c2a0b280] moov atom not found\n"
        f"{url}: Invalid data found when processing input\n"
    )
    reason = ffprobe_reason(stderr, url)
    assert reason == "moov atom not found; Invalid data found when processing input"
    assert ffprobe_reason("", url) == "no reason given"
    other = ffprobe_reason("Opening 'https://evil.example/x.ts?sig=1' for reading\n", url)
    assert "evil" not in other and "<url>" in other
