"""Hostile uploads against the real service, stores and broker: what is refused, and that nothing leaks.

Each case comes from a security review: playlists that made ffprobe and FFmpeg
fetch other URLs and local files, part bodies longer than their part, metadata
that broke the event after the upload was committed, an upload id that grew
with the description, and a refusal that echoed the store's signed URL.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from blobs.local import LocalBlobStore
from schemas import codec
from schemas.upload_complete import UploadComplete
from topics.catalogue import UPLOAD_COMPLETE_TOPIC
from topics.log import read_to_end

from harness import ConnectionSpy
from upload_service import TICKETS, MiB, Service, aput, call, create, tiny_video

pytestmark = pytest.mark.kafka


async def _upload_bytes(service: Service, data: bytes, **metadata: object) -> tuple[dict[str, object], int]:
    """Create an upload of ``data`` in one part and store the part; the created upload and PUT status."""
    created = await create(service, len(data), **metadata)
    return created, await aput(created["parts"][0]["url"], data)


async def _complete(service: Service, upload_id: object) -> tuple[int, dict[str, object]]:
    status, body = await asyncio.wait_for(call(service, "POST", f"/v1/uploads/{upload_id}/complete", {}), 60)
    return status, body


# -- playlists and other indirections ---------------------------------------------------------------


def _hls(spy: ConnectionSpy, local_segment: Path) -> bytes:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
        f"#EXTINF:1.0,\n{spy.url('/x.ts')}\n#EXTINF:1.0,\n{local_segment}\n#EXT-X-ENDLIST\n"
    ).encode()


def _server_file(tmp_path: Path) -> Path:
    """A real MPEG-TS file on the server's disk: what a playlist would make the service read."""
    ts = tmp_path / "secret.ts"
    tiny_video(tmp_path / "secret.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(tmp_path / "secret.mp4"),
         "-c", "copy", "-f", "mpegts", str(ts)],
        check=True,
    )  # fmt: skip
    return ts


async def test_an_hls_playlist_is_refused_without_a_single_connection(
    service: Service, tmp_path: Path
) -> None:
    with ConnectionSpy() as spy:
        created, put_status = await _upload_bytes(service, _hls(spy, _server_file(tmp_path)))
        assert put_status == 200
        status, body = await _complete(service, created["upload_id"])

        assert status == 422, body
        message = str(body["error"]["message"])  # type: ignore[index]
        assert "HLS playlist" in message and "refused" in message
        assert spy.connections == 0
    assert not service.blobs.exists(TICKETS.decode(str(created["upload_id"])).key)


@pytest.mark.parametrize("header", ["ffconcat version 1.0\n", ""])
async def test_concat_lists_are_refused(service: Service, tmp_path: Path, header: str) -> None:
    with ConnectionSpy() as spy:
        listing = f"{header}file '{_server_file(tmp_path)}'\nfile '{spy.url('/y.mp4')}'\n".encode()
        created, put_status = await _upload_bytes(service, listing)
        assert put_status == 200
        status, body = await _complete(service, created["upload_id"])

        assert status == 422, body
        if header:  # FFmpeg's concat demuxer knows it by its header; without one it reads as no format
            assert "a concat list (concat)" in str(body["error"]["message"])  # type: ignore[index]
        assert spy.connections == 0
    assert not service.blobs.exists(TICKETS.decode(str(created["upload_id"])).key)


