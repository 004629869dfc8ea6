"""Writing the HLS master playlist and the WebVTT thumbnail track; reading what the MPD says. Pure.

FFmpeg's own master playlist leaves out AVERAGE-BANDWIDTH and FRAME-RATE;
ours carries, per variant, the peak (BANDWIDTH) and mean (AVERAGE-BANDWIDTH)
bitrate measured on the segments written, the RESOLUTION, the CODECS string
FFmpeg put in the MPD (``avc1.64001f``…), the FRAME-RATE, and audio as its own
rendition group, as Apple's HLS authoring spec asks.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AudioTrack",
    "FoldedTail",
    "MediaSegment",
    "Thumbnail",
    "Variant",
    "fold_mpd_tail",
    "fold_short_tail",
    "hls_master_playlist",
    "media_playlist_duration_s",
    "media_segments",
    "merge_mpd",
    "mpd_codecs",
    "mpd_max_segment_s",
    "renumber_playlist",
    "segment_bitrates",
    "set_mpd_bandwidths",
    "set_mpd_codecs",
    "set_mpd_max_segment",
    "tail_threshold_s",
    "target_duration_s",
    "thumbnails_vtt",
    "without_bitstream_switching",
]

AUDIO_GROUP = "audio"


@dataclass(frozen=True, kw_only=True)
class Variant:
    uri: str
    peak_bps: int
    average_bps: int
    width: int
    height: int
    codecs: str
    frame_rate: float


@dataclass(frozen=True, kw_only=True)
class AudioTrack:
    uri: str
    codecs: str
    peak_bps: int
    name: str = "main"
    language: str = "und"


def hls_master_playlist(variants: Sequence[Variant], audio: AudioTrack | None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio is not None:
        lines.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO_GROUP}",NAME="{audio.name}",'
            f'LANGUAGE="{audio.language}",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="{audio.uri}"'
        )
    for v in sorted(variants, key=lambda v: (v.peak_bps, v.height)):
        audio_bps = audio.peak_bps if audio else 0
        codecs = f"{v.codecs},{audio.codecs}" if audio else v.codecs
        attributes = [
            f"BANDWIDTH={v.peak_bps + audio_bps}",
            f"AVERAGE-BANDWIDTH={v.average_bps + audio_bps}",
            f"RESOLUTION={v.width}x{v.height}",
            f'CODECS="{codecs}"',
            f"FRAME-RATE={v.frame_rate:.3f}",
        ]
        if audio:
            attributes.append(f'AUDIO="{AUDIO_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attributes), v.uri]
    return "\n".join(lines) + "\n"


def mpd_codecs(mpd_xml: str) -> dict[str, str]:
    """Representation id → its ``codecs`` attribute, as FFmpeg wrote it."""
    root = ET.fromstring(mpd_xml)
    found = {}
    for element in root.iter():
        if element.tag.endswith("Representation") and "id" in element.attrib:
            codecs = element.attrib.get("codecs") or _parent_codecs(root, element)
            if codecs:
                found[element.attrib["id"]] = codecs
    return found


def set_mpd_codecs(mpd_xml: str, codecs: Mapping[str, str]) -> str:
    """The MPD with the ``codecs`` of the given representation ids replaced, the rest byte for byte."""
    return _set_representation_attribute(mpd_xml, "codecs", codecs)


def media_playlist_duration_s(playlist: str) -> float:
    """The sum of an HLS media playlist's ``#EXTINF`` durations: how much media was packaged."""
    return sum(float(m[1]) for m in re.finditer(r"^#EXTINF:([0-9.]+)", playlist, re.MULTILINE))


def _parent_codecs(root: ET.Element, child: ET.Element) -> str | None:
    for parent in root.iter():
        if child in list(parent):
            return parent.attrib.get("codecs")
    return None


@dataclass(frozen=True, kw_only=True)
class Thumbnail:
    start_s: float
    end_s: float
    sprite: str  # the sprite sheet's URI, relative to the track
    x: int
    y: int
    width: int
    height: int


