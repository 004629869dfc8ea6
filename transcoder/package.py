"""Transcode one source file into a folder: CMAF renditions, MPD, HLS playlists, poster, storyboard.

The local pipeline behind ``tubestream transcode`` and the first half of a
worker's job (the second half uploads the folder, see ``job.py``). Progress
goes 0..99 % for the one FFmpeg process (renditions and thumbnails) and the
rest for the master playlist.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from transcoder.command import (
    DASH_MANIFEST,
    PackagingPlan,
    ThumbnailPlan,
    build_package_command,
    build_sheet_command,
    init_segment,
    media_playlist,
)
from transcoder.encoders import choose_encoder
from transcoder.errors import SourceError
from transcoder.ladder import LadderConfig, Rung, plan_ladder
from transcoder.manifests import (
    AudioTrack,
    Variant,
    fold_mpd_tail,
    fold_short_tail,
    hls_master_playlist,
    media_playlist_duration_s,
    media_segments,
    mpd_codecs,
    mpd_max_segment_s,
    segment_bitrates,
    set_mpd_bandwidths,
    set_mpd_codecs,
    set_mpd_max_segment,
    tail_threshold_s,
    target_duration_s,
    thumbnails_vtt,
    without_bitstream_switching,
)
from transcoder.mp4 import hevc_codecs, join_fragments
from transcoder.probe import ProbedSource, probe_source
from transcoder.profiles import Speed
from transcoder.runner import run_ffmpeg
from transcoder.thumbnails import SheetLayout, StoryboardPlan, plan_storyboard, sheet_layouts, storyboard_cues

__all__ = [
    "HLS_MASTER",
    "PackageResult",
    "PackagedRendition",
    "check_complete",
    "encode_deadline_s",
    "fit_rungs",
    "master_playlist",
    "package_source",
]

HLS_MASTER = "master.m3u8"
POSTER = "poster.jpg"
STORYBOARD_VTT = "storyboard.vtt"
TILES = "storyboard-tiles"  # a scratch folder: one image per tile, laid out into sheets, then removed
TILE_PATTERN = f"{TILES}/tile-%05d.png"
# what a package consists of: removed before writing one, so no segment of an earlier run is counted
PACKAGE_FILES = (
    "init-*.m4s",
    "seg-*.m4s",
    "media_*.m3u8",
    "storyboard-*.jpg",
    DASH_MANIFEST,
    HLS_MASTER,
    POSTER,
    STORYBOARD_VTT,
)
ENCODE_SHARE = 99.0
DEFAULT_LADDER = LadderConfig()


@dataclass(frozen=True, kw_only=True)
class PackagedRendition:
    """One rendition as written: its files (names inside the folder) and its measured bitrates."""

    rung: Rung
    encoder: str
    playlist: str  # file names inside the folder
    init: str
    segments: tuple[str, ...]
    peak_bps: int  # measured on the segments written, over their real durations (HLS BANDWIDTH)
    average_bps: int  # every segment's bytes over the rendition's duration (HLS AVERAGE-BANDWIDTH)
    duration_s: float  # the media its playlist holds
    codecs: str = ""  # RFC 6381, as the master playlist and the MPD name it


@dataclass(frozen=True, kw_only=True)
class PackageResult:
    """Everything in the output folder, by file name: what the job uploads and the events describe."""

    source: ProbedSource
    renditions: tuple[PackagedRendition, ...]
    audio_playlist: str | None
    audio_files: tuple[str, ...]
    thumbnails: tuple[str, ...]  # poster, sprite sheets, VTT
    hls_master: str
    dash_manifest: str
    segment_duration_s: float
    audio: AudioTrack | None = None  # the master playlist's audio group
    poster: str | None = POSTER  # None when the package was made without thumbnails
    storyboard_vtt: str | None = STORYBOARD_VTT

    @property
    def duration_s(self) -> float:
        """How long the packaged video plays: its first rendition's playlist."""
        return self.renditions[0].duration_s if self.renditions else 0.0


def encode_deadline_s(duration_s: float) -> float:
    """How long the encode of a source may take before it is killed: 10 minutes plus 30x its length.

    Far beyond any honest encode on a CPU; it exists so that a process stuck on
    a stalled read or on a source built to be slow frees its worker.
    """
    return 600.0 + 30.0 * duration_s


