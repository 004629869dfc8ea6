"""Writing the HLS master playlist and the WebVTT thumbnail track; reading what the MPD says. Pure.

FFmpeg's own master playlist leaves out AVERAGE-BANDWIDTH and FRAME-RATE;
ours carries, per variant, the peak (BANDWIDTH) and mean (AVERAGE-BANDWIDTH)
bitrate measured on the segments written, the RESOLUTION, the CODECS string
FFmpeg put in the MPD (``avc1.64001f``…), the FRAME-RATE, and audio as its own
rendition group, as Apple's HLS authoring spec asks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AudioTrack",
    "Thumbnail",
    "Variant",
    "hls_master_playlist",
    "media_playlist_duration_s",
    "mpd_codecs",
    "set_mpd_codecs",
    "thumbnails_vtt",
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

    def replace(match: re.Match[str]) -> str:
        tag, rid = match[0], match[1]
        if rid not in codecs:
            return tag
        return re.sub(r'\bcodecs="[^"]*"', f'codecs="{codecs[rid]}"', tag, count=1)

    return re.sub(r'<Representation\b[^>]*?\bid="([^"]*)"[^>]*>', replace, mpd_xml)


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
