"""The few MP4 boxes we read back from the init segments FFmpeg wrote. Pure.

FFmpeg 5.1's DASH muxer writes a full RFC 6381 ``codecs`` string for H.264,
VP9, AV1 and AAC, but only ``hvc1`` for H.265, which players asked "can you
play video/mp4; codecs=hvc1?" may refuse. The full string (``hvc1.1.6.L93.B0``)
comes from the ``hvcC`` box of the init segment, as ISO/IEC 14496-15 annex E
spells it. ``join_fragments`` makes two media segments one, for a sliver last
segment folded into the one before.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["find_box", "hevc_codecs", "iter_boxes", "join_fragments"]

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
_VISUAL_SAMPLE_ENTRY_HEADER = 78  # SampleEntry (8) + VisualSampleEntry fields (70), then child boxes
_HEVC_ENTRIES = {b"hvc1", b"hev1"}
_NOT_FRAGMENTS = {b"styp", b"sidx"}  # what a joined segment keeps once (styp) or drops (sidx)


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in ``data[start:end]``, one level deep."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            if at + 16 > end:
                return
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        elif size == 0:  # the box runs to the end
            size = end - at
        if size < header or at + size > end:
            return  # malformed or cut short: stop rather than read garbage
        yield kind, at + header, at + size
        at += size


def find_box(data: bytes, path: tuple[bytes, ...], start: int = 0, end: int | None = None) -> bytes | None:
    """The payload of the first box along ``path`` (``moov``, ``trak``, ..., ``stsd``), or ``None``."""
    for kind, body, stop in iter_boxes(data, start, end):
        if kind != path[0]:
            continue
        if len(path) == 1:
            return data[body:stop]
        if kind in _CONTAINERS:
            found = find_box(data, path[1:], body, stop)
            if found is not None:
                return found
    return None


def hevc_codecs(init_segment: bytes) -> str | None:
    """``hvc1.<space><profile>.<compat>.<tier><level>.<constraints>`` for an H.265 track, else ``None``."""
    stsd = find_box(init_segment, (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"))
    if stsd is None or len(stsd) < 8:
        return None
    for entry, body, stop in iter_boxes(stsd, 8):  # after version/flags and the entry count
        if entry not in _HEVC_ENTRIES:
            continue
        for kind, config, config_end in iter_boxes(stsd, body + _VISUAL_SAMPLE_ENTRY_HEADER, stop):
            if kind == b"hvcC" and config_end - config >= 13:
                return entry.decode() + "." + _hevc_config_string(stsd[config : config + 13])
    return None


def _hevc_config_string(hvcc: bytes) -> str:
    space, tier, profile = hvcc[1] >> 6, (hvcc[1] >> 5) & 1, hvcc[1] & 0x1F
    (compatibility,) = struct.unpack_from(">I", hvcc, 2)
    constraints = hvcc[6:12]
    level = hvcc[12]
    reversed_compatibility = int(f"{compatibility:032b}"[::-1], 2)  # flag 0 is the top bit
    parts = [
        f"{'' if space == 0 else 'ABC'[space - 1]}{profile}",
        f"{reversed_compatibility:X}",
        f"{'H' if tier else 'L'}{level}",
    ]
    trimmed = constraints.rstrip(b"\x00")  # trailing zero bytes may be left out
    parts += [f"{byte:02X}" for byte in trimmed]
    return ".".join(parts)


def join_fragments(first: bytes, second: bytes) -> bytes:
    """Two CMAF media segments as one: the first's ``styp``, then both segments' fragments.

    Each ``moof`` addresses its samples relative to itself (``default-base-is-moof``, as
    FFmpeg's DASH muxer writes), so fragments stay valid wherever they sit in the file. The
    ``sidx`` boxes are dropped: each indexes only its own segment's fragment, and nothing
    reads them under a ``SegmentTemplate`` or an HLS playlist. ``ValueError`` if either is
    not a media segment (no ``moof``).
    """
    parts = [first[start:stop] for kind, start, stop in _top_level(first) if kind == b"styp"][:1]
    for segment in (first, second):
        boxes = [box for box in _top_level(segment) if box[0] not in _NOT_FRAGMENTS]
        if not any(kind == b"moof" for kind, _, _ in boxes):
            raise ValueError("not a CMAF media segment: no moof box")
        parts += [segment[start:stop] for _, start, stop in boxes]
    return b"".join(parts)


def _top_level(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each top-level box, header included: they follow one another."""
    boxes = []
    start = 0
    for kind, _, stop in iter_boxes(data):
        boxes.append((kind, start, stop))
        start = stop
    return boxes