def _cut_off_mp4(tmp_path: Path) -> bytes:
    """The first half of an MP4 whose index is at the end: an interrupted copy from a camera."""
    whole = tiny_video(tmp_path / "v.mp4", duration_s=2)
    tail_index = tmp_path / "tail-index.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(whole),
            "-c",
            "copy",
            str(tail_index),
        ],
        check=True,
    )
    data = tail_index.read_bytes()
    return data[: len(data) // 2]


async def test_a_refusal_keeps_ffprobes_reason_but_never_the_signed_url(
    service: Service, tmp_path: Path
) -> None:
    created, _ = await _upload_bytes(service, _cut_off_mp4(tmp_path))

    status, body = await _complete(service, created["upload_id"])

    assert status == 422
    message = str(body["error"]["message"])  # type: ignore[index]
    assert "moov atom not found" in message
    for leak in ("http", "signature", "X-Amz", "127.0.0.1", "0x"):
        assert leak not in message, message


# -- part sizes -------------------------------------------------------------------------------------


async def _raw_put(url: str, *, content_length: int | None, send: int) -> tuple[int | None, int]:
    """PUT ``send`` bytes (chunked without ``content_length``): (status or None if cut off, bytes sent)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    framing = (
        f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked"
    )
    writer.write(
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n{framing}\r\n\r\n".encode()
    )
    answer = asyncio.ensure_future(reader.readline())
    sent, chunk = 0, b"x" * MiB
    try:
        while sent < send and not answer.done():
            data = chunk[: min(MiB, send - sent)]
            writer.write(data if content_length is not None else b"%x\r\n%s\r\n" % (len(data), data))
            await asyncio.wait_for(writer.drain(), 5)  # a server that stopped reading blocks us here
            sent += len(data)
        if content_length is None and not answer.done():
            writer.write(b"0\r\n\r\n")
    except (ConnectionError, TimeoutError):
        pass
    try:
        line = await asyncio.wait_for(answer, 10)
    except ConnectionError:
        line = b""
    writer.close()
    return (int(line.split()[1]) if line.startswith(b"HTTP/") else None), sent


def _nothing_kept(service: Service, upload_id: str) -> None:
    ticket = TICKETS.decode(upload_id)
    assert service.blobs.list_parts(ticket.key, ticket.storage_upload_id) == []
    if isinstance(service.blobs, LocalBlobStore):
        folder = service.blobs.root / ".multipart" / ticket.storage_upload_id
        assert sorted(p.name for p in folder.iterdir()) == ["upload.json"]  # no part, no temporary file


async def test_a_part_longer_or_shorter_than_its_url_says_is_refused_and_not_kept(service: Service) -> None:
    created = await create(service, 1024)
    upload_id, url = str(created["upload_id"]), created["parts"][0]["url"]

    if isinstance(service.blobs, LocalBlobStore):
        status, sent = await _raw_put(url, content_length=300 * MiB, send=0)
        assert status == 413  # refused on the header alone, before a byte of the body
        status, sent = await _raw_put(url, content_length=None, send=64 * MiB)
        assert status in (413, None)  # refused while streaming (or cut off right after)
        assert sent < 32 * MiB, "the service kept reading a part far past its length"
        assert await aput(url, b"x" * 512) == 400
    else:
        assert await aput(url, b"x" * 2048) == 403  # the length is part of S3's signature
        assert await aput(url, b"x" * 512) == 403
    _nothing_kept(service, upload_id)

    assert await aput(url, b"x" * 1024) == 200


# -- metadata ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 5001}, "description"),
        ({"tags": [f"t{n}" for n in range(31)]}, "tags"),
        ({"tags": ["x" * 41]}, "tag 1"),
        ({"tags": ["ok", ""]}, "tag 2"),
        ({"tags": "a,b"}, "tags"),
        ({"title": "bad \ud800 surrogate"}, "title"),
        ({"description": "\udfff"}, "description"),
        ({"tags": ["fine", "\ud83d"]}, "tag 2"),
        ({"title": "bell \x07"}, "title"),
        ({"description": "nul \x00"}, "description"),
        ({"title": "gnp.exe\u202emp4"}, "title"),
        ({"tags": ["\u2066isolate"]}, "tag 1"),
        ({"description": 5}, "description"),
        ({"visibility": "secret"}, "visibility"),
        ({"visibility": "PRIVATE"}, "visibility"),
        ({"visibility": None}, "visibility"),
    ],
)
async def test_metadata_outside_the_limits_is_refused_at_create(
    service: Service, metadata: dict[str, object], field: str
) -> None:
    body = {"size_bytes": 1024, "content_type": "video/mp4", "title": "t"} | metadata
    status, answer = await call(service, "POST", "/v1/uploads", body)
    assert status == 400, answer
    assert answer["error"]["message"].startswith(field)


async def test_metadata_at_the_limits_goes_through_and_the_upload_id_stays_short(
    service: Service, tmp_path: Path
) -> None:
    clip = tiny_video(tmp_path / "clip.mp4").read_bytes()
    description = "Paragraph one.\nParagraph two:\tdétails, 日本語, emoji 🎬. " * 100
    description = description[:5000]
    tags = [f"{n:02d}" + "t" * 38 for n in range(30)]
    title = "T" * 200
    created, put_status = await _upload_bytes(service, clip, title=title, description=description, tags=tags)
    assert put_status == 200
    assert len(str(created["upload_id"])) < 1000  # the metadata is stored, not carried in the id

    status, body = await _complete(service, created["upload_id"])
    assert status == 200, body

    events = [
        codec.decode(r.value or b"")
        for r in read_to_end(service.kafka, [service.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)])
        if r.key == str(created["video_id"]).encode()
    ]
    assert len(events) == 1
    event: UploadComplete = events[0]
    assert (event.title, event.description, list(event.tags)) == (title, description, tags)
