"""Run the query API as a process (``tubestream api``): open the store, serve, close it on the way out.

``ssl_context`` (None: plain HTTP) and ``access_log_class`` come from the command
that runs it (``deploy``), which also sets up the process's logging.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Collection

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

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
    ssl_context: ssl.SSLContext | None,
    access_log_class: type[AbstractAccessLogger],
    media_base_url: str = "/media/",
    cors_origins: Collection[str] = ("*",),
) -> None:
    """Serve until SIGINT/SIGTERM; the store is opened before the port is bound, so a bad URL fails fast."""
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
    )
