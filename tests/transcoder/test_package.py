"""The packaging pipeline with real FFmpeg, on sources FFmpeg's lavfi makes for each test."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from schemas.transcode_requested import VideoCodec
from transcoder.errors import SourceError
from transcoder.ladder import LadderConfig
from transcoder.package import PackageResult, package_source

SEGMENT_S = 1.0
ONE_SECOND = LadderConfig(segment_duration_s=SEGMENT_S)


def make_source(
    path: Path, *, size: str, seconds: float, audio: bool = True, extra: tuple[str, ...] = ()
) -> Path:
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += list(extra or ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    subprocess.run([*args, str(path)], check=True)
    return path


def ffprobe(path: Path, *args: str) -> Any:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def joined(out: Path, init: str, segments: tuple[str, ...], target: Path) -> Path:
    """A rendition as one file (init + segments), as a player would feed its decoder."""
    with target.open("wb") as sink:
        for name in (init, *segments):
            sink.write((out / name).read_bytes())
    return target


def expand(template: str, representation: str, number: int) -> str:
    """A DASH SegmentTemplate name, e.g. seg-$RepresentationID$-$Number%05d$.m4s."""
    width = re.search(r"\$Number%0(\d)d\$", template)
    name = re.sub(r"\$Number(%0\d+d)?\$", f"{number:0{width[1] if width else 1}d}", template)
    return name.replace("$RepresentationID$", representation)


def keyframe_times(path: Path) -> list[float]:
    frames = ffprobe(path, "-select_streams", "v", "-show_entries", "packet=pts_time,flags", "-show_packets")
    return [round(float(p["pts_time"]), 3) for p in frames["packets"] if "K" in p["flags"]]


def psnr(rendition: Path, source: Path, width: int, height: int) -> float:
    graph = f"[1:v]scale={width}:{height},format=yuv420p[ref];[0:v]format=yuv420p[dist];[dist][ref]psnr"
    result = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-i",
            str(rendition),
            "-i",
            str(source),
            "-lavfi",
            graph,
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"average:([0-9.]+|inf)", result.stderr)
    assert match, result.stderr[-500:]
    return float(match[1])


@pytest.fixture(scope="module")
def landscape(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, PackageResult]:
    work = tmp_path_factory.mktemp("landscape")
    source = make_source(work / "src.mp4", size="854x480", seconds=4)
    out = work / "out"
    progress: list[float] = []
    result = package_source(
        source,
        out,
        config=LadderConfig(segment_duration_s=SEGMENT_S),
        speed="fast",
        on_progress=progress.append,
    )
    assert progress[-1] == 100.0 and progress == sorted(progress)  # progress only grows, ends at 100
    return source, out, result


def test_every_rendition_has_its_codec_size_and_duration(landscape: tuple[Path, Path, PackageResult]) -> None:
    _, out, result = landscape
    assert [r.rung.name for r in result.renditions] == ["360p", "480p"]
    for r in result.renditions:
        media = joined(out, r.init, r.segments, out / f"check-{r.rung.name}.mp4")
        info = ffprobe(media, "-show_streams", "-show_format")
        [video] = [s for s in info["streams"] if s["codec_type"] == "video"]
        assert video["codec_name"] == "h264"
        assert (video["width"], video["height"]) == (r.rung.width, r.rung.height)
        assert video["pix_fmt"] == "yuv420p"
        assert abs(float(info["format"]["duration"]) - 4.0) < 0.3


def test_keyframes_are_at_the_same_timestamps_in_every_rendition(
    landscape: tuple[Path, Path, PackageResult],
) -> None:
    _, out, result = landscape
    times = [
        keyframe_times(joined(out, r.init, r.segments, out / f"k-{r.rung.name}.mp4"))
        for r in result.renditions
    ]
    assert times[0] == [0.0, 1.0, 2.0, 3.0]  # one per segment
    assert all(t == times[0] for t in times)


def test_each_rendition_looks_like_the_source(landscape: tuple[Path, Path, PackageResult]) -> None:
    source, out, result = landscape
    for r in result.renditions:
        media = joined(out, r.init, r.segments, out / f"p-{r.rung.name}.mp4")
        assert psnr(media, source, r.rung.width, r.rung.height) > 30.0, r.rung.name


def test_hls_playlists_parse_and_every_segment_they_name_exists(
    landscape: tuple[Path, Path, PackageResult],
) -> None:
    _, out, result = landscape
    master = m3u8.load(str(out / result.hls_master))
    assert len(master.playlists) == 2 and len(master.media) == 1
    named: set[str] = set()
    for uri in [p.uri for p in master.playlists] + [m.uri for m in master.media]:
        media = m3u8.load(str(out / uri))
        assert media.is_endlist and media.target_duration <= SEGMENT_S + 1
        named |= {media.segment_map[0].uri} | {s.uri for s in media.segments}
    assert all((out / name).is_file() for name in named)
    for playlist in master.playlists:
        assert playlist.stream_info.average_bandwidth <= playlist.stream_info.bandwidth


def test_the_mpd_names_the_same_segment_files_as_hls(landscape: tuple[Path, Path, PackageResult]) -> None:
    _, out, result = landscape
    mpd = MPEGDASHParser.parse(str(out / result.dash_manifest))
    from_mpd: set[str] = set()
    segment_count = round(4.0 / SEGMENT_S)
    for adaptation in mpd.periods[0].adaptation_sets:
        template = (adaptation.segment_templates or [None])[0]
        for representation in adaptation.representations:
            t = template or representation.segment_templates[0]
            rid = representation.id
            from_mpd.add(t.initialization.replace("$RepresentationID$", rid))
            first = t.start_number or 1
            from_mpd |= {expand(t.media, rid, n) for n in range(first, first + segment_count)}
    on_disk = {p.name for p in out.glob("*.m4s")}
    assert from_mpd <= on_disk
    hls = {r.init for r in result.renditions} | {s for r in result.renditions for s in r.segments}
    assert hls | set(result.audio_files) == on_disk  # one set of media, referenced by both


def test_poster_storyboard_and_track_are_made(landscape: tuple[Path, Path, PackageResult]) -> None:
    _, out, result = landscape
    assert result.thumbnails[0] == "poster.jpg" and result.thumbnails[-1] == "storyboard.vtt"
    poster = ffprobe(out / "poster.jpg", "-show_streams")["streams"][0]
    assert poster["width"] == 854
    vtt = (out / "storyboard.vtt").read_text()
    assert vtt.count("storyboard-1.jpg#xywh=") == 4


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("360x640", [("360p", 360, 640)]),  # vertical
        ("1278x718", [("360p", 640, 360), ("480p", 854, 480)]),  # odd ratio, just under 720p: no 720p
        ("638x358", [("358p", 638, 358)]),  # smaller than the smallest rung: its own size
    ],
)
def test_vertical_and_odd_sources(tmp_path: Path, size: str, expected: list[tuple[str, int, int]]) -> None:
    source = make_source(tmp_path / "src.mp4", size=size, seconds=1, audio=False)
    result = package_source(
        source, tmp_path / "out", config=LadderConfig(segment_duration_s=SEGMENT_S), speed="fast"
    )
    assert [(r.rung.name, r.rung.width, r.rung.height) for r in result.renditions] == expected
    assert result.audio_playlist is None and not result.audio_files  # no audio track, no audio group
    assert "#EXT-X-MEDIA" not in (tmp_path / "out" / result.hls_master).read_text()


def test_a_10_bit_source_becomes_8_bit(tmp_path: Path) -> None:
    source = make_source(
        tmp_path / "src.mkv", size="640x360", seconds=1, extra=("-c:v", "ffv1", "-pix_fmt", "yuv420p10le")
    )
    result = package_source(
        source, tmp_path / "out", config=LadderConfig(segment_duration_s=SEGMENT_S), speed="fast"
    )
    assert result.source.bit_depth == 10
    [r] = result.renditions
    media = joined(tmp_path / "out", r.init, r.segments, tmp_path / "r.mp4")
    assert ffprobe(media, "-show_streams")["streams"][0]["pix_fmt"] == "yuv420p"


@pytest.mark.parametrize(
    ("codec", "codec_name", "hls_codec"),
    [(VideoCodec.H265, "hevc", "hvc1"), (VideoCodec.VP9, "vp9", "vp09"), (VideoCodec.AV1, "av1", "av01")],
)
def test_h265_vp9_and_av1(tmp_path: Path, codec: VideoCodec, codec_name: str, hls_codec: str) -> None:
    source = make_source(tmp_path / "src.mp4", size="640x360", seconds=1)
    config = LadderConfig(codecs=(codec,), segment_duration_s=SEGMENT_S)
    result = package_source(source, tmp_path / "out", config=config, speed="fast", encoder="cpu")
    [r] = result.renditions
    media = joined(tmp_path / "out", r.init, r.segments, tmp_path / "r.mp4")
    assert ffprobe(media, "-show_streams", "-select_streams", "v")["streams"][0]["codec_name"] == codec_name
    assert f'CODECS="{hls_codec}' in (tmp_path / "out" / result.hls_master).read_text()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "ffprobe cannot read the source"),
        (b"this is a text file, not a video\n" * 50, "ffprobe cannot read the source"),
    ],
)
def test_a_file_that_is_not_a_video_is_a_source_error(tmp_path: Path, content: bytes, reason: str) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(SourceError, match=reason):
        package_source(bad, tmp_path / "out", speed="fast")


def test_a_truncated_upload_is_a_source_error_with_ffprobes_reason(tmp_path: Path) -> None:
    whole = make_source(tmp_path / "src.mp4", size="320x180", seconds=2).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])  # the moov atom is at the end: it is lost
    with pytest.raises(SourceError, match=r"cannot read the source: .*Invalid data found"):
        package_source(cut, tmp_path / "out", speed="fast")


def test_an_audio_only_file_is_refused(tmp_path: Path) -> None:
    audio = tmp_path / "a.m4a"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
        check=True,
    )
    with pytest.raises(SourceError, match="no video stream"):
        package_source(audio, tmp_path / "out", speed="fast")
