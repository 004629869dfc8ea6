"""The upload service under overlapping completes: no probe ever waits on the service's own threads.

``complete`` probes the stored object with ffprobe. When that probe read the
local store's file through a URL served by the same process, six overlapping
completes took every thread of the default executor and the file server
needed one more: the service hung. Here 32 real uploads complete at once.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import pytest

from producers.uploads.app import PROBES, UploadSettings
from producers.uploads.client import upload_file
from topics.config import KafkaConfig

from upload_service import Service, call, running_service, tiny_video

pytestmark = pytest.mark.kafka

UPLOADS = 32


async def test_32_uploads_completing_at_once_all_succeed(service: Service, tmp_path: Path) -> None:
    clip = tiny_video(tmp_path / "clip.mp4")
    sources = []
    for n in range(UPLOADS):  # one file each: the client keeps resume state per file
        sources.append(tmp_path / f"clip-{n}.mp4")
        shutil.copyfile(clip, sources[-1])

    async def one(n: int) -> str:
        outcome = await upload_file(
            sources[n],
            service_url=service.url,
            token=service.token(),
            title=f"clip {n}",
            state_dir=tmp_path / "state",
        )
        return outcome.video_id

    ids = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(UPLOADS))), timeout=120)

    assert len(set(ids)) == UPLOADS
    status, body = await call(service, "GET", "/healthz")
    assert status == 200 and body["probes"]["busy"] == 0


async def test_healthz_says_when_every_probe_slot_has_been_busy_too_long(
    kafka: KafkaConfig, tmp_path: Path
) -> None:
    settings = UploadSettings(max_bytes=10**9, probe_slots=2, saturated_after_s=0.5)
    async with running_service("local", kafka, tmp_path, settings=settings) as service:
        slots = service.app[PROBES]
        async with slots.slot():
            status, body = await call(service, "GET", "/healthz")
            assert status == 200  # one of two busy: fine
            async with slots.slot():
                status, body = await call(service, "GET", "/healthz")
                assert status == 200  # all busy, but only just
                deadline = time.monotonic() + 10
                while status == 200:
                    assert time.monotonic() < deadline, "healthz never reported the saturation"
                    await asyncio.sleep(0.1)
                    status, body = await call(service, "GET", "/healthz")
                assert status == 503
                assert "all 2 probe slots busy" in body["error"]["message"]
        status, body = await call(service, "GET", "/healthz")
        assert status == 200 and body["probes"] == {"slots": 2, "busy": 0, "waiting": 0}
