"""Run the query API as a process (``tubestream api``): open the store, serve, close it on the way out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection

from aiohttp import web

from blobs.multipart import MultipartBlobStore
from query_api.app import create_app
from views.stores import open_catalog_store, open_playback_store, open_search_store

__all__ = ["MAX_REQUEST_LINE", "run"]

MAX_REQUEST_LINE = 32 * 1024


def run(
    *,
    catalog_url: str,
    playback_url: str,
    media: MultipartBlobStore | None,
    search_url: str | None = None,
    host: str,
    port: int,
    media_base_url: str = "/media/",
    cors_origins: Collection[str] = ("*",),
) -> None:
    """Serve until SIGINT/SIGTERM; the store is opened before the port is bound, so a bad URL fails fast."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    catalog = open_catalog_store(catalog_url)
    playback = open_playback_store(playback_url)
    search = open_search_store(search_url) if search_url else None
    app = create_app(
        catalog=catalog,
        playback=playback,
        search=search,
        media=media,
        media_base_url=media_base_url,
        cors_origins=cors_origins,
    )

    async def close_store(_: web.Application) -> AsyncIterator[None]:
        yield
        await catalog.close()
        await playback.close()
        if search is not None:
            await search.close()

    app.cleanup_ctx.append(close_store)
    web.run_app(
        app,
        host=host,
        port=port,
        print=lambda _: print(f"query API on http://{host}:{port}/ (catalog: {catalog_url})", flush=True),
        access_log_format='%a "%r" %s %b %Tfs',
        # aiohttp refuses request lines over 8 KiB itself, in plain text; at 32 KiB a long search query
        # reaches the handlers and gets the JSON 400 that says what is wrong
        max_line_size=MAX_REQUEST_LINE,
    )
