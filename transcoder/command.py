"""The FFmpeg command of a job, built with ffmpeg-python and never run here. Pure.

One process decodes the source once, splits the picture to every rung
(``split``), scales each with square pixels and 8-bit 4:2:0 (what every
player decodes, whatever the source's depth), encodes the audio once, and
hands everything to the DASH muxer, which writes fragmented-MP4 (CMAF)
segments once plus the MPD and, with ``hls_playlist``, one HLS media
playlist per stream over the *same* segments. Keyframes are forced at every
segment boundary in every rendition (``force_key_frames``), so the segments
of all renditions start at the same timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from transcoder.ladder import Rung
from transcoder.profiles import Speed, audio_options, video_options

__all__ = [
    "DASH_MANIFEST",
    "PackagingPlan",
    "adaptation_sets",
    "build_package_command",
    "build_plain_command",
    "init_segment",
    "media_playlist",
]

DASH_MANIFEST = "manifest.mpd"
PROGRESS_ARGS = ("-nostats", "-progress", "pipe:1", "-loglevel", "error")


@dataclass(frozen=True, kw_only=True)
class PackagingPlan:
    rungs: tuple[Rung, ...]
    encoders: tuple[str, ...]  # one per rung
    has_audio: bool
    segment_duration_s: float
    display_width: int  # the source's picture as displayed: its aspect ratio is every rendition's
    display_height: int
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
    streams = _encoded_streams(source, plan)
    options = _encoding_options(plan) | {
        "f": "dash",
        "seg_duration": _seconds(plan.segment_duration_s),
        "use_template": "1",
        "use_timeline": "0",  # fixed-duration segments: $Number$ addressing, no timeline
        "hls_playlist": "1",  # HLS media playlists over the same fMP4 segments
        "adaptation_sets": adaptation_sets(plan),
        "init_seg_name": "init-$RepresentationID$.m4s",
        "media_seg_name": "seg-$RepresentationID$-$Number%05d$.m4s",
        "write_prft": "0",
    }
    output = ffmpeg.output(*streams, str(outdir / DASH_MANIFEST), **options)
    return list(output.global_args(*PROGRESS_ARGS).overwrite_output().get_args())


def build_plain_command(source: Path, outdir: Path, plan: PackagingPlan) -> list[str]:
    """The same encode into plain MP4 files, no packaging: the benchmark's baseline."""
    streams = _encoded_streams(source, plan)
    outputs = []
    for index, stream in enumerate(streams[: len(plan.rungs)]):
        opts = {
            k.replace(f"v:{index}", "v"): v for k, v in _encoding_options(plan).items() if f"v:{index}" in k
        }
        outputs.append(ffmpeg.output(stream, str(outdir / f"plain-{index}.mp4"), **opts, **_force_keys(plan)))
    if plan.has_audio:
        outputs.append(ffmpeg.output(streams[-1], str(outdir / "plain-audio.m4a"), **audio_options()))
    return list(ffmpeg.merge_outputs(*outputs).global_args(*PROGRESS_ARGS).overwrite_output().get_args())


def _encoded_streams(source: Path, plan: PackagingPlan) -> list[ffmpeg.nodes.FilterableStream]:
    src = ffmpeg.input(str(source))
    video = src.video
    rate = plan.rungs[0].frame_rate
    video = video.filter("fps", fps=rate)  # constant frame rate: the GOP length is exact
    count = len(plan.rungs)
    split = video.filter_multi_output("split", count) if count > 1 else None
    # Even dimensions cannot all keep the exact source ratio (854x480 vs 640x360); every rendition
    # declares the source's display aspect ratio instead, so players (and the DASH muxer, which
    # requires one ratio per adaptation set) show them alike.
    dar = f"{plan.display_width}/{plan.display_height}"
    outs = []
    for index, rung in enumerate(plan.rungs):
        branch = split.stream(index) if split is not None else video
        outs.append(
            branch.filter("scale", rung.width, rung.height).filter("setdar", dar).filter("format", "yuv420p")
        )
    return [*outs, src.audio] if plan.has_audio else outs


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


def _rung_options(plan: PackagingPlan, index: int, *, stream_index: int) -> dict[str, str]:
    rung, encoder = plan.rungs[index], plan.encoders[index]
    gop = max(1, round(plan.segment_duration_s * rung.frame_rate))
    return video_options(
        encoder, stream_index, bitrate_kbps=rung.bitrate_kbps, gop_frames=gop, speed=plan.speed
    )


def _force_keys(plan: PackagingPlan) -> dict[str, str]:
    return {"force_key_frames:v": f"expr:gte(t,n_forced*{_seconds(plan.segment_duration_s)})"}


def _seconds(value: float) -> str:
    return f"{value:g}"
