"""The model the API serves recommendations from: the newest trained one, swapped in whole.

``ModelHolder.refresh`` asks a ``ModelSource`` for the newest version (the
compacted ``recs-model-ready`` topic names it, the blob store holds it); a
newer one is read, checked against the event's sha256 and the artifact's own
digest, and only then replaces the model in use. A corrupt or partial
artifact is refused, remembered as refused (not read again), and the
previous model goes on serving. Requests read ``current`` once, so a swap
never mixes two models in one answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

from blobs.errors import BlobError
from blobs.store import BlobStore
from schemas import codec
from schemas.errors import SchemaError
from schemas.recs_model_ready import RecsModelReady
from schemas.registry import RECS_MODEL_READY
from stream_apps.recs.errors import ArtifactError, CorruptArtifactError
from stream_apps.recs.model import RecsModel
from stream_apps.recs.training import MODEL_NAME
from topics.catalogue import RECS_MODEL_READY_TOPIC
from topics.config import KafkaConfig
from topics.errors import LogError
from topics.log import read_to_end
from views.recs import RecsView

__all__ = ["ModelHolder", "ModelPointer", "ModelSource", "RecsService", "TopicModelSource"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPointer:
    version: str
    blob_key: str
    sha256: str


class ModelSource(Protocol):
    def newest(self) -> ModelPointer | None:
        """The newest model announced, if any (blocking I/O: called in a thread)."""

    def read(self, key: str) -> bytes:
        """The artifact's bytes (blocking I/O)."""


class TopicModelSource:
    """Reads ``recs-model-ready`` to its end (it is compacted: a few messages) and the blob store."""

    def __init__(self, kafka: KafkaConfig, blobs: BlobStore, *, model: str = MODEL_NAME) -> None:
        self._kafka, self._blobs, self._model = kafka, blobs, model

    def newest(self) -> ModelPointer | None:
        newest: RecsModelReady | None = None
        topic = self._kafka.topic(RECS_MODEL_READY_TOPIC.name)
        for record in read_to_end(self._kafka, [topic], timeout_s=10.0):
            try:
                event: RecsModelReady = codec.decode(record.value, RECS_MODEL_READY)
            except SchemaError as exc:
                log.warning("recs: skipping an unreadable %s message: %s", topic, exc)
                continue
            if event.model == self._model and (newest is None or event.version > newest.version):
                newest = event
        return None if newest is None else ModelPointer(newest.version, newest.blob_key, newest.sha256)

    def read(self, key: str) -> bytes:
        return self._blobs.read_bytes(key)


class ModelHolder:
    def __init__(self, source: ModelSource | None) -> None:
        self._source = source
        self.current: RecsModel | None = None
        self.version: str | None = None
        self.refused: dict[str, str] = {}  # version → why

    async def refresh(self) -> bool:
        """Load the newest model if it is newer than the one in use; True when one was swapped in."""
        if self._source is None:
            return False
        pointer = await asyncio.to_thread(self._source.newest)
        if pointer is None or pointer.version in self.refused:
            return False
        if self.version is not None and pointer.version <= self.version:
            return False
        data = await asyncio.to_thread(self._source.read, pointer.blob_key)  # a BlobError: retried next time
        try:
            if hashlib.sha256(data).hexdigest() != pointer.sha256:
                raise CorruptArtifactError(f"{pointer.blob_key}: sha256 differs from the one announced")
            model = await asyncio.to_thread(RecsModel.from_bytes, data)
        except ArtifactError as exc:
            self.refused[pointer.version] = str(exc)
            log.warning("recs: model %s refused, still serving %s: %s", pointer.version, self.version, exc)
            return False
        self.current, self.version = model, pointer.version
        users, items = len(model.user_ids), len(model.item_ids)
        log.info("recs: serving model %s (%d users, %d items)", pointer.version, users, items)
        return True

    async def keep_fresh(self, every_s: float) -> None:
        """Refresh every ``every_s`` until cancelled; a broker or blob store outage is logged and retried."""
        while True:
            try:
                await self.refresh()
            except (LogError, BlobError) as exc:
                log.warning("recs: could not look for a newer model: %s", exc)
            await asyncio.sleep(every_s)


@dataclass
class RecsService:
    """What the recommendation routes read: the interactions view and the model in use."""

    interactions: RecsView
    models: ModelHolder = field(default_factory=lambda: ModelHolder(None))
