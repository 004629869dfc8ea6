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
from stream_apps.transcode_planning.agent import register_transcode_planner
from topics.config import KafkaConfig
from views.catalog import CatalogStore
from views.stores import check_store_url, open_catalog_store

__all__ = ["WORKER_APP_NAME", "build_worker_app", "run_worker"]

WORKER_APP_NAME = "tubestream-views"


def build_worker_app(kafka: KafkaConfig, *, catalog_url: str, datadir: Path) -> faust.App:
    check_store_url(catalog_url, view="catalog")  # the agents open it only once Faust has started
    app = create_app(WORKER_APP_NAME, kafka, datadir=datadir)

    def open_catalog() -> CatalogStore:
        return open_catalog_store(catalog_url)

    register_catalog(app, kafka, open_catalog)
    register_transcode_planner(app, kafka)
    return app


def run_worker(app: faust.App, *, loglevel: str = "info") -> NoReturn:
    """Run until SIGINT/SIGTERM; Faust commits what the agents finished and leaves the group."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
    raise SystemExit(0)  # execute_from_commandline exits itself; this keeps the type honest