def thumbnails_vtt(thumbnails: Sequence[Thumbnail]) -> str:
    """A WebVTT track whose cues point into sprite sheets (``#xywh=``), for scrubbing previews."""
    lines = ["WEBVTT", ""]
    for t in thumbnails:
        lines += [
            f"{_vtt_time(t.start_s)} --> {_vtt_time(t.end_s)}",
            f"{t.sprite}#xywh={t.x},{t.y},{t.width},{t.height}",
            "",
        ]
    return "\n".join(lines)


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


# -- what the DASH muxer wrote, measured and corrected -----------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MediaSegment:
    uri: str
    duration_s: float


def media_segments(playlist: str) -> list[MediaSegment]:
    """The segments of an HLS media playlist, in order, each with its ``#EXTINF`` duration."""
    segments = []
    duration: float | None = None
    for line in playlist.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            segments.append(MediaSegment(uri=line, duration_s=duration))
            duration = None
    return segments


@dataclass(frozen=True, kw_only=True)
class FoldedTail:
    """A media playlist whose last segment (``tail``) was folded into the one before (``into``)."""

    playlist: str
    tail: str
    into: str


def tail_threshold_s(segment_duration_s: float) -> float:
    """The shortest last segment left on its own: shorter ones are folded into the one before.

    hls.js stalls at a last segment of one audio frame (23 ms) or one video frame; half a second
    is well clear of that, and a quarter of a segment at most keeps the folded segment's
    duration rounding to the target duration (4.0 + 0.49 → 4), so EXT-X-TARGETDURATION holds.
    """
    return min(0.5, segment_duration_s / 4)


def fold_short_tail(playlist: str, *, min_tail_s: float) -> FoldedTail | None:
    """The playlist with a last segment shorter than ``min_tail_s`` merged into the previous one.

    ``None`` when there is nothing to fold (one segment only, or a long enough tail). The
    segment files themselves are joined by the caller (``mp4.join_fragments``).
    """
    lines = playlist.splitlines()
    entries = [i for i, line in enumerate(lines) if line.startswith("#EXTINF:")]
    if len(entries) < 2:
        return None
    before, last = entries[-2:]
    before_s, last_s = (_extinf(lines[i]) for i in (before, last))
    if last_s >= min_tail_s:
        return None
    into = _uri_after(lines, before)
    tail = _uri_after(lines, last)
    if into is None or tail is None:
        return None
    kept = lines[:last] + lines[tail + 1 :]
    kept[before] = f"#EXTINF:{before_s + last_s:.6f},"
    longest = max(round(_extinf(line)) for line in kept if line.startswith("#EXTINF:"))
    kept = [
        f"#EXT-X-TARGETDURATION:{max(longest, int(line.split(':', 1)[1]))}"
        if line.startswith("#EXT-X-TARGETDURATION:")
        else line
        for line in kept
    ]
    return FoldedTail(playlist="\n".join(kept) + "\n", tail=lines[tail].strip(), into=lines[into].strip())


def target_duration_s(playlist: str) -> float | None:
    """``#EXT-X-TARGETDURATION`` of a media playlist, if it has one."""
    found = re.search(r"^#EXT-X-TARGETDURATION:(\d+)", playlist, re.MULTILINE)
    return float(found[1]) if found else None


def segment_bitrates(segments: Sequence[tuple[float, int]], *, target_duration_s: float) -> tuple[int, int]:
    """(peak, average) bits per second of segments given as (duration s, size bytes), per the HLS spec.

    The peak is the highest rate of any run of consecutive segments lasting 0.5 to 1.5 target
    durations (RFC 8216bis 4.4.6.2); the average is all bytes over all seconds. Real durations,
    never the nominal segment length: a 1 s clip holds 1 s of media, not 4. A video shorter
    than any qualifying run has its whole rate as its peak.
    """
    total_s = sum(d for d, _ in segments)
    if total_s <= 0:
        return 0, 0
    average = sum(size for _, size in segments) * 8 / total_s
    peak = 0.0
    for start in range(len(segments)):
        run_s = run_bytes = 0.0
        for duration, size in segments[start:]:
            run_s += duration
            run_bytes += size
            if run_s > 1.5 * target_duration_s:
                break
            if run_s >= 0.5 * target_duration_s:
                peak = max(peak, run_bytes * 8 / run_s)
    return round(max(peak, average)), round(average)


