"""One transcode job against the blob store: fetch the source, package it, upload, manifests last.

Keys are a function of (video, job) only, so a redelivered job overwrites
its own earlier output instead of adding a second copy; manifests are
uploaded after every segment, so no player can see a half-written job as
playable.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from blobs.store import BlobStore
from transcoder.ladder import LadderConfig, Rung
from transcoder.package import PackagedRendition, PackageResult, package_source
from transcoder.profiles import Speed

__all__ = ["JobResult", "job_prefix", "run_job"]

_CONTENT_TYPES = {
    ".m4s": "video/iso.segment",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}


@dataclass(frozen=True, kw_only=True)
class UploadedRendition:
    rendition: PackagedRendition
    manifest_key: str
    init_key: str
    segment_keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class JobResult:
    package: PackageResult
    renditions: tuple[UploadedRendition, ...]
    hls_master_key: str
    dash_manifest_key: str
    poster_key: str
    storyboard_key: str


def job_prefix(video_id: str, job_id: str) -> str:
    return f"videos/{video_id}/{job_id}"


def run_job(
    *,
    video_id: str,
    job_id: str,
    source_key: str,
    blobs: BlobStore,
    rungs: Sequence[Rung] | None = None,
    config: LadderConfig | None = None,
    encoder: str = "auto",
    speed: Speed = "balanced",
    workdir: Path | None = None,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    scratch = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=workdir))
    try:
        source = scratch / "source"
        blobs.get_to_file(source_key, source)
        out = scratch / "out"
        package = package_source(
            source,
            out,
            rungs=rungs,
            config=config or LadderConfig(),
            encoder=encoder,
            speed=speed,
            on_progress=on_progress,
            cancel=cancel,
        )
        return _upload(out, package, blobs, job_prefix(video_id, job_id))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _upload(out: Path, package: PackageResult, blobs: BlobStore, prefix: str) -> JobResult:
    def put(name: str) -> str:
        key = f"{prefix}/{name}"
        blobs.put_file(key, out / name, content_type=_CONTENT_TYPES.get(Path(name).suffix))
        return key

    # media first: init segments, segments, thumbnails ...
    for r in package.renditions:
        put(r.init)
        for segment in r.segments:
            put(segment)
    for name in package.audio_files:
        put(name)
    for name in package.thumbnails:
        put(name)
    # ... then the playlists that point at them, the master and the MPD last
    renditions = tuple(
        UploadedRendition(
            rendition=r,
            manifest_key=put(r.playlist),
            init_key=f"{prefix}/{r.init}",
            segment_keys=tuple(f"{prefix}/{s}" for s in r.segments),
        )
        for r in package.renditions
    )
    if package.audio_playlist:
        put(package.audio_playlist)
    return JobResult(
        package=package,
        renditions=renditions,
        dash_manifest_key=put(package.dash_manifest),
        hls_master_key=put(package.hls_master),
        poster_key=f"{prefix}/{package.thumbnails[0]}",
        storyboard_key=f"{prefix}/{package.thumbnails[-1]}",
    )
