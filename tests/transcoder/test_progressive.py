"""A progressive package: the lowest rung first, then the rest joined to the same manifests."""

from __future__ import annotations

from pathlib import Path

import m3u8
import pytest
from mpegdash.parser import MPEGDASHParser

from schemas.transcode_requested import VideoCodec
from tests.transcoder.test_package import decoded_frames, joined, keyframe_times, make_source
from transcoder.ladder import LadderConfig, Rung
from transcoder.package import PackageResult
from transcoder.probe import ProbedSource
from transcoder.progressive import LATER, first_share, package_progressively, split_first


def rung(name: str, codec: VideoCodec, width: int, height: int) -> Rung:
    return Rung(name=name, codec=codec, width=width, height=height, bitrate_kbps=height * 4, frame_rate=25.0)


H264 = [rung(f"{h}p", VideoCodec.H264, h * 16 // 9, h) for h in (720, 360, 1080)]


def test_the_first_codecs_smallest_rung_goes_first() -> None:
    first, rest = split_first(H264)
    assert first.name == "360p" and [r.name for r in rest] == ["720p", "1080p"]
    vp9_first = [rung("240p-vp9", VideoCodec.VP9, 426, 240), *H264]
    first, rest = split_first(vp9_first)
    assert first.name == "240p-vp9" and len(rest) == 3
    first, rest = split_first(H264[1:2])
    assert first.name == "360p" and rest == ()


def test_the_first_part_is_a_small_share_of_a_1080p_ladder() -> None:
    source = ProbedSource(
        duration_s=60, width=1920, height=1080, frame_rate=25, pix_fmt="yuv420p", has_audio=True,
        video_codec="h264",
    )  # fmt: skip
    first, rest = split_first(H264)
    assert 0.1 < first_share(first, rest, source) < 0.3
    assert first_share(first, rest, source) < first_share(first, rest[:1], source)  # less left, bigger share


@pytest.fixture(scope="module")
def progressive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PackageResult, list[PackageResult]]:
    work = tmp_path_factory.mktemp("progressive")
    source = make_source(work / "src.mp4", size="1280x720", seconds=3, scene_cut_at=1.4)
    out = work / "out"
    firsts: list[PackageResult] = []

    def first(head: PackageResult) -> None:
        firsts.append(head)
        # at this moment the folder is a complete package of the lowest rung and the audio
        master = m3u8.load(str(out / head.hls_master))
        assert [p.uri for p in master.playlists] == [head.renditions[0].playlist]
        assert all((out / s).is_file() for s in head.renditions[0].segments)

    progress: list[float] = []
    result = package_progressively(
        source, out, on_first=first, config=LadderConfig(segment_duration_s=1.0), speed="fast",
        on_progress=progress.append,
    )  # fmt: skip
    assert progress == sorted(progress) and progress[-1] == 100.0
    return out, result, firsts


def test_the_whole_ladder_ends_in_one_folder_one_master_and_one_mpd(
    progressive: tuple[Path, PackageResult, list[PackageResult]],
) -> None:
    out, result, firsts = progressive
    assert [r.rung.name for r in firsts[0].renditions] == ["360p"]
    assert [r.rung.name for r in result.renditions] == ["360p", "480p", "720p"]
    assert not (out / LATER).exists()
    master = m3u8.load(str(out / result.hls_master))
    assert [p.uri for p in master.playlists] == [r.playlist for r in result.renditions]
    assert [m.uri for m in master.media] == [result.audio_playlist]
    mpd = MPEGDASHParser.parse(str(out / result.dash_manifest))
    [video, audio] = mpd.periods[0].adaptation_sets
    ids = [rep.id for rep in video.representations]
    assert ids == ["0", "2", "3"] and [rep.id for rep in audio.representations] == ["1"]
    assert (video.max_width, video.max_height) == (1280, 720)
    on_disk = {p.name for p in out.glob("*.m4s")}
    named = {r.init for r in result.renditions} | {s for r in result.renditions for s in r.segments}
    assert named | set(result.audio_files) == on_disk
    for rep in video.representations:
        template = rep.segment_templates[0]
        count = sum(1 + (s.r or 0) for s in template.segment_timelines[0].Ss)
        assert (out / template.initialization.replace("$RepresentationID$", rep.id)).is_file()
        assert count == 3


def test_renditions_of_both_parts_switch_at_the_same_keyframes_and_decode_segment_by_segment(
    progressive: tuple[Path, PackageResult, list[PackageResult]],
) -> None:
    """Two FFmpeg processes, one cut: the forced keyframes fall on the same frames in both."""
    out, result, _ = progressive
    times = [
        keyframe_times(joined(out, r.init, r.segments, out / f"k-{r.rung.name}.mp4"))
        for r in result.renditions
    ]
    assert times[0] == [0.0, 1.0, 2.0] and all(t == times[0] for t in times)
    for r in result.renditions:
        for segment in r.segments:
            assert decoded_frames(joined(out, r.init, (segment,), out / "one.mp4")) == (25, "")
