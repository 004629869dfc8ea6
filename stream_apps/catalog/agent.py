"""The catalog view's stream app: upload, transcode and rendition events → catalog rows.

Reads like a Faust example: topics, then the agent. Every message is
applied with ``CatalogBuilder`` (the same code the replay uses), so the live
view and a rebuild from offset 0 hold the same rows. Messages no view can use
go to their topic's dead-letter topic with the reason, and the agent goes
on; a store that is down is retried, never a reason to drop an event.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import StreamT

from stream_apps.catalog.builder import CATALOG_SOURCES, CatalogBuilder, RowFollower
from stream_apps.errors import RejectedMessageError
from topics.catalogue import TopicSpec, topic_for
from topics.config import KafkaConfig
from topics.dead_letter import dead_letter_headers
from views.catalog import CatalogStore
from views.errors import StoreUnavailableError

__all__ = ["register_catalog"]

log = logging.getLogger(__name__)

STORE_RETRY_MAX_S = 30.0


def register_catalog(
    app: faust.App,
    kafka: KafkaConfig,
    open_store: Callable[[], CatalogStore],
    *,
    open_followers: Callable[[], list[RowFollower]] = list,
) -> None:
    """Add the ``build_catalog`` agent to ``app``; the stores are opened when the agent starts.

    ``open_followers`` opens the views that follow the catalog's rows (search).
    """
    by_name: dict[str, TopicSpec] = {kafka.topic(spec.name): spec for spec in CATALOG_SOURCES}
    catalog_events = app.topic(*by_name, key_serializer="raw", value_serializer="raw")
    dead_letters = {
        name: app.topic(
            kafka.topic(topic_for(spec.dead_letter).name), key_serializer="raw", value_serializer="raw"
        )
        for name, spec in by_name.items()
        if spec.dead_letter
    }

    @app.agent(catalog_events, name="build_catalog")
    async def build_catalog(stream: StreamT[bytes]) -> None:
        store = open_store()
        followers = open_followers()
        builder = CatalogBuilder(store, followers=followers)
        try:
            async for event in stream.events():
                message = event.message
                source = by_name[message.topic]
                try:
                    await _apply_until_stored(builder, source, message.key, message.value)
                except RejectedMessageError as exc:
                    await _dead_letter(dead_letters[message.topic], message, exc.reason, "rejected")
                except Exception as exc:  # a bug must not stop the view: park the message, keep going
                    log.exception("catalog: unexpected error on %s", _position(message))
                    reason = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
                    await _dead_letter(dead_letters[message.topic], message, reason, "internal")
        finally:
            for follower in followers:
                await follower.close()
            await store.close()


async def _apply_until_stored(
    builder: CatalogBuilder, source: TopicSpec, key: bytes | None, value: bytes | None
) -> None:
    delay = 0.5
    while True:
        try:
            await builder.apply(source, key, value)
            return
        except StoreUnavailableError as exc:
            log.warning("catalog store unavailable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, STORE_RETRY_MAX_S)


async def _dead_letter(topic: Any, message: Any, reason: str, error: str) -> None:
    log.warning("catalog: dead-lettering %s: %s", _position(message), reason.splitlines()[0])
    headers = dead_letter_headers(
        original=_headers(message.headers),
        reason=reason,
        error=error,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        app="catalog",
        failed_at=datetime.now(UTC),
    )
    sent = await topic.send(key=message.key, value=message.value or b"", headers=headers)
    await sent  # delivered before the source offset can be committed: a dead letter is never lost


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    items = raw.items() if isinstance(raw, dict) else (raw or [])
    return [(str(k), v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def _position(message: Any) -> str:
    return f"{message.topic}[{message.partition}]@{message.offset}"
