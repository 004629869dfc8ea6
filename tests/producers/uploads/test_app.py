"""The upload service against real storage (the local store and a real MinIO) and the real broker.

One contract, two backends: every test runs with the filesystem store (our
HMAC-signed URLs) and with MinIO (S3's own signatures), through real HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blobs.local import LocalBlobStore
from producers.uploads.auth import UploaderAuth
from producers.uploads.client import UploadError, upload_file
from schemas import codec
from schemas.upload_complete import UploadComplete
from topics.async_producer import AsyncEventProducer
from topics.catalogue import UPLOAD_COMPLETE_TOPIC, TopicSpec
from topics.config import KafkaConfig
from topics.errors import DeliveryError
from topics.log import read_to_end

from upload_service import (
    AUTH,
    HUNG_UP,
    TICKETS,
    MiB,
    Service,
    aput,
    call,
    create,
    running_service,
    tiny_video,
)

pytestmark = pytest.mark.kafka


def _video(path: Path, *, padding_mib: int = 0) -> Path:
    return tiny_video(path, size="640x360", duration_s=2, padding_mib=padding_mib)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_large_upload_interrupted_and_resumed_is_stored_whole_and_announced(
    service: Service, tmp_path: Path
) -> None:
    source = _video(tmp_path / "big.mp4", padding_mib=200)
    state = tmp_path / "state"
    seen: list[int] = []

    with pytest.raises(UploadError, match="run the same command again"):
        await upload_file(source, service_url=service.url, token=service.token(), title="Big one",
                          tags=["big"], state_dir=state, stop_after_parts=10)  # fmt: skip
    outcome = await upload_file(
        source,
        service_url=service.url,
        token=service.token(),
        title="Big one",
        tags=["big"],
        state_dir=state,
        on_progress=lambda done, total: seen.append(done),
    )

    assert outcome.resumed and outcome.parts_sent == 26 - 10  # 200 MiB + the clip, in 8 MiB parts
    assert seen[0] == 10 * 8 * MiB and seen[-1] == source.stat().st_size  # progress picked up, then all
    key = f"uploads/{outcome.video_id}/source"
    stored = tmp_path / "stored"
    service.blobs.get_to_file(key, stored)
    assert _sha256(stored.read_bytes()) == _sha256(source.read_bytes())

    announced = [
        codec.decode(r.value or b"")
        for r in read_to_end(service.kafka, [service.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)])
        if r.key == outcome.video_id.encode()
    ]
    assert len(announced) == 1
    event: UploadComplete = announced[0]
    assert (event.title, event.tags, event.uploader_id) == ("Big one", ("big",), "uploader-1")
    assert event.size_bytes == source.stat().st_size and event.object_key == key
    assert event.probe is not None
    assert (event.probe.width, event.probe.height, event.probe.video_codec) == (640, 360, "h264")
    assert abs(event.probe.duration_ms - 2000) < 100


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "bearer token is required"),
        ("garbage", "invalid token"),
        (AUTH.issue("u", ttl_s=-60), "expired"),
        (UploaderAuth(hs256_secret="another-secret-of-at-least-32-bytes").issue("u"), "signature"),
    ],
)
async def test_a_wrong_or_expired_token_is_a_401(service: Service, token: str | None, reason: str) -> None:
    status, body = await call(
        service, "POST", "/v1/uploads", {"size_bytes": 1, "content_type": "video/mp4"}, token=token
    )
    assert status == 401
    assert reason in body["error"]["message"].lower()


async def test_a_tampered_or_expired_part_url_is_a_403(service: Service) -> None:
    created = await create(service, 9 * MiB)
    url = created["parts"][0]["url"]
    tampered = (
        url.replace("part=1", "part=2") if "part=1" in url else url.replace("partNumber=1", "partNumber=2")
    )
    assert tampered != url
    assert await aput(tampered, b"x" * 100) == 403

    ticket = TICKETS.decode(created["upload_id"])
    short = service.blobs.part_url(ticket.key, ticket.storage_upload_id, 1, size=100, expires_s=1)
    deadline = time.monotonic() + 10
    while await aput(short, b"x" * 100) != 403:  # the test's own server must keep serving: no blocking
        assert time.monotonic() < deadline, "the short-lived URL was still accepted after 10 s"
        await asyncio.sleep(0.2)


async def test_a_part_of_the_wrong_size_is_refused_at_the_put(service: Service) -> None:
    created = await create(service, 9 * MiB)  # parts of 8 MiB and 1 MiB
    assert created["part_count"] == 2
    assert await aput(created["parts"][0]["url"], b"x" * (8 * MiB)) == 200
    refused = await aput(created["parts"][1]["url"], b"x" * (2 * MiB))
    # 413 from the local store, 403 from S3 (the length is part of its signature), both on the header;
    # then both hang up on the rest of the body, which may cut the answer off before it is read
    assert refused in (413 if isinstance(service.blobs, LocalBlobStore) else 403, HUNG_UP)

    status, body = await call(service, "POST", f"/v1/uploads/{created['upload_id']}/complete", {})

    assert status == 409
    assert body["error"]["message"] == "1 part(s) not stored yet: 2"


async def test_a_file_that_is_not_a_video_is_refused_with_the_reason(service: Service) -> None:
    created = await create(service, 3 * MiB)
    assert (
        await aput(created["parts"][0]["url"], b"just some text\n" * (3 * MiB // 15) + b"x" * (3 * MiB % 15))
        == 200
    )

    status, body = await call(service, "POST", f"/v1/uploads/{created['upload_id']}/complete", {})

    assert status == 422
    assert body["error"]["message"].startswith("not a playable video: ffprobe cannot read the source")
    ticket = TICKETS.decode(created["upload_id"])
    assert not service.blobs.exists(ticket.key)  # refused files are not kept


async def test_missing_parts_and_foreign_uploads_are_refused(service: Service) -> None:
    created = await create(service, 9 * MiB)
    status, body = await call(service, "POST", f"/v1/uploads/{created['upload_id']}/complete", {})
    assert status == 409 and "2 part(s) not stored yet: 1, 2" in body["error"]["message"]

    other = AUTH.issue("someone-else")
    status, body = await call(
        service, "POST", f"/v1/uploads/{created['upload_id']}/complete", {}, token=other
    )
    assert status == 403


async def test_size_and_type_limits(service: Service) -> None:
    too_big = {"size_bytes": 10**13, "content_type": "video/mp4", "title": "t"}
    status, body = await call(service, "POST", "/v1/uploads", too_big)
    assert status == 413
    wrong = {"size_bytes": 10, "content_type": "application/pdf", "title": "t"}
    status, body = await call(service, "POST", "/v1/uploads", wrong)
    assert status == 415 and "video/*" in body["error"]["message"]


async def test_abandoned_uploads_are_found_and_aborted(service: Service) -> None:
    created = await create(service, 9 * MiB)
    ticket = TICKETS.decode(created["upload_id"])
    assert await aput(created["parts"][0]["url"], b"x" * (8 * MiB)) == 200
    before_it = datetime.now(UTC) - timedelta(hours=1)
    assert (ticket.key, ticket.storage_upload_id) not in service.blobs.open_uploads(started_before=before_it)

    later = datetime.now(UTC) + timedelta(seconds=5)
    assert (ticket.key, ticket.storage_upload_id) in service.blobs.open_uploads(started_before=later)
    service.blobs.abort_multipart(ticket.key, ticket.storage_upload_id)
    assert (ticket.key, ticket.storage_upload_id) not in service.blobs.open_uploads(started_before=later)
    status, body = await call(service, "POST", f"/v1/uploads/{created['upload_id']}/complete", {})
    assert status == 410 and "no longer open" in body["error"]["message"]  # the client starts over


def _announced(service: Service, video_id: str) -> list[UploadComplete]:
    topic = service.kafka.topic(UPLOAD_COMPLETE_TOPIC.name)
    return [
        codec.decode(r.value or b"")
        for r in read_to_end(service.kafka, [topic])
        if r.key == video_id.encode()
    ]


async def test_a_completed_upload_is_gone_but_a_retried_complete_answers_the_same(
    service: Service, tmp_path: Path
) -> None:
    clip = tiny_video(tmp_path / "clip.mp4").read_bytes()
    created = await create(service, len(clip))
    part_url, upload = created["parts"][0]["url"], f"/v1/uploads/{created['upload_id']}"
    assert await aput(part_url, clip) == 200
    status, first = await call(service, "POST", f"{upload}/complete", {})
    assert status == 200

    status, again = await call(service, "POST", f"{upload}/complete", {})  # a client that lost the answer
    assert (status, again) == (200, first)
    assert len(_announced(service, first["video_id"])) == 1  # announced once

    for method, path, body in (("GET", upload, None), ("POST", f"{upload}/parts", {"numbers": [1]}),
                               ("DELETE", upload, None)):  # fmt: skip
        status, answer = await call(service, method, path, body)
        assert (status, answer["error"]["status"]) == (410, 410), (method, path, answer)
        assert "completed" in answer["error"]["message"]
    assert await aput(part_url, clip) == (410 if isinstance(service.blobs, LocalBlobStore) else 404)


async def test_an_aborted_upload_is_gone_for_every_call(service: Service) -> None:
    created = await create(service, 1024)
    upload = f"/v1/uploads/{created['upload_id']}"
    status, _ = await call(service, "DELETE", upload)
    assert status == 204

    for method, path, body in (("GET", upload, None), ("POST", f"{upload}/parts", {"numbers": [1]}),
                               ("POST", f"{upload}/complete", {}), ("DELETE", upload, None)):  # fmt: skip
        status, answer = await call(service, method, path, body)
        assert (status, answer["error"]["status"]) == (410, 410), (method, path, answer)
        assert "no longer open" in answer["error"]["message"]
    assert await aput(created["parts"][0]["url"], b"x" * 1024) in (404, 410)
    ticket = TICKETS.decode(created["upload_id"])
    assert service.blobs.list(f"uploads/{ticket.video_id}/") == []  # nothing left behind


class _FailsOnce(AsyncEventProducer):
    """The real producer, but the first event is lost: a broker outage right after the commit."""

    failed = False

    def send(
        self, spec: TopicSpec, value: bytes, *, key: bytes | None, headers: Sequence[tuple[str, bytes]] = ()
    ) -> asyncio.Future[None]:
        if not self.failed:
            self.failed = True
            raise DeliveryError("delivery failed: injected broker outage")
        return super().send(spec, value, key=key, headers=headers)


@pytest.mark.parametrize("backend", ["local", "minio"])
async def test_a_complete_that_failed_after_the_commit_is_finished_by_its_retry(
    request: pytest.FixtureRequest, kafka: KafkaConfig, tmp_path: Path, backend: str
) -> None:
    minio = request.getfixturevalue("minio") if backend == "minio" else None
    async with running_service(backend, kafka, tmp_path, minio=minio, producer=_FailsOnce(kafka)) as service:
        clip = tiny_video(tmp_path / "clip.mp4").read_bytes()
        created = await create(service, len(clip), title="kept")
        assert await aput(created["parts"][0]["url"], clip) == 200
        complete = f"/v1/uploads/{created['upload_id']}/complete"

        status, body = await call(service, "POST", complete, {})
        assert status == 503 and "try the complete again" in body["error"]["message"], body
        ticket = TICKETS.decode(created["upload_id"])
        assert service.blobs.exists(ticket.key)  # committed, and not orphaned: the retry finishes it
        status, progress = await call(service, "GET", f"/v1/uploads/{created['upload_id']}")
        assert (status, progress["state"], progress["parts_stored"]) == (200, "committed", [1])  # resumable

        status, body = await call(service, "POST", complete, {})
        assert status == 200 and body["video_id"] == created["video_id"], body
        events = _announced(service, created["video_id"])
        assert [e.title for e in events] == ["kept"]
