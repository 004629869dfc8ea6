"""The upload client's resume state: what it cannot use is dropped, and the user is told why."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from producers.uploads.client import UploadError, upload_file
from producers.uploads.tickets import TicketSigner
from topics.config import KafkaConfig

from upload_service import TICKETS, Service, call, running_service, tiny_video

pytestmark = pytest.mark.kafka


@pytest.fixture
async def service(kafka: KafkaConfig, tmp_path: Path) -> AsyncIterator[Service]:
    async with running_service("local", kafka, tmp_path) as running:
        yield running


async def _interrupted(service: Service, source: Path, state: Path) -> Path:
    """An upload created and left before its first part: the state file it leaves behind."""
    with pytest.raises(UploadError, match="interrupted after 0 part"):
        await upload_file(
            source,
            service_url=service.url,
            token=service.token(),
            title="t",
            state_dir=state,
            stop_after_parts=0,
        )
    return _only_file(state)


def _only_file(folder: Path) -> Path:
    (saved,) = folder.iterdir()
    return saved


def _upload_id(saved: Path) -> str:
    return str(json.loads(saved.read_text())["upload_id"])


def _other_service_ticket(saved: Path) -> None:
    """The saved upload id, as another deployment (another secret) would have issued it."""
    foreign = TicketSigner("another-ticket-secret-of-32-bytes!!!").encode(TICKETS.decode(_upload_id(saved)))
    saved.write_text(json.dumps({"upload_id": foreign, "path": "x"}))


async def _abort(service: Service, saved: Path) -> None:
    status, _ = await call(service, "DELETE", f"/v1/uploads/{_upload_id(saved)}")
    assert status == 204


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("garbage", "cannot read the saved upload state"),
        ("no-id", "cannot read the saved upload state"),
        ("foreign", "the service does not know the saved upload (404"),
        ("aborted", "the saved upload is no longer open (410"),
        ("another-uploader", "the saved upload belongs to another uploader (403"),
    ],
)
async def test_resume_state_that_cannot_be_used_is_dropped_with_the_reason(
    service: Service, tmp_path: Path, spoil: str, reason: str
) -> None:
    source, state = tiny_video(tmp_path / "clip.mp4"), tmp_path / "state"
    saved = await _interrupted(service, source, state)
    if spoil == "garbage":
        saved.write_text("{not json")
    elif spoil == "no-id":
        saved.write_text(json.dumps({"path": str(source)}))
    elif spoil == "foreign":
        _other_service_ticket(saved)
    elif spoil == "aborted":
        await _abort(service, saved)
    token = service.token("someone-else" if spoil == "another-uploader" else "uploader-1")
    notices: list[str] = []

    outcome = await upload_file(
        source, service_url=service.url, token=token, title="t", state_dir=state, on_notice=notices.append
    )

    assert not outcome.resumed and outcome.parts_sent == 1
    assert len(notices) == 1 and reason in notices[0] and "starting over" in notices[0], notices
    assert list(state.iterdir()) == []  # a finished upload leaves no state