def fold_mpd_tail(mpd_xml: str, representation_id: str) -> str:
    """The MPD with the last two ``S`` of a representation's ``SegmentTimeline`` merged into one."""

    def fold(match: re.Match[str]) -> str:
        block = match[0]
        timeline = re.search(r"(<SegmentTimeline>)(.*?)(\s*</SegmentTimeline>)", block, re.DOTALL)
        if timeline is None:
            return block
        start, durations = _timeline(timeline[2])
        if len(durations) < 2:
            return block
        durations = [*durations[:-2], durations[-2] + durations[-1]]
        indent = re.search(r"\n(\s*)<S\b", timeline[2])
        pad = indent[1] if indent else ""
        body = "".join(f"\n{pad}{s}" for s in _timeline_elements(start, durations))
        return block[: timeline.start(2)] + body + block[timeline.end(2) :]

    return _in_representation(mpd_xml, representation_id, fold)


def mpd_max_segment_s(mpd_xml: str) -> float:
    """The longest segment any ``SegmentTimeline`` of the MPD lists, in seconds."""
    longest = 0.0
    for template in re.finditer(r"<SegmentTemplate\b([^>]*)>(.*?)</SegmentTemplate>", mpd_xml, re.DOTALL):
        scale = re.search(r'\btimescale="(\d+)"', template[1])
        _, durations = _timeline(template[2])
        if scale and durations:
            longest = max(longest, max(durations) / int(scale[1]))
    return longest


def set_mpd_max_segment(mpd_xml: str, seconds: float) -> str:
    """``maxSegmentDuration`` set to ``seconds`` (rounded up to the millisecond)."""
    value = f'maxSegmentDuration="PT{math.ceil(seconds * 1000) / 1000:.3f}S"'
    return re.sub(r'\bmaxSegmentDuration="[^"]*"', value, mpd_xml, count=1)


def set_mpd_bandwidths(mpd_xml: str, bandwidths: Mapping[str, int]) -> str:
    """The ``bandwidth`` of the given representation ids replaced by measured ones."""
    return _set_representation_attribute(mpd_xml, "bandwidth", {k: str(v) for k, v in bandwidths.items()})


def without_bitstream_switching(mpd_xml: str) -> str:
    """The MPD with no ``bitstreamSwitching="true"``.

    FFmpeg 5.1 marks every adaptation set bitstream-switchable, a promise that one init segment
    decodes every representation's segments (ISO/IEC 23009-1 5.3.3.2); ours have an init segment
    each (other sizes, other SPS), so a player taking the promise would feed 360p's decoder
    configuration 1080p segments.
    """
    return re.sub(r'\s+bitstreamSwitching="true"', "", mpd_xml)


def _extinf(line: str) -> float:
    return float(line[len("#EXTINF:") :].split(",", 1)[0])


def _uri_after(lines: list[str], index: int) -> int | None:
    for i in range(index + 1, len(lines)):
        if lines[i].strip() and not lines[i].startswith("#"):
            return i
    return None


def _timeline(body: str) -> tuple[int, list[int]]:
    """(first ``t``, every segment's ``d``) of a ``SegmentTimeline``'s ``S`` elements, repeats expanded."""
    start = 0
    durations: list[int] = []
    for element in re.finditer(r"<S\b([^>]*)/?>", body):
        attributes = dict(re.findall(r'(\w+)="(-?\d+)"', element[1]))
        if not durations and "t" in attributes:
            start = int(attributes["t"])
        durations += [int(attributes["d"])] * (1 + int(attributes.get("r", 0)))
    return start, durations


def _timeline_elements(start: int, durations: Sequence[int]) -> list[str]:
    runs: list[list[int]] = []  # [duration, repeats]
    for d in durations:
        if runs and runs[-1][0] == d:
            runs[-1][1] += 1
        else:
            runs.append([d, 0])
    elements = []
    for i, (d, r) in enumerate(runs):
        t = f't="{start}" ' if i == 0 else ""
        repeat = f' r="{r}"' if r else ""
        elements.append(f'<S {t}d="{d}"{repeat} />')
    return elements


