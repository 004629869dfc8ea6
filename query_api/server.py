"""Run the query API as a process (``tubestream api``): open the store, serve, close it on the way out.

``ssl_context`` (None: plain HTTP) and ``access_log_class`` come from the command
that runs it (``deploy``), which also sets up the process's logging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Collection
from datetime import timedelta

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from blobs.errors import BlobError
from blobs.multipart import MultipartBlobStore
from query_api.app import create_app
from query_api.recs_models import ModelHolder, RecsService, TopicModelSource
from query_api.signing import MediaSigner
from query_api.site import WebSettings
from query_api.viewers import ViewerAuth
from topics.config import KafkaConfig
from topics.errors import LogError
from views.stores import (
    open_catalog_store,
    open_for_this_loop,
    open_playback_store,
    open_recs_store,
    open_search_store,
)

__all__ = ["MAX_REQUEST_LINE", "run"]

MAX_REQUEST_LINE = 32 * 1024

log = logging.getLogger(__name__)


def run(
    *,
    catalog_url: str,
    playback_url: str,
    media: MultipartBlobStore | None,
    search_url: str | None = None,
    recs_url: str | None = None,
    kafka: KafkaConfig | None = None,
    model_poll_s: float = 2.0,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    access_log_class: type[AbstractAccessLogger],
    media_base_url: str = "/media/",
    cors_origins: Collection[str] = ("*",),
    web_settings: WebSettings | None = None,
    backfill_horizon: timedelta | None = None,
    media_signer: MediaSigner | None = None,
    viewer_auth: ViewerAuth | None = None,
    reuse_port: bool = False,
) -> None:
    """Serve until SIGINT/SIGTERM; the store is opened before the port is bound, so a bad URL fails fast.

    ``reuse_port``: bind with SO_REUSEPORT, so that several API processes share the port and the
    kernel spreads connections among them (``tubestream api --processes N``).
    The catalog and playback stores are opened for the loop that serves: on Cassandra their
    statements are then sent and answered on it, with no driver thread in between.
    """
    loop = asyncio.new_event_loop()
    try:
        catalog = loop.run_until_complete(open_for_this_loop(open_catalog_store, catalog_url))
        try:
            playback = loop.run_until_complete(open_for_this_loop(open_playback_store, playback_url))
        except BaseException:
            loop.run_until_complete(catalog.close())
            raise
    except BaseException:
        loop.close()
        raise
    search = open_search_store(search_url) if search_url else None
    interactions = open_recs_store(recs_url) if recs_url else None
    recs = None
    if interactions is not None:
        source = TopicModelSource(kafka, media) if kafka is not None and media is not None else None
        recs = RecsService(interactions=interactions, models=ModelHolder(source))
    app = create_app(
        catalog=catalog,
        playback=playback,
        search=search,
        recs=recs,
        media=media,
        media_base_url=media_base_url,
        cors_origins=cors_origins,
        web_settings=web_settings,
        backfill_horizon=backfill_horizon,
        media_signer=media_signer,
        viewer_auth=viewer_auth,
    )

    async def close_store(_: web.Application) -> AsyncIterator[None]:
        refresher = None
        if recs is not None:  # the newest model before the first request, then a look every few seconds
            await _first_model(recs.models)
            refresher = asyncio.create_task(recs.models.keep_fresh(model_poll_s))
        yield
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        if interactions is not None:
            await interactions.close()
        await catalog.close()
        await playback.close()
        if search is not None:
            await search.close()

    app.cleanup_ctx.append(close_store)
    scheme = "http" if ssl_context is None else "https"
    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=ssl_context,
        print=lambda _: print(f"query API on {scheme}://{host}:{port}/ (catalog: {catalog_url})", flush=True),
        access_log_class=access_log_class,
        # aiohttp refuses request lines over 8 KiB itself, in plain text; at 32 KiB a long search query
        # reaches the handlers and gets the JSON 400 that says what is wrong
        max_line_size=MAX_REQUEST_LINE,
        reuse_port=reuse_port or None,
        loop=loop,
    )


async def _first_model(models: ModelHolder) -> None:
    try:
        await models.refresh()
    except (LogError, BlobError) as exc:  # serve the fallback lists meanwhile; keep_fresh tries again
        log.warning("recs: no model loaded at start: %s", exc)
