from __future__ import annotations

from dataclasses import replace

import pytest

from producers.uploads.tickets import (
    InvalidTicketError,
    TicketSigner,
    UploadTicket,
    part_size_for,
    sha256_of,
    source_key,
    video_id_of,
)

MiB = 1024 * 1024


def ticket(size: int) -> UploadTicket:
    return UploadTicket(
        video_id="v",
        uploader_id="u",
        key="uploads/v/source",
        storage_upload_id="s",
        size_bytes=size,
        part_size=part_size_for(size),
        content_type="video/mp4",
        metadata_sha256=sha256_of(b"{}"),
    )


def test_parts_are_8_mib_until_a_file_needs_more_than_10000_of_them() -> None:
    assert part_size_for(1) == 8 * MiB
    assert part_size_for(80_000 * MiB) == 8 * MiB
    assert part_size_for(5 * 1024**4) == 525 * MiB  # 5 TiB in at most 10 000 parts
    assert ticket(5 * 1024**4).part_count <= 10_000


def test_every_part_is_the_part_size_but_the_last() -> None:
    t = ticket(20 * MiB)
    assert t.part_count == 3
    assert [t.expected_size(n) for n in (1, 2, 3)] == [8 * MiB, 8 * MiB, 4 * MiB]


def test_a_ticket_round_trips_and_a_forged_one_is_refused() -> None:
    signer = TicketSigner("a-ticket-secret-of-at-least-32-bytes")
    token = signer.encode(ticket(10))
    assert signer.decode(token) == ticket(10)
    with pytest.raises(InvalidTicketError):
        TicketSigner("another-ticket-secret-of-32-bytes!!!").decode(token)
    with pytest.raises(InvalidTicketError):
        signer.decode(token[:-2] + "xx")


def test_the_upload_id_is_the_same_size_whatever_the_metadata() -> None:
    signer = TicketSigner("a-ticket-secret-of-at-least-32-bytes")
    small = signer.encode(ticket(10))
    large = signer.encode(replace(ticket(10), metadata_sha256=sha256_of(b"x" * 100_000)))
    assert len(small) == len(large) < 1000


def test_a_video_id_comes_back_from_its_source_key_only() -> None:
    assert video_id_of(source_key("vid-1")) == "vid-1"
    assert video_id_of("uploads/vid-1/metadata.json") is None
    assert video_id_of("videos/vid-1/source") is None
