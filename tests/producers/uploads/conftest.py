"""The ``service`` fixture: every upload test that takes it runs on the local store and on MinIO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from topics.config import KafkaConfig

from upload_service import Service, running_service


@pytest.fixture(params=["local", "minio"])
async def service(
    request: pytest.FixtureRequest, kafka: KafkaConfig, tmp_path: Path
) -> AsyncIterator[Service]:
    minio = request.getfixturevalue("minio") if request.param == "minio" else None
    async with running_service(request.param, kafka, tmp_path, minio=minio) as running:
        yield running
