"""The packaging pipeline with real FFmpeg, on sources FFmpeg's lavfi makes for each test."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from schemas.transcode_requested import VideoCodec
from transcoder.errors import SourceError
from transcoder.ladder import LadderConfig, Rung
from transcoder.package import PackageResult, package_source

from harness import ConnectionSpy

SEGMENT_S = 1.0
RUNG_1080 = Rung(
    name="1080p", codec=VideoCodec.H264, width=1920, height=1080, bitrate_kbps=5000, frame_rate=25.0
)
ONE_SECOND = LadderConfig(segment_duration_s=SEGMENT_S)
Packaged = tuple[Path, Path, PackageResult]


def make_source(
    path: Path,
    *,
    size: str,
    seconds: float,
    audio: bool = True,
    scene_cut_at: float | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """testsrc2 (+ a sine tone); ``scene_cut_at``: a hard cut to another picture (mandelbrot) there."""
    args = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    if scene_cut_at is None:
        args += ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    else:
        graph = (
            f"testsrc2=size={size}:rate=25:duration={scene_cut_at}[a];"
            f"mandelbrot=size={size}:rate=25,trim=duration={seconds - scene_cut_at}[b];"
            "[a][b]concat=n=2:v=1:a=0,format=yuv420p"
        )
        args += ["-f", "lavfi", "-i", graph]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    args += list(extra or ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"))
    subprocess.run([*args, str(path)], check=True)
    return path


def rotated(path: Path, target: Path) -> Path:
    """A copy whose display matrix turns the picture 90 degrees, as a phone held upright records.

    FFmpeg 5.1 has no option to write one, so the matrix in the MP4's first ``tkhd`` box is set.
    """
    data = bytearray(path.read_bytes())
    box = data.index(b"tkhd")
    assert data[box + 4] == 0, "a version 0 tkhd box"
    matrix = box + 4 + 4 + 5 * 4 + 8 + 4 * 2  # type, version+flags, times and ids, reserved, layer..volume
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30)
    target.write_bytes(bytes(data))
    return target


def ffprobe(path: Path, *args: str) -> Any:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def joined(out: Path, init: str, segments: tuple[str, ...], target: Path) -> Path:
    """A rendition as one file (init + segments), as a player feeds its decoder."""
    with target.open("wb") as sink:
        for name in (init, *segments):
            sink.write((out / name).read_bytes())
    return target


def keyframe_times(path: Path) -> list[float]:
    packets = ffprobe(path, "-select_streams", "v", "-show_entries", "packet=pts_time,flags", "-show_packets")
    return [round(float(p["pts_time"]), 3) for p in packets["packets"] if "K" in p["flags"]]


def decoded_frames(path: Path) -> tuple[int, str]:
    """Frames FFmpeg decodes from the file, and what it complained of (empty when nothing)."""
    result = subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-map",
            "0:v",
            "-f",
            "framemd5",
            "-",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    frames = [line for line in result.stdout.splitlines() if line and not line.startswith("#")]
    return len(frames), result.stderr.strip()


def expand(template: str, representation: str, number: int) -> str:
    """A DASH SegmentTemplate name, e.g. seg-$RepresentationID$-$Number%05d$.m4s."""
    width = re.search(r"\$Number%0(\d)d\$", template)
    name = re.sub(r"\$Number(%0\d+d)?\$", f"{number:0{width[1] if width else 1}d}", template)
    return name.replace("$RepresentationID$", representation)


def psnr(rendition: Path, source: Path, width: int, height: int) -> float:
    """PSNR of a rendition against the source scaled to the rendition's size (FFmpeg's psnr filter)."""
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
def landscape(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """854x480, 4 s, with audio and a hard scene cut at 2.4 s (mid-segment), 1 s segments."""
    work = tmp_path_factory.mktemp("landscape")
    source = make_source(work / "src.mp4", size="854x480", seconds=4, scene_cut_at=2.4)
    out = work / "out"
    progress: list[float] = []
    result = package_source(source, out, config=ONE_SECOND, speed="fast", on_progress=progress.append)
    assert progress[-1] == 100.0 and progress == sorted(progress)  # progress only grows, ends at 100
    return source, out, result


def test_every_rendition_has_its_codec_size_and_duration(landscape: Packaged) -> None:
    _, out, result = landscape
    assert [r.rung.name for r in result.renditions] == ["360p", "480p"]
    assert {r.encoder for r in result.renditions} == {"libx264"}  # no NVENC on this machine
    for r in result.renditions:
        rendition = joined(out, r.init, r.segments, out / f"check-{r.rung.name}.mp4")
        info = ffprobe(rendition, "-show_streams", "-show_format")
        [video] = [s for s in info["streams"] if s["codec_type"] == "video"]
        assert video["codec_name"] == "h264"
        assert (video["width"], video["height"]) == (r.rung.width, r.rung.height)
        assert video["pix_fmt"] == "yuv420p"
        assert abs(float(info["format"]["duration"]) - 4.0) < 0.3


def test_keyframes_are_at_segment_boundaries_only_and_the_same_in_every_rendition(
    landscape: Packaged,
) -> None:
    _, out, result = landscape
    times = [
        keyframe_times(joined(out, r.init, r.segments, out / f"k-{r.rung.name}.mp4"))
        for r in result.renditions
    ]
    assert times[0] == [0.0, 1.0, 2.0, 3.0]  # one per segment, none at the scene cut (2.4 s)
    assert all(t == times[0] for t in times)


def test_every_segment_decodes_on_its_own(landscape: Packaged) -> None:
    """What a player switching renditions does: init segment + any one media segment."""
    _, out, result = landscape
    for r in result.renditions:
        for n, segment in enumerate(r.segments):
            frames, errors = decoded_frames(joined(out, r.init, (segment,), out / "one.mp4"))
            assert (frames, errors) == (25, ""), f"{r.rung.name} segment {n}"


def test_each_rendition_looks_like_the_source(landscape: Packaged) -> None:
    source, out, result = landscape
    for r in result.renditions:
        rendition = joined(out, r.init, r.segments, out / f"p-{r.rung.name}.mp4")
        assert psnr(rendition, source, r.rung.width, r.rung.height) > 30.0, r.rung.name


def test_hls_playlists_parse_and_every_segment_they_name_exists(landscape: Packaged) -> None:
    _, out, result = landscape
    master = m3u8.load(str(out / result.hls_master))
    assert len(master.playlists) == 2 and len(master.media) == 1
    named: set[str] = set()
    for uri in [p.uri for p in master.playlists] + [m.uri for m in master.media]:
        playlist = m3u8.load(str(out / uri))
        assert playlist.is_endlist and playlist.target_duration <= SEGMENT_S + 1
        assert abs(sum(s.duration for s in playlist.segments) - 4.0) < 0.1
        named |= {playlist.segment_map[0].uri} | {s.uri for s in playlist.segments}
    assert all((out / name).is_file() for name in named)
    for playlist, rendition in zip(master.playlists, result.renditions, strict=True):
        info = playlist.stream_info
        assert info.average_bandwidth <= info.bandwidth
        assert info.resolution == (rendition.rung.width, rendition.rung.height)
        assert info.codecs.startswith("avc1.") and info.codecs.endswith(",mp4a.40.2")
        assert info.frame_rate == 25.0 and info.audio == "audio"


def test_the_mpd_names_the_same_segment_files_as_hls(landscape: Packaged) -> None:
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


def test_poster_storyboard_and_track_are_made(landscape: Packaged) -> None:
    _, out, result = landscape
    assert result.thumbnails == ("poster.jpg", "storyboard-1.jpg", "storyboard.vtt")
    poster = ffprobe(out / "poster.jpg", "-show_streams")["streams"][0]
    assert poster["width"] == 854
    sheet = ffprobe(out / "storyboard-1.jpg", "-show_streams")["streams"][0]
    assert (sheet["width"], sheet["height"]) == (4 * 160, 90)  # the 4 tiles of a 4 s video, 160x90 each
    vtt = (out / "storyboard.vtt").read_text()
    assert vtt.count("storyboard-1.jpg#xywh=") == 4
    assert not (out / "storyboard-tiles").exists()  # the single tiles are laid out and gone


def vtt_cues(vtt: str) -> list[tuple[str, int, int, int, int]]:
    """(sheet, x, y, w, h) of every cue of a storyboard track."""
    found = re.findall(r"^(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", vtt, re.MULTILINE)
    return [(name, int(x), int(y), int(w), int(h)) for name, x, y, w, h in found]


def mean_luma(image: Path, crop: tuple[int, int, int, int] | None = None) -> float:
    """The average Y (16 black .. 235 white) of an image, or of the x, y, w, h rectangle of it."""
    chain = "" if crop is None else "crop={2}:{3}:{0}:{1},".format(*crop)
    result = subprocess.run(
        ["ffmpeg", "-hide_banner", "-i", str(image), "-vf", f"{chain}signalstats,metadata=print",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"lavfi\.signalstats\.YAVG=([0-9.]+)", result.stdout + result.stderr)
    assert match, result.stderr[-500:]
    return float(match[1])


@pytest.mark.parametrize("seconds", [8.0, 13.0])
def test_a_storyboard_sheet_holds_pictures_not_black_and_every_cue_points_inside_it(
    tmp_path: Path, seconds: float
) -> None:
    """An 8 s video drew its 8 tiles on a sheet laid out for 100: 92 % of it was black."""
    source = make_source(tmp_path / "src.mp4", size="640x360", seconds=seconds, audio=False)
    out = tmp_path / "out"
    result = package_source(source, out, speed="fast")
    [sheet_name] = [name for name in result.thumbnails if name.startswith("storyboard-")]
    sheet = ffprobe(out / sheet_name, "-show_streams")["streams"][0]
    cues = vtt_cues((out / "storyboard.vtt").read_text())
    tiles = int(seconds)
    assert len(cues) == tiles
    columns = min(10, tiles)
    assert (sheet["width"], sheet["height"]) == (columns * 160, -(-tiles // columns) * 90)
    for name, x, y, w, h in cues:
        assert name == sheet_name
        assert x + w <= sheet["width"] and y + h <= sheet["height"]
        assert mean_luma(out / name, (x, y, w, h)) > 40, (x, y)  # testsrc2: a picture, not black (16)
    if tiles <= 10:
        assert mean_luma(out / sheet_name) > 40  # and no black margin around them


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("360x640", [("360p", 360, 640)]),  # vertical
        # odd ratio, just under 720p: no 720p upscale, but its own size rather than topping out at 480p
        ("1278x718", [("360p", 640, 360), ("480p", 854, 480), ("718p", 1278, 718)]),
        ("638x358", [("358p", 638, 358)]),  # smaller than the smallest rung: its own size
    ],
)
def test_vertical_and_odd_sources(tmp_path: Path, size: str, expected: list[tuple[str, int, int]]) -> None:
    source = make_source(tmp_path / "src.mp4", size=size, seconds=1, audio=False)
    result = package_source(source, tmp_path / "out", config=ONE_SECOND, speed="fast")
    assert [(r.rung.name, r.rung.width, r.rung.height) for r in result.renditions] == expected
    assert result.audio_playlist is None and not result.audio_files  # no audio track, no audio group
    assert "#EXT-X-MEDIA" not in (tmp_path / "out" / result.hls_master).read_text()
    for r in result.renditions:
        rendition = joined(tmp_path / "out", r.init, r.segments, tmp_path / f"{r.rung.name}.mp4")
        [video] = ffprobe(rendition, "-show_streams")["streams"]
        assert (video["width"], video["height"]) == (r.rung.width, r.rung.height)


def test_a_rotated_phone_video_is_laddered_and_encoded_upright(tmp_path: Path) -> None:
    stored = make_source(tmp_path / "stored.mp4", size="320x180", seconds=1, audio=False)
    source = rotated(stored, tmp_path / "rotated.mp4")  # shown as 180x320
    result = package_source(source, tmp_path / "out", config=ONE_SECOND, speed="fast")
    assert result.source.rotation == 270 and (result.source.width, result.source.height) == (180, 320)
    [r] = result.renditions
    rendition = joined(tmp_path / "out", r.init, r.segments, tmp_path / "r.mp4")
    [video] = ffprobe(rendition, "-show_streams")["streams"]
    assert (video["width"], video["height"]) == (180, 320)
    assert not video.get("side_data_list")  # turned by FFmpeg, no display matrix left to apply


def test_a_10_bit_source_becomes_8_bit(tmp_path: Path) -> None:
    source = make_source(
        tmp_path / "src.mkv", size="640x360", seconds=1, extra=("-c:v", "ffv1", "-pix_fmt", "yuv420p10le")
    )
    result = package_source(source, tmp_path / "out", config=ONE_SECOND, speed="fast")
    assert result.source.bit_depth == 10
    [r] = result.renditions
    rendition = joined(tmp_path / "out", r.init, r.segments, tmp_path / "r.mp4")
    assert ffprobe(rendition, "-show_streams")["streams"][0]["pix_fmt"] == "yuv420p"


def test_a_one_second_clip_is_one_segment(tmp_path: Path) -> None:
    source = make_source(tmp_path / "src.mp4", size="640x360", seconds=1)
    result = package_source(source, tmp_path / "out", config=ONE_SECOND, speed="fast")
    [r] = result.renditions
    assert len(r.segments) == 1 and result.source.duration_s == pytest.approx(1.0, abs=0.1)
    playlist = m3u8.load(str(tmp_path / "out" / r.playlist))
    assert [s.uri for s in playlist.segments] == list(r.segments)


def rate_bps(out: Path, playlist_name: str) -> float:
    """Bits per second of a stream: its segments' bytes over the durations its playlist gives them."""
    playlist = m3u8.load(str(out / playlist_name))
    size = sum((out / s.uri).stat().st_size for s in playlist.segments)
    return float(size * 8 / sum(s.duration for s in playlist.segments))


