"""Apply raw catalog messages to the catalog store: decode, project, upsert.

Shared by the live Faust agent and by the replay that rebuilds the view from
offset 0, so both build exactly the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from schemas import codec
from schemas.errors import EventDecodeError
from schemas.registry import EventType
from stream_apps.catalog.projection import CatalogEvent, project
from stream_apps.errors import RejectedMessageError
from topics.catalogue import (
    RENDITION_READY_TOPIC,
    TRANSCODE_FAILED_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    TRANSCODE_REQUESTED_TOPIC,
    UPLOAD_COMPLETE_TOPIC,
    TopicSpec,
)
from views.catalog import CatalogStore, VideoRecord

__all__ = ["CATALOG_SOURCES", "CatalogBuilder", "RowFollower"]

CATALOG_SOURCES: tuple[TopicSpec, ...] = (
    UPLOAD_COMPLETE_TOPIC,
    TRANSCODE_REQUESTED_TOPIC,
    TRANSCODE_PROGRESS_TOPIC,
    TRANSCODE_FAILED_TOPIC,
    RENDITION_READY_TOPIC,
)


class RowFollower(Protocol):
    """A view derived from the catalog (search), told of each row before the catalog writes it, with
    the row it replaces: so a retry after a failure tells it again, and nothing is skipped."""

    async def on_row(self, before: VideoRecord | None, after: VideoRecord) -> None: ...

    async def close(self) -> None: ...


class CatalogBuilder:
    def __init__(self, store: CatalogStore, *, followers: Sequence[RowFollower] = ()) -> None:
        self._store = store
        self._followers = tuple(followers)

    async def apply(self, source: TopicSpec, key: bytes | None, value: bytes | None) -> VideoRecord:
        """Apply one message of ``source``; raise ``RejectedMessageError`` for a message to dead-letter."""
        event = decode_catalog_event(source, key, value)
        current = await self._store.get(event.video_id)
        updated = project(current, event)
        if updated != current:
            for follower in self._followers:
                await follower.on_row(current, updated)
            await self._store.put(updated)
        return updated


def decode_catalog_event(source: TopicSpec, key: bytes | None, value: bytes | None) -> CatalogEvent:
    expected: EventType[Any] | None = source.event_type
    if value is None:
        raise RejectedMessageError("empty value (tombstone) on an event topic")
    try:
        event: CatalogEvent = codec.decode(value, expected)
    except EventDecodeError as exc:
        raise RejectedMessageError(str(exc)) from exc
    if not event.video_id:
        raise RejectedMessageError(f"{source.name} event {event.event_id} has an empty video_id")
    if key is not None and key != event.video_id.encode():
        raise RejectedMessageError(
            f"key {key!r} does not match video_id {event.video_id!r}: the event would be ordered "
            "with another video's events"
        )
    return event
