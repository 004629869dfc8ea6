"""Rebuild the catalog view from offset 0 of its topics into a (usually empty) store.

Kafka is the source of truth: this is the same ``CatalogBuilder`` the live
agent uses, fed by a bounded read of every message written so far. Messages
the live agent dead-lettered are skipped here the same way and counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from stream_apps.catalog.builder import CATALOG_SOURCES, CatalogBuilder
from stream_apps.errors import RejectedMessageError
from topics.config import KafkaConfig
from topics.log import read_to_end
from views.catalog import CatalogStore

__all__ = ["RebuildReport", "rebuild_catalog"]


@dataclass(frozen=True)
class RebuildReport:
    messages: int
    rejected: int
    videos: int


async def rebuild_catalog(kafka: KafkaConfig, store: CatalogStore) -> RebuildReport:
    by_name = {kafka.topic(spec.name): spec for spec in CATALOG_SOURCES}
    builder = CatalogBuilder(store)
    messages = rejected = 0
    for record in read_to_end(kafka, list(by_name)):
        messages += 1
        try:
            await builder.apply(by_name[record.topic], record.key, record.value)
        except RejectedMessageError:
            rejected += 1
    return RebuildReport(messages=messages, rejected=rejected, videos=len(await store.scan()))