def test_a_clip_shorter_than_a_segment_says_the_bitrate_it_really_has(tmp_path: Path) -> None:
    """A 1 s 1080p clip in 4 s segments said 1.4 Mbps in its master playlist; its video ran at 5.1."""
    source = make_source(tmp_path / "src.mp4", size="1920x1080", seconds=1)
    out = tmp_path / "out"
    result = package_source(source, out, rungs=[RUNG_1080], speed="fast")  # 4 s segments
    [r] = result.renditions
    video_bps, audio_bps = rate_bps(out, r.playlist), rate_bps(out, result.audio_playlist or "")
    assert r.peak_bps == pytest.approx(video_bps, rel=0.01)
    assert r.average_bps == pytest.approx(video_bps, rel=0.01)
    [variant] = m3u8.load(str(out / result.hls_master)).playlists
    assert variant.stream_info.bandwidth == pytest.approx(video_bps + audio_bps, rel=0.01)
    assert variant.stream_info.average_bandwidth == pytest.approx(video_bps + audio_bps, rel=0.01)
    mpd = (out / result.dash_manifest).read_text()
    bandwidths = [int(b) for b in re.findall(r'<Representation[^>]*\bbandwidth="(\d+)"', mpd)]
    assert bandwidths == [pytest.approx(video_bps, rel=0.01), pytest.approx(audio_bps, rel=0.01)]


