"""The pipeline on a local file, without Kafka or a blob store: what ``tubestream transcode`` runs.

The output folder is the package itself (renditions, ``manifest.mpd``,
``master.m3u8``, poster, storyboard), written in place rather than copied,
so its names are relative file names, not blob keys.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from schemas.transcode_requested import VideoCodec
from transcoder.ladder import LADDER_HEIGHTS, LadderConfig
from transcoder.package import PackageResult, package_source
from transcoder.profiles import Speed

__all__ = ["parse_codecs", "transcode_file"]


def parse_codecs(text: str) -> tuple[VideoCodec, ...]:
    """``"h264,vp9"`` → ``(H264, VP9)``; ``ValueError`` naming the choices for anything else."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    try:
        codecs = tuple(dict.fromkeys(VideoCodec(name.upper()) for name in names))
    except ValueError:
        choices = ", ".join(c.value.lower() for c in VideoCodec)
        raise ValueError(f"codecs: choose from {choices}; got {text!r}") from None
    if not codecs:
        raise ValueError("codecs: name at least one (h264, h265, vp9, av1)")
    return codecs


def transcode_file(
    source: Path,
    outdir: Path,
    *,
    codecs: Iterable[VideoCodec] = (VideoCodec.H264,),
    max_height: int = LADDER_HEIGHTS[-1],
    segment_duration_s: float = 4.0,
    encoder: str = "auto",
    speed: Speed = "balanced",
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> PackageResult:
    """Transcode ``source`` into ``outdir`` (created if missing; a previous package there is replaced).

    ``max_height`` caps the ladder on the short side (1080 → up to 1080p);
    ``encoder`` is ``auto`` (NVENC when it works here), ``cpu``, ``gpu`` or an
    FFmpeg encoder name; ``on_progress`` gets 0..100. Raises what
    ``package_source`` raises: ``SourceError``, ``FfmpegError``, ``JobCancelledError``.
    """
    if max_height < 2:
        raise ValueError(f"max_height must be at least 2, got {max_height}")
    if segment_duration_s <= 0:
        raise ValueError(f"segment_duration_s must be positive, got {segment_duration_s}")
    config = LadderConfig(codecs=tuple(codecs), max_height=max_height, segment_duration_s=segment_duration_s)
    if not config.codecs:
        raise ValueError("codecs: name at least one")
    return package_source(
        source, outdir, config=config, encoder=encoder, speed=speed, on_progress=on_progress, cancel=cancel
    )
