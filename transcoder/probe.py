"""What the source is, from ffprobe: the only input the ladder planner needs."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from transcoder.errors import SourceError

__all__ = ["ProbedSource", "probe_source", "source_from_ffprobe"]


@dataclass(frozen=True, kw_only=True)
class ProbedSource:
    """The facts about a source that planning and encoding depend on; sizes are as displayed."""

    duration_s: float
    width: int  # as displayed (rotation applied)
    height: int
    frame_rate: float
    pix_fmt: str
    has_audio: bool
    video_codec: str
    audio_codec: str | None = None
    bit_rate: int | None = None
    container: str = ""
    rotation: int = 0  # degrees the display matrix turns the picture (0, 90, 180, 270); FFmpeg applies it

    @property
    def bit_depth(self) -> int:
        return 10 if "10" in self.pix_fmt else 12 if "12" in self.pix_fmt else 8


def probe_source(path: Path | str) -> ProbedSource:
    """``SourceError`` with ffprobe's reason when the file (or URL) is not a usable video."""
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as exc:
        # ffprobe names its input: a pre-signed URL's query (its signature) stays out of the message
        stderr = (exc.stderr or b"").decode(errors="replace").replace(str(path), str(path).split("?")[0])
        reason = stderr.strip().splitlines()
        raise SourceError(f"ffprobe cannot read the source: {reason[-1] if reason else exc}") from None
    return source_from_ffprobe(info)


def source_from_ffprobe(info: dict[str, Any]) -> ProbedSource:
    """Pure: ffprobe's JSON → ``ProbedSource``; ``SourceError`` for what FFmpeg reads but is no video."""
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    container = str(fmt.get("format_name") or "")
    if container == "tty":  # FFmpeg's ANSI-art demuxer plays any .txt file as a picture of its text
        raise SourceError("the source is a text file, not a video")
    if container == "image2" or container.endswith("_pipe"):  # jpeg_pipe, png_pipe, webp_pipe ...
        raise SourceError(f"the source is a still image ({container}), not a video")
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    if video is None:
        raise SourceError("the source has no video stream")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = _float(fmt.get("duration")) or _float(video.get("duration"))
    if not duration or duration <= 0:
        raise SourceError("the source has no duration (truncated or not a video)")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise SourceError("the source's video stream has no picture size")
    rotation = _rotation(video)
    if rotation in (90, 270):  # FFmpeg autorotates when decoding: the ladder plans the turned picture
        width, height = height, width
    return ProbedSource(
        duration_s=duration,
        width=width,
        height=height,
        frame_rate=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate")) or 30.0,
        pix_fmt=str(video.get("pix_fmt") or "yuv420p"),
        has_audio=audio is not None,
        video_codec=str(video.get("codec_name") or ""),
        audio_codec=str(audio.get("codec_name")) if audio else None,
        bit_rate=int(fmt["bit_rate"]) if str(fmt.get("bit_rate", "")).isdigit() else None,
        container=container,
        rotation=rotation,
    )


def _is_cover_art(stream: dict[str, Any]) -> bool:
    return bool(stream.get("disposition", {}).get("attached_pic"))


def _rotation(stream: dict[str, Any]) -> int:
    """The display matrix's rotation (ffprobe says -90 for a phone held upright), as 0..359."""
    rotate = stream.get("tags", {}).get("rotate")  # older muxers
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            rotate = side["rotation"]
    try:
        return round(float(rotate or 0)) % 360
    except (TypeError, ValueError):
        return 0


def _rate(raw: Any) -> float | None:
    try:
        value = float(Fraction(str(raw)))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _float(raw: Any) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None
