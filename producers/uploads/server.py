"""Run the upload service as a process (``tubestream upload-service``).

``ssl_context`` (None: plain HTTP) and ``access_log_class`` come from the command
that runs it (``deploy``), which also sets up the process's logging.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Collection

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from blobs.multipart import MultipartBlobStore
from producers.uploads.app import UploadSettings, create_upload_app
from producers.uploads.auth import UploaderAuth
from producers.uploads.tickets import TicketSigner
from topics.async_producer import AsyncEventProducer
from topics.config import KafkaConfig

__all__ = ["run"]


def run(
    *,
    kafka: KafkaConfig,
    blobs: MultipartBlobStore,
    auth: UploaderAuth,
    tickets: TicketSigner,
    host: str,
    port: int,
    max_bytes: int,
    ssl_context: ssl.SSLContext | None,
    access_log_class: type[AbstractAccessLogger],
    cors_origins: Collection[str] = ("*",),
) -> None:
    producer = AsyncEventProducer(kafka, client_id="tubestream-uploads")
    app = create_upload_app(
        blobs=blobs,
        auth=auth,
        tickets=tickets,
        producer=producer,
        settings=UploadSettings(max_bytes=max_bytes),
        cors_origins=cors_origins,
    )

    async def close_producer(_: web.Application) -> AsyncIterator[None]:
        yield
        await producer.close()

    app.cleanup_ctx.append(close_producer)
    scheme = "http" if ssl_context is None else "https"
    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=ssl_context,
        print=lambda _: print(f"upload service on {scheme}://{host}:{port}/v1/uploads", flush=True),
        access_log_class=access_log_class,
    )