def test_no_adaptation_set_of_the_mpd_claims_bitstream_switching(landscape: Packaged) -> None:
    """Every representation has its own init segment, so a player must not reuse one for another."""
    _, out, result = landscape
    mpd = (out / result.dash_manifest).read_text()
    assert "<AdaptationSet" in mpd and "bitstreamSwitching" not in mpd


@pytest.mark.parametrize("seconds", [8.0, 12.0, 7.98, 8.04])
def test_no_playlist_ends_in_a_sliver_and_playlists_add_up_to_the_media(
    tmp_path: Path, seconds: float
) -> None:
    """A length within a frame of a multiple of the segment duration ended the audio (8 s: one AAC frame,
    23 ms) or the video (8.04 s: one frame) in a sliver segment, where hls.js stalls and never ends."""
    source = make_source(tmp_path / "src.mp4", size="320x180", seconds=seconds)
    out = tmp_path / "out"
    result = package_source(source, out, speed="fast")  # the default 4 s segments
    assert result.segment_duration_s == 4.0
    streams = [(r.playlist, r.init) for r in result.renditions]
    streams += [(result.audio_playlist or "", result.audio_files[0])]
    mpd = MPEGDASHParser.parse(str(out / result.dash_manifest))
    timelines = {
        rep.id: rep.segment_templates[0]
        for adaptation in mpd.periods[0].adaptation_sets
        for rep in adaptation.representations
    }
    for index, (playlist_name, init) in enumerate(streams):
        playlist = m3u8.load(str(out / playlist_name))
        durations = [s.duration for s in playlist.segments]
        assert durations[-1] >= 0.5, (playlist_name, durations)
        assert all(round(d) <= playlist.target_duration for d in durations)
        media = joined(out, init, tuple(s.uri for s in playlist.segments), tmp_path / f"all-{index}.mp4")
        packaged = float(ffprobe(media, "-show_format")["format"]["duration"])
        assert sum(durations) == pytest.approx(packaged, abs=0.03), playlist_name
        assert packaged == pytest.approx(seconds, abs=0.05)
        frames, errors = decoded_frames(media) if index < len(result.renditions) else (1, "")
        assert frames > 0 and errors == ""
        template = timelines[str(index)]  # the MPD lists the same segments with the same durations
        timeline = [s.d for s in template.segment_timelines[0].Ss for _ in range(1 + (s.r or 0))]
        assert [d / template.timescale for d in timeline] == pytest.approx(durations, abs=0.001)


