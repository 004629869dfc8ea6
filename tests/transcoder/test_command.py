from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from schemas.transcode_requested import VideoCodec
from transcoder.command import (
    PackagingPlan,
    ThumbnailPlan,
    adaptation_sets,
    build_package_command,
    build_plain_command,
    build_sheet_command,
)
from transcoder.encoders import CPU_ENCODERS
from transcoder.ladder import Rung
from transcoder.thumbnails import plan_storyboard, sheet_layouts

Builder = Callable[[Path, Path, PackagingPlan], list[str]]


def plan(*codecs: VideoCodec, audio: bool = True) -> PackagingPlan:
    rungs = tuple(
        Rung(
            name=f"{h}p-{c.value}",
            codec=c,
            width=h * 16 // 9 // 2 * 2,
            height=h,
            bitrate_kbps=h * 2,
            frame_rate=25,
        )
        for c in codecs
        for h in (360, 720)
    )
    return PackagingPlan(
        rungs=rungs,
        encoders=tuple(CPU_ENCODERS[r.codec] for r in rungs),
        has_audio=audio,
        segment_duration_s=4.0,
        display_width=1920,
        display_height=1080,
        source_format="mov",
    )


def test_one_input_one_split_every_rung_and_the_audio_once() -> None:
    args = build_package_command(Path("in.mp4"), Path("out"), plan(VideoCodec.H264))
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert "split=2" in graph and graph.count("scale=") == 2 and "setdar=1920/1080" in graph
    assert args.count("-map") == 3 and "0:a" in args
    output = args[args.index("-i") :]
    assert output[output.index("-f") + 1] == "dash" and args[-1] == "-y"
    assert args[args.index("-dash_segment_type") + 1] == "mp4"  # CMAF for every codec, VP9 included
    assert args[args.index("-hls_playlist") + 1] == "1"  # HLS playlists over the same segments


@pytest.mark.parametrize("codec", list(VideoCodec))
def test_every_codec_gets_a_fixed_gop_and_no_scene_cut_keyframes(codec: VideoCodec) -> None:
    args = build_package_command(Path("in.mp4"), Path("out"), plan(codec))
    joined = " ".join(args)
    assert "-force_key_frames:v expr:gte(t,n_forced*4)" in joined
    assert "-g:v:0 100" in joined and "-g:v:1 100" in joined  # 4 s at 25 fps
    assert "-keyint_min:v:1 100" in joined
    scene_cut_off = {
        VideoCodec.H264: "scenecut=0",
        VideoCodec.H265: "scenecut=0",
        VideoCodec.VP9: "-deadline:v:1 good",  # libvpx's realtime mode forces keyframes at scene cuts
        VideoCodec.AV1: "scd=0",
    }
    assert scene_cut_off[codec] in joined


def test_each_codec_gets_its_own_adaptation_set_and_audio_its_own() -> None:
    assert (
        adaptation_sets(plan(VideoCodec.H264, VideoCodec.VP9))
        == "id=0,streams=0,1 id=1,streams=2,3 id=2,streams=4"
    )
    assert adaptation_sets(plan(VideoCodec.H264, audio=False)) == "id=0,streams=0,1"


def test_thumbnails_are_two_more_branches_of_the_same_decode() -> None:
    board = plan_storyboard(60.0, 1920, 1080)
    thumbs = ThumbnailPlan(
        poster="poster.jpg",
        poster_at_s=20.0,
        poster_width=1280,
        tile_pattern="tiles/t-%05d.png",
        storyboard=board,
    )
    args = build_package_command(
        Path("in.mp4"), Path("out"), replace(plan(VideoCodec.H264), thumbnails=thumbs)
    )
    assert args.count("-i") == 1
    graph = args[args.index("-filter_complex") + 1]
    assert "split=4" in graph  # two rungs, the poster and the storyboard
    assert r"select=eq(n\,0)+eq(n\,500)" in graph  # the first frame, then the one at 20 s (25 fps)
    assert "out/manifest.mpd" in args and "out/poster.jpg" in args and "out/tiles/t-%05d.png" in args


def test_every_output_gets_a_frame_at_once_so_progress_is_reported_from_the_start() -> None:
    """FFmpeg writes no ``-progress`` block until every output has its header, written on its first
    frame: an output whose first frame comes late (a tile filter filling a sheet, a poster at a third
    of the video) holds back the job's progress until then."""
    board = plan_storyboard(60.0, 1920, 1080)
    thumbs = ThumbnailPlan(
        poster="poster.jpg", poster_at_s=20.0, poster_width=1280, tile_pattern="t-%05d.png", storyboard=board
    )
    args = build_package_command(
        Path("in.mp4"), Path("out"), replace(plan(VideoCodec.H264), thumbnails=thumbs)
    )
    graph = args[args.index("-filter_complex") + 1]
    assert "tile=" not in graph and "trim=" not in graph
    assert "eq(n\\,0)" in graph  # the poster branch lets the first frame through
    poster = args[: args.index("out/poster.jpg")]
    assert poster[-poster[::-1].index("-update") :][0] == "1"  # each frame replaces the file


def test_a_sprite_sheet_is_laid_out_from_the_tiles_drawn() -> None:
    board = plan_storyboard(130.0, 1920, 1080)
    [_, rest] = sheet_layouts(board, 130)
    args = build_sheet_command(Path("out/tiles/t-%05d.png"), rest, Path("out/storyboard-2.jpg"))
    assert args[args.index("-start_number") + 1] == "100"
    assert "tile=10x3" in args[args.index("-filter_complex") + 1]
    assert "out/storyboard-2.jpg" in args


def test_every_rendition_is_8_bit_4_2_0_at_one_constant_rate() -> None:
    graph = build_package_command(Path("in.mp4"), Path("out"), plan(VideoCodec.H264))
    filters = graph[graph.index("-filter_complex") + 1]
    assert filters.count("format=yuv420p") == 2  # whatever the source's depth
    assert filters.count("fps=fps=25") == 1  # once, before the split: the same frames for every rung


def test_the_benchmarks_plain_command_is_the_same_encode_without_packaging() -> None:
    args = build_plain_command(Path("in.mp4"), Path("out"), plan(VideoCodec.H264))
    assert "dash" not in args and "-hls_playlist" not in args
    assert [a for a in args if a.endswith((".mp4", ".m4a"))] == [
        "file:in.mp4", "out/plain-0.mp4", "out/plain-1.mp4", "out/plain-audio.m4a",
    ]  # fmt: skip
    assert args.count("-force_key_frames:v") == 2


@pytest.mark.parametrize("build", [build_package_command, build_plain_command])
def test_the_source_is_read_as_its_probed_container_from_a_local_file_only(build: Builder) -> None:
    args = build(Path("in.mp4"), Path("out"), plan(VideoCodec.H264))
    assert args.count("-i") == 1
    source = args[: args.index("-i") + 2]
    assert source[-1] == "file:in.mp4"  # never read as another protocol's URL
    assert source[source.index("-f") + 1] == "mov"  # the demuxer the probe found: no other is tried
    assert source[source.index("-protocol_whitelist") + 1] == "file"  # nothing it names over the network
    assert source[source.index("-rw_timeout") + 1] == "30000000"
