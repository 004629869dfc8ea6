"""The FFmpeg command of a job, built with ffmpeg-python and never run here. Pure.

One process decodes the source once, splits the picture to every rung
(``split``), scales each with square pixels and 8-bit 4:2:0 (what every
player decodes, whatever the source's depth), encodes the audio once, and
hands everything to the DASH muxer, which writes fragmented-MP4 (CMAF)
segments once plus the MPD and, with ``hls_playlist``, one HLS media
playlist per stream over the *same* segments. Keyframes are forced at every
segment boundary in every rendition (``force_key_frames``), so the segments
of all renditions start at the same timestamps. The source is read as the
container its probe found (``-f``, no format guessing a second time) from a
local file only (``-protocol_whitelist file``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from transcoder.ladder import Rung
from transcoder.probe import FILE_PROTOCOLS, READ_TIMEOUT_S, input_url
from transcoder.profiles import Speed, audio_options, video_options
from transcoder.thumbnails import SheetLayout, StoryboardPlan

__all__ = [
    "DASH_MANIFEST",
    "PackagingPlan",
    "ThumbnailPlan",
    "adaptation_sets",
    "build_package_command",
    "build_plain_command",
    "build_sheet_command",
    "init_segment",
    "media_playlist",
]

DASH_MANIFEST = "manifest.mpd"
PROGRESS_ARGS = ("-nostats", "-progress", "pipe:1", "-loglevel", "error")


@dataclass(frozen=True, kw_only=True)
class ThumbnailPlan:
    poster: str  # file names in the output folder
    poster_at_s: float
    poster_width: int
    tile_pattern: str  # one image per storyboard tile, e.g. tiles/tile-%04d.png; laid out into sheets after
    storyboard: StoryboardPlan


@dataclass(frozen=True, kw_only=True)
class PackagingPlan:
    rungs: tuple[Rung, ...]
    encoders: tuple[str, ...]  # one per rung
    has_audio: bool
    segment_duration_s: float
    thumbnails: ThumbnailPlan | None = None  # made by the same process: no second decode
    display_width: int  # the source's picture as displayed: its aspect ratio is every rendition's
    display_height: int
    source_format: str  # the demuxer the probe found (``ProbedSource.demuxer``): forced, never guessed
    speed: Speed = "balanced"


def media_playlist(stream_index: int) -> str:
    """The HLS media playlist FFmpeg's DASH muxer writes for output stream ``stream_index``."""
    return f"media_{stream_index}.m3u8"


def adaptation_sets(plan: PackagingPlan) -> str:
    """One DASH adaptation set per codec (a player switches within a set), audio in its own."""
    by_codec: dict[str, list[int]] = {}
    for index, rung in enumerate(plan.rungs):
        by_codec.setdefault(rung.codec.value, []).append(index)
    sets = [f"id={n},streams={','.join(map(str, idx))}" for n, idx in enumerate(by_codec.values())]
    if plan.has_audio:
        sets.append(f"id={len(sets)},streams={len(plan.rungs)}")
    return " ".join(sets)


def init_segment(stream_index: int) -> str:
    return f"init-{stream_index}.m4s"


def build_package_command(source: Path, outdir: Path, plan: PackagingPlan) -> list[str]:
    """Decode once, encode every rung, write CMAF segments + MPD + HLS media playlists into ``outdir``."""
    graph = _graph(source, plan)
    streams = graph.renditions + ([graph.audio] if graph.audio is not None else [])
    options = _encoding_options(plan) | {
        "f": "dash",
        "dash_segment_type": "mp4",  # fMP4 (CMAF) for all: "auto" puts VP9 in WebM, which HLS cannot play
        "seg_duration": _seconds(plan.segment_duration_s),
        "use_template": "1",
        # a timeline lists every segment's real duration: the last one is not a nominal 4 s, and the
        # muxer then cuts audio where its frames end instead of leaving a one-frame (23 ms) last segment
        "use_timeline": "1",
        "hls_playlist": "1",  # HLS media playlists over the same fMP4 segments
        "adaptation_sets": adaptation_sets(plan),
        "init_seg_name": "init-$RepresentationID$.m4s",
        "media_seg_name": "seg-$RepresentationID$-$Number%05d$.m4s",
        "write_prft": "0",
    }
    outputs = [ffmpeg.output(*streams, str(outdir / DASH_MANIFEST), **options)]
    if plan.thumbnails is not None and graph.poster is not None and graph.sprites is not None:
        poster = str(outdir / plan.thumbnails.poster)
        # two frames, the first one at once (see _graph), each replacing the file: the poster is the last
        poster_options = {"q:v": "3", "update": "1", "fps_mode": "passthrough"}
        outputs.append(ffmpeg.output(graph.poster, poster, **poster_options))
        tiles = str(outdir / plan.thumbnails.tile_pattern)
        outputs.append(ffmpeg.output(graph.sprites, tiles, start_number="0"))
    merged = ffmpeg.merge_outputs(*outputs)
    return list(merged.global_args(*PROGRESS_ARGS).overwrite_output().get_args())