@pytest.mark.parametrize(
    ("codec", "codec_name", "hls_codec"),
    [(VideoCodec.H265, "hevc", "hvc1"), (VideoCodec.VP9, "vp9", "vp09"), (VideoCodec.AV1, "av1", "av01")],
)
def test_h265_vp9_and_av1_keep_keyframes_aligned_through_a_scene_cut(
    tmp_path: Path, codec: VideoCodec, codec_name: str, hls_codec: str
) -> None:
    source = make_source(tmp_path / "src.mp4", size="640x360", seconds=2, scene_cut_at=1.4)
    rungs = [
        Rung(name=f"{h}p", codec=codec, width=w, height=h, bitrate_kbps=300, frame_rate=25.0)
        for w, h in ((320, 180), (640, 360))
    ]
    out = tmp_path / "out"
    result = package_source(source, out, rungs=rungs, config=ONE_SECOND, speed="fast", encoder="cpu")
    for r in result.renditions:
        rendition = joined(out, r.init, r.segments, tmp_path / f"{r.rung.name}.mp4")
        [video] = ffprobe(rendition, "-show_streams", "-select_streams", "v")["streams"]
        assert (video["codec_name"], video["width"]) == (codec_name, r.rung.width)
        assert keyframe_times(rendition) == [0.0, 1.0], r.rung.name  # none at the cut (1.4 s)
        for segment in r.segments:
            assert decoded_frames(joined(out, r.init, (segment,), tmp_path / "one.mp4")) == (25, "")
    # full RFC 6381 strings (hvc1.1.6.L60.90, not FFmpeg's bare hvc1), the same in the MPD and the master,
    # and fragmented MP4 for every codec (FFmpeg's default would put VP9 in WebM, which HLS cannot play)
    master = m3u8.load(str(out / result.hls_master))
    in_master = {p.stream_info.codecs.split(",")[0] for p in master.playlists}
    mpd = MPEGDASHParser.parse(str(out / result.dash_manifest))
    video = [r for a in mpd.periods[0].adaptation_sets for r in a.representations if r.id in {"0", "1"}]
    assert {r.codecs for r in video} == in_master  # one string per level: 180p and 360p differ
    for full in in_master:
        assert full.startswith(f"{hls_codec}.") and full.count(".") >= 3, full
    assert {r.mime_type for r in video} == {"video/mp4"}
    assert all(head[4:8] == b"ftyp" for head in ((out / r.init).read_bytes()[:8] for r in result.renditions))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "ffprobe cannot read the source"),
        (b"this is a text file, not a video\n" * 50, "ffprobe cannot read the source: .*Invalid data"),
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


