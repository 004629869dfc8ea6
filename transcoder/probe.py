"""What the source is, from ffprobe: the only input the ladder planner needs.

ffprobe is let read what a video needs and nothing else. Playlists (HLS),
concat lists, image sequences and the like are valid FFmpeg inputs that make
it open other files and URLs, so only the demuxers of real media containers
are allowed (``-format_whitelist``: anything else stops before its header is
read), only the protocols of where the source lies (``file`` for a path;
HTTP(S) for a pre-signed URL), with a timeout on every read (``-rw_timeout``)
and a deadline on the process. A refusal says why in words safe to show a
user: no URL, path or memory address of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from transcoder.errors import DeadlineError, FfmpegError, SourceError

__all__ = [
    "ACCEPTED_DEMUXERS",
    "FILE_PROTOCOLS",
    "PROBE_DEADLINE_S",
    "READ_TIMEOUT_S",
    "URL_PROTOCOLS",
    "ProbedSource",
    "ffprobe_reason",
    "input_url",
    "probe_command",
    "probe_source",
    "probe_source_async",
    "protocols_for",
    "refusal_of",
    "source_from_ffprobe",
]

# FFmpeg's demuxer names (the first of ffprobe's format_name): containers that hold their media
# themselves. mov is MP4/MOV/M4A/3GP (its external references, "drefs", stay off: FFmpeg's default).
ACCEPTED_DEMUXERS = ("mov", "matroska", "avi", "mpegts", "flv", "ogg", "mpeg", "mpegvideo", "asf")
FILE_PROTOCOLS = ("file",)
URL_PROTOCOLS = ("https", "http", "tcp", "tls")  # no hls, concat, subfile, crypto, data ...
READ_TIMEOUT_S = 30.0  # one read (or connect) that stalls this long fails the probe
PROBE_DEADLINE_S = 120.0  # the whole ffprobe process

Target = Path | str  # a local file, or an http(s) URL (a pre-signed GET)

_INDIRECTIONS = {  # demuxers whose input names other inputs
    "hls": "an HLS playlist",
    "concat": "a concat list",
    "dash": "a DASH manifest",
    "webm_dash_manifest": "a DASH manifest",
    "sdp": "a session description (SDP)",
    "rtsp": "an RTSP description",
}
_NOT_ON_WHITELIST = "Format not on whitelist"
_PROBED = re.compile(r"Format (\S+) probed with size=")
_CONTEXT = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")  # "[mov,mp4,... @ 0x55d1c2a0b280] "
_ADDRESS = re.compile(r"\s*@?\s*0x[0-9a-fA-F]{6,}")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")
_PATH = re.compile(r"(?<![\w.])/(?:[^\s'\"/:]+/)+[^\s'\":]*")


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

    @property
    def demuxer(self) -> str:
        """The demuxer to force when reading the source again (``-f``): no other is ever tried."""
        return self.container.split(",")[0]


def protocols_for(target: Target) -> tuple[str, ...]:
    """The protocols reading ``target`` needs: ``file`` for a path, HTTP(S) over TCP/TLS for a URL."""
    if isinstance(target, Path) or "://" not in target:
        return FILE_PROTOCOLS
    scheme = target.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"a source is read from a file or over http(s), not {scheme}")
    return URL_PROTOCOLS


def input_url(target: Target) -> str:
    """What FFmpeg is handed: a path as an explicit ``file:`` URL, so no part of it reads as a protocol."""
    if isinstance(target, Path) or "://" not in target:
        return f"file:{target}"
    return target


def probe_command(target: Target, *, rw_timeout_s: float, naming: bool = False) -> list[str]:
    """ffprobe's arguments. Pure. ``naming``: only log which demuxer the input looks like, then stop."""
    return [
        "ffprobe",
        "-hide_banner",
        *(("-v", "debug") if naming else ("-v", "error")),
        "-rw_timeout", str(round(rw_timeout_s * 1_000_000)),  # microseconds
        "-protocol_whitelist", ",".join(protocols_for(target)),
        "-format_whitelist", ",".join(ACCEPTED_DEMUXERS),
        *(() if naming else ("-of", "json", "-show_format", "-show_streams")),
        input_url(target),
    ]  # fmt: skip


def probe_source(
    target: Target, *, rw_timeout_s: float = READ_TIMEOUT_S, deadline_s: float = PROBE_DEADLINE_S
) -> ProbedSource:
    """``SourceError`` with ffprobe's reason when the file (or URL) is not a usable video.

    ``DeadlineError`` when ffprobe runs past ``deadline_s`` (it is killed).
    """
    try:
        return _read(target, *_run(probe_command(target, rw_timeout_s=rw_timeout_s), deadline_s))
    except _NotAccepted:
        naming = probe_command(target, rw_timeout_s=rw_timeout_s, naming=True)
        raise SourceError(refusal_of(_detected_format(_run(naming, deadline_s)[2]))) from None