def _in_representation(mpd_xml: str, rid: str, edit: Callable[[re.Match[str]], str]) -> str:
    opening = rf'<Representation\b[^>]*?\bid="{re.escape(rid)}"[^>]*>'
    pattern = re.compile(opening + r".*?</Representation>", re.DOTALL)
    return pattern.sub(edit, mpd_xml, count=1)


def _set_representation_attribute(mpd_xml: str, name: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        tag, rid = match[0], match[1]
        if rid not in values:
            return tag
        return re.sub(rf'\b{name}="[^"]*"', f'{name}="{values[rid]}"', tag, count=1)

    return re.sub(r'<Representation\b[^>]*?\bid="([^"]*)"[^>]*>', replace, mpd_xml)


# -- growing a package: renditions packaged later join the first ones' manifests -----------------------


_REPRESENTATION = r"[ \t]*<Representation\b.*?</Representation>\n?"


def renumber_playlist(playlist: str, old: int, new: int) -> str:
    """A media playlist of output stream ``old`` naming its files as stream ``new``'s (init + segments)."""
    text = re.sub(rf"\binit-{old}\.m4s\b", f"init-{new}.m4s", playlist)
    return re.sub(rf"\bseg-{old}-(\d+)\.m4s\b", rf"seg-{new}-\1.m4s", text)


def merge_mpd(base: str, extra: str, new_ids: Mapping[str, str]) -> str:
    """``base`` with every representation of ``extra`` added under its id in ``new_ids``.

    A representation joins the base's adaptation set of the same codec family (``avc1``,
    ``vp09`` …: a player switches within a set), or comes with its own adaptation set when
    the base has none. Templates name files by ``$RepresentationID$``, so a new id is all a
    representation needs once its files are renamed to match (``renumber_playlist``).
    """
    merged = base
    for adaptation in re.finditer(r"<AdaptationSet\b([^>]*)>(.*?)</AdaptationSet>", extra, re.DOTALL):
        representations = re.findall(
            r"[ \t]*<Representation\b.*?</Representation>\n?", adaptation[2], re.DOTALL
        )
        if not representations:
            continue
        renamed = [_renamed(r, new_ids) for r in representations]
        family = _codec_family(representations[0])
        target = next(
            (
                m
                for m in re.finditer(r"<AdaptationSet\b([^>]*)>(.*?)</AdaptationSet>", merged, re.DOTALL)
                if _codec_family(m[2]) == family
            ),
            None,
        )
        if target is None:
            ids = [int(i) for i in re.findall(r'<AdaptationSet\b[^>]*?\bid="(\d+)"', merged)]
            opening = re.sub(r'\bid="\d+"', f'id="{max(ids, default=-1) + 1}"', adaptation[1], count=1)
            block = f"<AdaptationSet{opening}>\n{''.join(renamed)}\t\t</AdaptationSet>\n\t"
            at = merged.index("</Period>")
            merged = merged[:at] + block + merged[at:]
            continue
        opening = _widened(target[1], adaptation[1])
        body_end = target.end(2)
        merged = (
            merged[: target.start(1)]
            + opening
            + merged[target.end(1) : body_end]
            + "".join(renamed).lstrip(" \t")
            + merged[body_end:]
        )
    return merged


def _renamed(representation: str, new_ids: Mapping[str, str]) -> str:
    def rename(match: re.Match[str]) -> str:
        return f'id="{new_ids.get(match[1], match[1])}"'

    opening_end = representation.index(">")
    return (
        re.sub(r'\bid="([^"]*)"', rename, representation[:opening_end], count=1)
        + representation[opening_end:]
    )


def _codec_family(xml: str) -> str | None:
    found = re.search(r'<Representation\b[^>]*?\bcodecs="([^".]*)', xml)
    return found[1] if found else None


def _widened(opening: str, other: str) -> str:
    """An adaptation set's attributes with ``maxWidth``/``maxHeight`` covering ``other``'s too."""
    for name in ("maxWidth", "maxHeight"):
        mine, theirs = (re.search(rf'\b{name}="(\d+)"', text) for text in (opening, other))
        if mine and theirs and int(theirs[1]) > int(mine[1]):
            opening = opening.replace(mine[0], theirs[0])
    return opening
