"""Reading the H.265 codecs string out of an init segment, on boxes built by hand."""

from __future__ import annotations

import struct

import pytest

from transcoder.mp4 import find_box, hevc_codecs, iter_boxes, join_fragments


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def init_segment(entry: bytes, config: bytes, config_kind: bytes = b"hvcC") -> bytes:
    """ftyp + moov/trak/mdia/minf/stbl/stsd with one visual sample entry holding ``config``."""
    sample_entry = box(entry, bytes(78) + box(config_kind, config) + box(b"pasp", bytes(8)))
    stsd = box(b"stsd", struct.pack(">II", 0, 1) + sample_entry)
    nested = stsd
    for kind in (b"stbl", b"minf", b"mdia", b"trak", b"moov"):
        nested = box(kind, (box(b"tkhd", bytes(84)) if kind == b"trak" else b"") + nested)
    return box(b"ftyp", b"iso6" + bytes(4)) + nested


def hvcc(
    *, space: int = 0, tier: int = 0, profile: int, compat: int, constraints: bytes, level: int
) -> bytes:
    """The first 13 bytes of an ``hvcC`` payload: what the codecs string is made of."""
    first = (space << 6) | (tier << 5) | profile
    return bytes([1, first]) + struct.pack(">I", compat) + constraints.ljust(6, b"\0") + bytes([level])


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        # x265 Main at level 3.1, progressive + frame-only: Apple's example string
        (hvcc(profile=1, compat=0x6000_0000, constraints=b"\xb0", level=93), "hvc1.1.6.L93.B0"),
        # Main 10, high tier, level 4 (120), no constraint bytes at all
        (hvcc(tier=1, profile=2, compat=0x2000_0000, constraints=b"", level=120), "hvc1.2.4.H120"),
        # a profile space other than 0 is a letter; inner zero bytes stay, trailing ones go
        (
            hvcc(space=1, profile=4, compat=0x0800_0000, constraints=b"\x90\x00\x01", level=150),
            "hvc1.A4.10.L150.90.00.01",
        ),
    ],
)  # fmt: skip
def test_the_codecs_string_follows_iso_14496_15_annex_e(config: bytes, expected: str) -> None:
    assert hevc_codecs(init_segment(b"hvc1", config)) == expected


def test_hev1_entries_keep_their_own_name() -> None:
    config = hvcc(profile=1, compat=0x6000_0000, constraints=b"\x90", level=60)
    assert hevc_codecs(init_segment(b"hev1", config)) == "hev1.1.6.L60.90"


def test_other_codecs_and_broken_files_give_none() -> None:
    assert hevc_codecs(init_segment(b"avc1", bytes(13), config_kind=b"avcC")) is None
    whole = init_segment(b"hvc1", hvcc(profile=1, compat=0x6000_0000, constraints=b"", level=93))
    assert hevc_codecs(whole[: len(whole) // 2]) is None  # cut short: no exception, no answer
    assert hevc_codecs(b"") is None


def test_boxes_are_walked_one_level_at_a_time() -> None:
    data = box(b"ftyp", b"abcd") + box(b"moov", box(b"trak", b"x"))
    assert [kind for kind, _, _ in iter_boxes(data)] == [b"ftyp", b"moov"]
    assert find_box(data, (b"moov", b"trak")) == b"x"
    assert find_box(data, (b"moov", b"mvex")) is None


def test_two_segments_join_into_one_with_both_fragments_and_no_stale_index() -> None:
    first = box(b"styp", b"msdh") + box(b"sidx", b"1") + box(b"moof", b"a") + box(b"mdat", b"AA")
    tail = box(b"styp", b"msdh") + box(b"sidx", b"2") + box(b"moof", b"b") + box(b"mdat", b"B")
    joined = join_fragments(first, tail)
    assert joined == box(b"styp", b"msdh") + box(b"moof", b"a") + box(b"mdat", b"AA") + box(
        b"moof", b"b"
    ) + box(b"mdat", b"B")
    assert [kind for kind, _, _ in iter_boxes(joined)] == [b"styp", b"moof", b"mdat", b"moof", b"mdat"]


def test_joining_something_that_is_not_a_media_segment_is_refused() -> None:
    with pytest.raises(ValueError, match="no moof"):
        join_fragments(box(b"moof", b"") + box(b"mdat", b""), box(b"ftyp", b"") + box(b"moov", b""))
