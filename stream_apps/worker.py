"""The stream-processing worker: one Faust app holding every view's agents.

Run by ``tubestream worker``; more copies of it share the partitions of its
consumer group. The views' stores are opened from URLs, so the same worker
writes SQLite on one machine and Cassandra beyond it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import faust

from stream_apps.app import create_app
from stream_apps.catalog.agent import register_catalog
from stream_apps.catalog.builder import RowFollower
from stream_apps.search.indexer import SearchIndexer
from stream_apps.transcode_planning.agent import register_transcode_planner
from topics.config import KafkaConfig
from views.catalog import CatalogStore
from views.stores import (
    check_search_url,
    check_store_url,
    open_catalog_store,
    open_playback_store,
    open_search_store,
)

__all__ = ["WORKER_APP_NAME", "build_worker_app", "run_worker"]

WORKER_APP_NAME = "tubestream-views"


def build_worker_app(
    kafka: KafkaConfig,
    *,
    catalog_url: str,
    datadir: Path,
    search_url: str | None = None,
    playback_url: str | None = None,
) -> faust.App:
    """``search_url``: keep the search view in step with the catalog (its popularity read from
    ``playback_url``); none: the catalog alone."""
    check_store_url(catalog_url, view="catalog")  # the agents open them only once Faust has started
    if search_url:
        check_search_url(search_url)
    app = create_app(WORKER_APP_NAME, kafka, datadir=datadir)

    def open_catalog() -> CatalogStore:
        return open_catalog_store(catalog_url)

    def open_followers() -> list[RowFollower]:
        if not search_url:
            return []
        playback = open_playback_store(playback_url) if playback_url else None
        return [SearchIndexer(open_search_store(search_url), playback=playback)]

    register_catalog(app, kafka, open_catalog, open_followers=open_followers)
    register_transcode_planner(app, kafka)
    return app


def run_worker(app: faust.App, *, loglevel: str = "info") -> NoReturn:
    """Run until SIGINT/SIGTERM; Faust commits what the agents finished and leaves the group."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
    raise SystemExit(0)  # execute_from_commandline exits itself; this keeps the type honest