def package_source(
    source_path: Path,
    out: Path,
    *,
    rungs: Sequence[Rung] | None = None,
    config: LadderConfig = DEFAULT_LADDER,
    encoder: str = "auto",
    speed: Speed = "balanced",
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
    probed: ProbedSource | None = None,
    with_audio: bool = True,
    with_thumbnails: bool = True,
) -> PackageResult:
    """Probe, plan (or fit the requested ``rungs`` to the source), encode once, write the master playlist.

    ``probed``: the source's probe when the caller has it already. ``with_audio`` /
    ``with_thumbnails`` off: a package of video renditions only (the later part of a
    progressive job, whose first part has them). ``SourceError`` when the source is not a
    video or ends early; ``FfmpegError`` when FFmpeg fails; ``JobCancelledError`` when
    ``cancel`` is set.
    """
    source = probed or probe_source(source_path)
    chosen = fit_rungs(rungs, source, config)
    encoders = tuple(choose_encoder(r.codec, encoder) for r in chosen)
    board = plan_storyboard(source.duration_s, source.width, source.height)
    has_audio = source.has_audio and with_audio
    thumbs = None
    if with_thumbnails:
        thumbs = ThumbnailPlan(
            poster=POSTER,
            poster_at_s=source.duration_s / 3,
            poster_width=min(1280, source.width - source.width % 2),
            tile_pattern=TILE_PATTERN,
            storyboard=board,
        )
    plan = PackagingPlan(
        thumbnails=thumbs,
        rungs=tuple(chosen),
        encoders=encoders,
        has_audio=has_audio,
        segment_duration_s=config.segment_duration_s,
        speed=speed,
        display_width=source.width,
        display_height=source.height,
        source_format=source.demuxer,
    )
    out.mkdir(parents=True, exist_ok=True)
    _remove_previous_package(out)
    (out / TILES).mkdir()
    report = on_progress or (lambda _: None)
    run = run_ffmpeg(
        build_package_command(source_path, out, plan),
        duration_s=source.duration_s,
        on_progress=lambda pct: report(pct * ENCODE_SHARE / 100),
        cancel=cancel,
        deadline_s=encode_deadline_s(source.duration_s),
        what="the ladder encode",
    )
    streams = len(chosen) + (1 if has_audio else 0)
    _fold_short_tails(out, streams, tail_threshold_s(config.segment_duration_s))
    packaged_s = media_playlist_duration_s((out / media_playlist(0)).read_text())
    check_complete(
        packaged_s, source.duration_s, run.stderr_tail, tolerance_s=max(1.0, config.segment_duration_s)
    )
    thumbnails: tuple[str, ...] = ()
    if with_thumbnails:
        sheets = _lay_out_sheets(out, board, cancel)
        (out / STORYBOARD_VTT).write_text(thumbnails_vtt(storyboard_cues(board, sheets, source.duration_s)))
        thumbnails = (POSTER, *(sheet.name for sheet in sheets), STORYBOARD_VTT)
    shutil.rmtree(out / TILES, ignore_errors=True)
    codecs = _complete_codecs(out, len(chosen))
    pairs = enumerate(zip(chosen, encoders, strict=True))
    renditions = tuple(_rendition(out, i, rung, enc, codecs.get(str(i), "")) for i, (rung, enc) in pairs)
    audio_index = len(chosen)
    audio = None
    audio_files: tuple[str, ...] = ()
    measured = {str(i): r.peak_bps for i, r in enumerate(renditions)}
    if has_audio:
        audio_peak, _ = _bitrates(out, audio_index)
        measured[str(audio_index)] = audio_peak
        audio = AudioTrack(
            uri=media_playlist(audio_index),
            codecs=codecs.get(str(audio_index), "mp4a.40.2"),
            peak_bps=audio_peak,
        )
        audio_files = (init_segment(audio_index), *_segments(out, audio_index))
    mpd = (out / DASH_MANIFEST).read_text()
    (out / DASH_MANIFEST).write_text(without_bitstream_switching(set_mpd_bandwidths(mpd, measured)))
    (out / HLS_MASTER).write_text(master_playlist(renditions, audio))  # replaces FFmpeg's own
    report(100.0)
    return PackageResult(
        source=source,
        renditions=renditions,
        audio_playlist=audio.uri if audio else None,
        audio_files=audio_files,
        thumbnails=thumbnails,
        hls_master=HLS_MASTER,
        dash_manifest=DASH_MANIFEST,
        segment_duration_s=config.segment_duration_s,
        audio=audio,
        poster=POSTER if with_thumbnails else None,
        storyboard_vtt=STORYBOARD_VTT if with_thumbnails else None,
    )


def master_playlist(renditions: Sequence[PackagedRendition], audio: AudioTrack | None) -> str:
    """Our HLS master over packaged renditions: measured bandwidths, full codecs, frame rate, audio group."""
    variants = [
        Variant(
            uri=r.playlist,
            peak_bps=r.peak_bps,
            average_bps=r.average_bps,
            width=r.rung.width,
            height=r.rung.height,
            codecs=r.codecs,
            frame_rate=r.rung.frame_rate,
        )
        for r in renditions
    ]
    return hls_master_playlist(variants, audio)


def fit_rungs(rungs: Sequence[Rung] | None, source: ProbedSource, config: LadderConfig) -> tuple[Rung, ...]:
    """The requested ladder minus anything that would upscale this source; the planned one if none is left."""
    fitted = _fit(rungs, source) if rungs else ()
    return fitted or plan_ladder(source, config)


