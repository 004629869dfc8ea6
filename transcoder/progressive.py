"""A job in two parts: the lowest rung first, playable on its own, then the rest of the ladder.

One FFmpeg process for the whole ladder finishes every rung at once, at the
end, so a viewer waits for 1080p before 360p can play. Here the lowest rung
(with the audio, poster and storyboard) is packaged first and handed to
``on_first``, which publishes it; a second process encodes the other rungs,
whose files are renamed into the same folder as later output streams and
joined to the first part's MPD and HLS master. Every manifest written lists
only renditions whose files are already there, so the master is always
playable and grows once. The price is a second decode of the source.
"""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from transcoder.command import DASH_MANIFEST, init_segment, media_playlist
from transcoder.ladder import LadderConfig, Rung
from transcoder.manifests import merge_mpd, mpd_max_segment_s, renumber_playlist, set_mpd_max_segment
from transcoder.package import (
    DEFAULT_LADDER,
    HLS_MASTER,
    PackagedRendition,
    PackageResult,
    fit_rungs,
    master_playlist,
    package_source,
)
from transcoder.probe import ProbedSource, probe_source
from transcoder.profiles import Speed

__all__ = ["LATER", "first_share", "package_progressively", "split_first"]

LATER = "later"  # the scratch folder of the second part, inside the package folder; removed once merged


def split_first(rungs: Sequence[Rung]) -> tuple[Rung, tuple[Rung, ...]]:
    """The rung to publish first (the first codec's smallest, which every player can start on), the rest."""
    codec = rungs[0].codec
    first = min((r for r in rungs if r.codec == codec), key=lambda r: (r.width * r.height, r.bitrate_kbps))
    return first, tuple(r for r in rungs if r is not first)


def first_share(first: Rung, rest: Sequence[Rung], source: ProbedSource) -> float:
    """The first part's share of the job's work, for progress: pixels encoded, plus a decode each.

    An estimate (decoding a picture counted as a quarter of encoding it), clamped to 5-60 %.
    """
    decode = source.width * source.height / 4
    first_cost = decode + first.width * first.height
    total = first_cost + decode + sum(r.width * r.height for r in rest)
    return min(0.6, max(0.05, first_cost / total))


def package_progressively(
    source_path: Path,
    out: Path,
    *,
    on_first: Callable[[PackageResult], None],
    rungs: Sequence[Rung] | None = None,
    config: LadderConfig = DEFAULT_LADDER,
    encoder: str = "auto",
    speed: Speed = "balanced",
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> PackageResult:
    """``package_source`` in two parts; ``on_first`` gets the first part's package before the second starts.

    The result is the whole ladder in ``out``, as ``package_source`` would have made it
    (other stream numbers: the first part's audio comes before the later rungs).
    """
    source = probe_source(source_path)
    first, rest = split_first(fit_rungs(rungs, source, config))
    share = first_share(first, rest, source) if rest else 1.0
    report = on_progress or (lambda _: None)
    head = package_source(
        source_path,
        out,
        rungs=[first],
        config=config,
        encoder=encoder,
        speed=speed,
        on_progress=lambda pct: report(pct * share),
        cancel=cancel,
        probed=source,
    )
    shutil.rmtree(out / LATER, ignore_errors=True)  # an earlier delivery's second part
    on_first(head)
    if not rest:
        return head
    tail = package_source(
        source_path,
        out / LATER,
        rungs=rest,
        config=config,
        encoder=encoder,
        speed=speed,
        on_progress=lambda pct: report(100 * share + pct * (1 - share)),
        cancel=cancel,
        probed=source,
        with_audio=False,
        with_thumbnails=False,
    )
    return merge_packages(out, head, out / LATER, tail)


def merge_packages(out: Path, head: PackageResult, later: Path, tail: PackageResult) -> PackageResult:
    """``tail``'s renditions moved from ``later`` into ``out``, after ``head``'s: one MPD, one master.

    The files move first, then the media playlists, then the MPD and the master: a manifest
    never names a file that is not there yet.
    """
    offset = len(head.renditions) + (1 if head.audio is not None else 0)
    moved = [_move_rendition(out, later, r, index, offset + index) for index, r in enumerate(tail.renditions)]
    ids = {str(index): str(offset + index) for index in range(len(tail.renditions))}
    mpd = merge_mpd((out / DASH_MANIFEST).read_text(), (later / DASH_MANIFEST).read_text(), ids)
    (out / DASH_MANIFEST).write_text(set_mpd_max_segment(mpd, mpd_max_segment_s(mpd)))
    renditions = (*head.renditions, *moved)
    (out / HLS_MASTER).write_text(master_playlist(renditions, head.audio))
    shutil.rmtree(later, ignore_errors=True)
    return dataclasses.replace(head, renditions=renditions)


def _move_rendition(out: Path, later: Path, r: PackagedRendition, old: int, new: int) -> PackagedRendition:
    init = init_segment(new)
    (later / r.init).replace(out / init)
    segments = []
    for name in r.segments:
        renamed = name.replace(f"seg-{old}-", f"seg-{new}-", 1)
        (later / name).replace(out / renamed)
        segments.append(renamed)
    playlist = media_playlist(new)
    (out / playlist).write_text(renumber_playlist((later / r.playlist).read_text(), old, new))
    return dataclasses.replace(r, playlist=playlist, init=init, segments=tuple(segments))