async def probe_source_async(
    target: Target, *, rw_timeout_s: float = READ_TIMEOUT_S, deadline_s: float = PROBE_DEADLINE_S
) -> ProbedSource:
    """``probe_source`` as an asyncio subprocess: a waiting probe holds no thread of any pool."""
    command = probe_command(target, rw_timeout_s=rw_timeout_s)
    try:
        return _read(target, *await _run_async(command, deadline_s))
    except _NotAccepted:
        naming = probe_command(target, rw_timeout_s=rw_timeout_s, naming=True)
        _, _, stderr = await _run_async(naming, deadline_s)
        raise SourceError(refusal_of(_detected_format(stderr))) from None


def ffprobe_reason(stderr: str, target: str) -> str:
    """ffprobe's last distinct lines, without the input's name, other URLs and paths, or addresses."""
    lines: list[str] = []
    for raw in stderr.splitlines():
        line = _CONTEXT.sub("", raw.strip())
        if line.startswith(target):
            line = line[len(target) :].lstrip(": ")
        line = _URL.sub("<url>", line.replace(target, "the source"))
        line = _ADDRESS.sub("", _PATH.sub("<path>", line)).strip()
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines[-3:])[:300] or "no reason given"


def refusal_of(format_name: str) -> str:
    """Why a source in the demuxer ``format_name`` is refused, in a line fit for its uploader."""
    name = format_name.split(",")[0]
    if name == "tty":  # FFmpeg's ANSI-art demuxer plays any text file as a picture of its text
        return "the source is a text file (tty), not a video"
    if name == "image2" or name.endswith("_pipe"):  # a photo or an image sequence; jpeg_pipe, png_pipe ...
        return f"the source is a still image ({format_name}), not a video"
    if name in _INDIRECTIONS:
        return (
            f"the source is {_INDIRECTIONS[name]} ({name}), not a video file:"
            " playlists and lists of other files are refused"
        )
    accepted = "MP4/MOV, Matroska/WebM, AVI, MPEG-TS, MPEG-PS, FLV, Ogg, ASF/WMV"
    if not name:
        return f"the source's format is unknown: not a video container this service accepts ({accepted})"
    return f"the source's format ({name}) is not a video container this service accepts ({accepted})"


class _NotAccepted(Exception):
    """ffprobe stopped at the format whitelist: the source is no accepted container."""


def _read(target: Target, returncode: int, stdout: bytes, stderr: bytes) -> ProbedSource:
    errors = stderr.decode(errors="replace")
    if returncode != 0:
        if _NOT_ON_WHITELIST in errors:
            raise _NotAccepted
        raise SourceError(f"ffprobe cannot read the source: {ffprobe_reason(errors, input_url(target))}")
    try:
        info = json.loads(stdout)
    except ValueError:
        raise SourceError("ffprobe cannot read the source: it answered no JSON") from None
    return source_from_ffprobe(info)


def _detected_format(stderr: bytes) -> str:
    found = _PROBED.findall(stderr.decode(errors="replace"))
    return str(found[-1]) if found else ""


def _run(command: list[str], deadline_s: float) -> tuple[int, bytes, bytes]:
    try:
        done = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, timeout=deadline_s)
    except subprocess.TimeoutExpired:  # run() has killed it
        raise DeadlineError(f"ffprobe ran past its deadline of {deadline_s:g} s") from None
    except OSError as exc:
        raise FfmpegError("ffprobe could not start", returncode=-1, stderr_tail=str(exc)) from exc
    return done.returncode, done.stdout, done.stderr


async def _run_async(command: list[str], deadline_s: float) -> tuple[int, bytes, bytes]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise FfmpegError("ffprobe could not start", returncode=-1, stderr_tail=str(exc)) from exc
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), deadline_s)
    except TimeoutError:
        await _kill(proc)
        raise DeadlineError(f"ffprobe ran past its deadline of {deadline_s:g} s") from None
    except asyncio.CancelledError:  # the request went away: so does its probe
        await asyncio.shield(_kill(proc))
        raise
    return int(proc.returncode or 0), stdout, stderr


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


def source_from_ffprobe(info: dict[str, Any]) -> ProbedSource:
    """Pure: ffprobe's JSON → ``ProbedSource``; ``SourceError`` for what FFmpeg reads but is no video."""
    streams = info.get("streams", [])
    fmt = info.get("format", {})
    container = str(fmt.get("format_name") or "")
    if container.split(",")[0] not in ACCEPTED_DEMUXERS:  # the whitelist's twin, for JSON from elsewhere
        raise SourceError(refusal_of(container))
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