def check_complete(packaged_s: float, duration_s: float, stderr_tail: str, *, tolerance_s: float) -> None:
    """``SourceError`` if what was packaged stops well short of the probed duration.

    A truncated upload whose index survived (``-movflags +faststart``) probes
    at its full length, and FFmpeg exits 0 after decoding what is there: left
    alone, the job would publish a video that stops halfway. (FFmpeg's own
    ``out_time`` cannot tell: the storyboard output ends at its last tile's
    time, not the video's.)
    """
    if duration_s - packaged_s <= tolerance_s:
        return
    raise SourceError(
        f"the source ends after {packaged_s:.1f} s of the {duration_s:.1f} s its header promises"
        " (truncated or corrupt)",
        detail=stderr_tail or "FFmpeg reported no error",
    )


def _complete_codecs(out: Path, video_streams: int) -> dict[str, str]:
    """Stream id → RFC 6381 codecs from the MPD; H.265's completed from its init segment, in the MPD too."""
    mpd = (out / DASH_MANIFEST).read_text()
    codecs = mpd_codecs(mpd)
    hevc = {
        str(index): full
        for index in range(video_streams)
        if (full := hevc_codecs((out / init_segment(index)).read_bytes())) is not None
    }
    if hevc:
        (out / DASH_MANIFEST).write_text(set_mpd_codecs(mpd, hevc))
    return codecs | hevc


def _remove_previous_package(out: Path) -> None:
    for pattern in PACKAGE_FILES:
        for path in out.glob(pattern):
            path.unlink()
    shutil.rmtree(out / TILES, ignore_errors=True)


def _fold_short_tails(out: Path, streams: int, min_tail_s: float) -> None:
    """No playlist ends in a sliver: a last segment shorter than ``min_tail_s`` joins the one before.

    A source whose length is within a frame of a multiple of the segment duration ends each
    stream in a segment of one video frame or one AAC frame (23 ms), where hls.js stalls short
    of the end and never fires ``ended``. The segment files are joined, the HLS playlist and
    the MPD's timeline say one segment fewer, and the MPD's longest segment is updated.
    """
    mpd = (out / DASH_MANIFEST).read_text()
    for index in range(streams):
        playlist = out / media_playlist(index)
        folded = fold_short_tail(playlist.read_text(), min_tail_s=min_tail_s)
        if folded is None:
            continue
        into, tail = out / folded.into, out / folded.tail
        joined = join_fragments(into.read_bytes(), tail.read_bytes())
        into.write_bytes(joined)
        tail.unlink()
        playlist.write_text(folded.playlist)
        mpd = fold_mpd_tail(mpd, str(index))
    longest = mpd_max_segment_s(mpd)
    (out / DASH_MANIFEST).write_text(set_mpd_max_segment(mpd, longest) if longest else mpd)


def _lay_out_sheets(out: Path, board: StoryboardPlan, cancel: threading.Event | None) -> list[SheetLayout]:
    """The tiles FFmpeg drew, laid out into sheets sized for them; the tiles are removed."""
    tiles = len(list((out / TILES).glob("tile-*.png")))
    sheets = sheet_layouts(board, tiles)
    for sheet in sheets:
        run_ffmpeg(
            build_sheet_command(out / TILE_PATTERN, sheet, out / sheet.name),
            duration_s=1.0,
            cancel=cancel,
            deadline_s=60.0,
            what="the storyboard sheet",
        )
    return sheets


def _fit(rungs: Sequence[Rung], source: ProbedSource) -> tuple[Rung, ...]:
    """A requested ladder, minus anything that would upscale this source."""
    short = min(source.width, source.height)
    return tuple(r for r in rungs if min(r.width, r.height) <= short)


def _segments(out: Path, index: int) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in out.glob(f"seg-{index}-*.m4s")))


def _rendition(out: Path, index: int, rung: Rung, encoder: str, codecs: str) -> PackagedRendition:
    peak, average = _bitrates(out, index)
    playlist = (out / media_playlist(index)).read_text()
    return PackagedRendition(
        rung=rung,
        encoder=encoder,
        playlist=media_playlist(index),
        init=init_segment(index),
        segments=_segments(out, index),
        peak_bps=peak,
        average_bps=average,
        duration_s=media_playlist_duration_s(playlist),
        codecs=codecs,
    )


def _bitrates(out: Path, index: int) -> tuple[int, int]:
    """(peak, average) bits per second of a stream, measured on its segments and their real durations."""
    playlist = (out / media_playlist(index)).read_text()
    segments = [(s.duration_s, (out / s.uri).stat().st_size) for s in media_segments(playlist)]
    return segment_bitrates(segments, target_duration_s=target_duration_s(playlist) or 1.0)