def build_plain_command(source: Path, outdir: Path, plan: PackagingPlan) -> list[str]:
    """The same encode into plain MP4 files, no packaging: the benchmark's baseline."""
    graph = _graph(source, dataclasses.replace(plan, thumbnails=None))
    outputs = []
    for index, stream in enumerate(graph.renditions):
        opts = {
            k.replace(f"v:{index}", "v"): v for k, v in _encoding_options(plan).items() if f"v:{index}" in k
        }
        outputs.append(ffmpeg.output(stream, str(outdir / f"plain-{index}.mp4"), **opts, **_force_keys(plan)))
    if graph.audio is not None:
        outputs.append(ffmpeg.output(graph.audio, str(outdir / "plain-audio.m4a"), **audio_options()))
    return list(ffmpeg.merge_outputs(*outputs).global_args(*PROGRESS_ARGS).overwrite_output().get_args())


@dataclass(frozen=True)
class _Graph:
    renditions: list[ffmpeg.nodes.FilterableStream]
    audio: ffmpeg.nodes.FilterableStream | None
    poster: ffmpeg.nodes.FilterableStream | None
    sprites: ffmpeg.nodes.FilterableStream | None


def _graph(source: Path, plan: PackagingPlan) -> _Graph:
    """The one decode of the source, split into a branch per rung (and two for thumbnails)."""
    src = ffmpeg.input(
        input_url(source),
        f=plan.source_format,
        protocol_whitelist=",".join(FILE_PROTOCOLS),
        rw_timeout=str(round(READ_TIMEOUT_S * 1_000_000)),
    )
    video = src.video.filter("fps", fps=plan.rungs[0].frame_rate)  # constant rate: exact GOPs
    count = len(plan.rungs) + (2 if plan.thumbnails is not None else 0)
    split = video.filter_multi_output("split", count) if count > 1 else None

    def branch(index: int) -> ffmpeg.nodes.FilterableStream:
        return split.stream(index) if split is not None else video

    # Even dimensions cannot all keep the exact source ratio (854x480 vs 640x360); every rendition
    # declares the source's display aspect ratio instead, so players (and the DASH muxer, which
    # requires one ratio per adaptation set) show them alike.
    dar = f"{plan.display_width}/{plan.display_height}"
    renditions = [
        branch(i).filter("scale", r.width, r.height).filter("setdar", dar).filter("format", "yuv420p")
        for i, r in enumerate(plan.rungs)
    ]
    poster = sprites = None
    thumbs = plan.thumbnails
    if thumbs is not None:
        first = len(plan.rungs)
        frame = round(thumbs.poster_at_s * plan.rungs[0].frame_rate)  # the rate is constant after fps
        # FFmpeg reports no progress until every output has written its header, which an image output
        # does on its first frame: the poster branch passes the first frame too (overwritten by the
        # poster frame later), and the storyboard writes each tile as it comes, not whole sheets (a
        # ``tile`` filter would hold everything back until a sheet is full or the input ends). Only
        # the selected frames reach the scalers.
        poster = (
            branch(first).filter("select", f"eq(n,0)+eq(n,{frame})").filter("scale", thumbs.poster_width, -2)
        )
        board = thumbs.storyboard
        sprites = (
            branch(first + 1)
            .filter("fps", fps=f"1/{board.interval_s:g}")
            .filter("scale", board.tile_width, board.tile_height)
        )
    return _Graph(renditions, src.audio if plan.has_audio else None, poster, sprites)


def build_sheet_command(tile_pattern: Path, sheet: SheetLayout, target: Path) -> list[str]:
    """Lay tiles ``sheet.first`` .. out as one sprite sheet of ``sheet.columns`` x ``sheet.rows``."""
    tiles = ffmpeg.input(str(tile_pattern), f="image2", start_number=str(sheet.first), framerate="1")
    laid = tiles.filter("tile", f"{sheet.columns}x{sheet.rows}")
    output = ffmpeg.output(laid, str(target), update="1", **{"q:v": "5", "frames:v": "1"})
    return list(output.global_args(*PROGRESS_ARGS).overwrite_output().get_args())


def _encoding_options(plan: PackagingPlan) -> dict[str, str]:
    options: dict[str, str] = {}
    for index, (rung, encoder) in enumerate(zip(plan.rungs, plan.encoders, strict=True)):
        gop = max(1, round(plan.segment_duration_s * rung.frame_rate))
        options |= video_options(
            encoder, index, bitrate_kbps=rung.bitrate_kbps, gop_frames=gop, speed=plan.speed
        )
    if plan.has_audio:
        options |= audio_options()
    return options | _force_keys(plan)


def _force_keys(plan: PackagingPlan) -> dict[str, str]:
    return {"force_key_frames:v": f"expr:gte(t,n_forced*{_seconds(plan.segment_duration_s)})"}


def _seconds(value: float) -> str:
    return f"{value:g}"