def test_a_truncated_upload_that_still_probes_is_a_source_error_with_ffmpegs_reason(tmp_path: Path) -> None:
    """With the index at the front (faststart) the half file probes at 4 s and FFmpeg exits 0 at 2 s."""
    whole = make_source(
        tmp_path / "src.mp4",
        size="320x180",
        seconds=4,
        extra=("-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"),
    ).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(SourceError, match=r"ends after [0-9.]+ s of the 4.0 s .*(partial file|Invalid)"):
        package_source(cut, tmp_path / "out", config=ONE_SECOND, speed="fast")


def test_an_audio_only_file_is_refused(tmp_path: Path) -> None:
    audio = tmp_path / "a.m4a"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
        check=True,
    )
    with pytest.raises(SourceError, match="no video stream"):
        package_source(audio, tmp_path / "out", speed="fast")


def test_a_playlist_handed_to_the_transcoder_is_refused_and_nothing_it_names_is_read(tmp_path: Path) -> None:
    secret = make_source(
        tmp_path / "secret.ts", size="160x90", seconds=1, audio=False,
        extra=("-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts"),
    )  # fmt: skip
    out = tmp_path / "out"
    with ConnectionSpy() as spy:
        playlist = tmp_path / "source"  # the worker's copy of the upload: no extension to go by
        playlist.write_text(
            f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{secret}\n#EXTINF:1,\n{spy.url()}\n#EXT-X-ENDLIST\n"
        )
        with pytest.raises(SourceError, match=r"an HLS playlist \(hls\)"):
            package_source(playlist, out, speed="fast")
        listing = tmp_path / "listing"
        listing.write_text(f"ffconcat version 1.0\nfile '{secret}'\nfile '{spy.url()}'\n")
        with pytest.raises(SourceError, match=r"a concat list \(concat\)"):
            package_source(listing, out, speed="fast")
        assert spy.connections == 0
    assert not out.exists() or not any(out.iterdir())  # not a frame of the named files was encoded


def test_progress_moves_while_ffmpeg_encodes_not_only_at_the_end(tmp_path: Path) -> None:
    """The storyboard's ``tile`` filter (and the poster, a third of the way in) held back FFmpeg's first
    progress report until the end: the catalog showed no progress, then 93 %."""
    source = make_source(tmp_path / "src.mp4", size="1280x720", seconds=24, audio=False)
    seen: list[tuple[float, float]] = []
    started = time.monotonic()
    package_source(
        source,
        tmp_path / "out",
        speed="fast",
        on_progress=lambda pct: seen.append((time.monotonic() - started, pct)),
    )
    wall = time.monotonic() - started
    early = [pct for at, pct in seen if at < wall / 2]
    assert early and 0 < max(early) < 90, (wall, seen)
    assert len({pct for _, pct in seen}) >= 4  # a moving number, not a jump
