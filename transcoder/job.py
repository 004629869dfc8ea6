"""One transcode job against the blob store: fetch the source, package it, upload, manifests last.

Keys are a function of (video, job) only, so a redelivered job overwrites
its own earlier output instead of adding a second copy; manifests are
uploaded after every segment, so no player can see a half-written job as
playable. A progressive job (the default) uploads its lowest rung as soon as
it is packaged, master included, and tells ``on_playable``; the rest of the
ladder follows, and the MPD and master are uploaded again, grown.
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
from transcoder.progressive import package_progressively

__all__ = ["JobResult", "UploadedRendition", "job_prefix", "run_job", "upload_order"]

ENCODE_SHARE = 95.0  # percent of the job's progress for the encode; the uploads make the rest

_CONTENT_TYPES = {
    ".m4s": "video/iso.segment",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt",
}


@dataclass(frozen=True, kw_only=True)
class UploadedRendition:
    """A rendition in the blob store: with ``JobResult``'s keys, all a ``rendition-ready`` event carries."""

    rendition: PackagedRendition
    manifest_key: str
    init_key: str
    segment_keys: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class JobResult:
    """The job's output in the blob store; every key is under ``job_prefix(video_id, job_id)``."""

    package: PackageResult
    renditions: tuple[UploadedRendition, ...]
    hls_master_key: str
    dash_manifest_key: str
    poster_key: str | None
    storyboard_key: str | None


def job_prefix(video_id: str, job_id: str) -> str:
    """Where a job's output lives: the same for every delivery of the job, so a redo overwrites it."""
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
    progressive: bool = True,
    on_playable: Callable[[JobResult], None] | None = None,
) -> JobResult:
    """Fetch ``source_key``, package it in a scratch folder under ``workdir``, upload, clean up.

    ``progressive``: the lowest rung is uploaded first, with a master playlist and MPD
    of its own, and ``on_playable`` is called with that partial result before the rest
    of the ladder is encoded (``transcoder.progressive``); the returned result holds
    every rendition. Progress runs 0..95 % while FFmpeg encodes and 95..100 % while
    uploading. Errors: ``SourceError`` (permanent), ``FfmpegError``,
    ``JobCancelledError``, and the blob store's own (``blobs.errors``), worth retrying.
    """
    report = on_progress or (lambda _: None)
    scratch = Path(tempfile.mkdtemp(prefix=f"job-{job_id}-", dir=workdir))
    prefix = job_prefix(video_id, job_id)
    uploaded: set[str] = set()
    try:
        source = scratch / "source"
        blobs.get_to_file(source_key, source)
        out = scratch / "out"

        def encode_progress(pct: float) -> None:
            report(min(pct, 99.9) * ENCODE_SHARE / 100)

        if not progressive:
            package = package_source(
                source,
                out,
                rungs=rungs,
                config=config or LadderConfig(),
                encoder=encoder,
                speed=speed,
                on_progress=encode_progress,
                cancel=cancel,
            )
            return _upload(out, package, blobs, prefix, report, uploaded)

        def publish_first(head: PackageResult) -> None:
            partial = _upload(out, head, blobs, prefix, lambda _: None, uploaded)
            if on_playable is not None:
                on_playable(partial)

        package = package_progressively(
            source,
            out,
            on_first=publish_first,
            rungs=rungs,
            config=config or LadderConfig(),
            encoder=encoder,
            speed=speed,
            on_progress=encode_progress,
            cancel=cancel,
        )
        return _upload(out, package, blobs, prefix, report, uploaded)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def upload_order(package: PackageResult) -> list[str]:
    """Every file of the package, media first and the manifests that point at them last.

    Segments and thumbnails, then the media playlists, then the MPD and the
    HLS master: until the last two exist nothing links to the job, so a job
    that dies mid-upload is never visible as playable.
    """
    media = [name for r in package.renditions for name in (r.init, *r.segments)]
    media += [*package.audio_files, *package.thumbnails]
    playlists = [r.playlist for r in package.renditions]
    playlists += [package.audio_playlist] if package.audio_playlist else []
    return [*media, *playlists, package.dash_manifest, package.hls_master]


def _upload(
    out: Path,
    package: PackageResult,
    blobs: BlobStore,
    prefix: str,
    report: Callable[[float], None],
    uploaded: set[str],
) -> JobResult:
    """Upload what ``uploaded`` does not hold yet, and always the MPD and the master (they grow)."""
    grown = {package.dash_manifest, package.hls_master}
    names = [name for name in upload_order(package) if name not in uploaded or name in grown]
    for done, name in enumerate(names, start=1):
        blobs.put_file(f"{prefix}/{name}", out / name, content_type=_CONTENT_TYPES.get(Path(name).suffix))
        uploaded.add(name)
        report(ENCODE_SHARE + (100 - ENCODE_SHARE) * done / len(names))
    renditions = tuple(
        UploadedRendition(
            rendition=r,
            manifest_key=f"{prefix}/{r.playlist}",
            init_key=f"{prefix}/{r.init}",
            segment_keys=tuple(f"{prefix}/{s}" for s in r.segments),
        )
        for r in package.renditions
    )
    return JobResult(
        package=package,
        renditions=renditions,
        hls_master_key=f"{prefix}/{package.hls_master}",
        dash_manifest_key=f"{prefix}/{package.dash_manifest}",
        poster_key=f"{prefix}/{package.poster}" if package.poster else None,
        storyboard_key=f"{prefix}/{package.storyboard_vtt}" if package.storyboard_vtt else None,
    )
