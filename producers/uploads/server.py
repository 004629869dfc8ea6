"""Run the upload service as a process (``tubestream upload-service``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

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
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    producer = AsyncEventProducer(kafka, client_id="tubestream-uploads")
    app = create_upload_app(
        blobs=blobs,
        auth=auth,
        tickets=tickets,
        producer=producer,
        settings=UploadSettings(max_bytes=max_bytes),
    )

    async def close_producer(_: web.Application) -> AsyncIterator[None]:
        yield
        await producer.close()

    app.cleanup_ctx.append(close_producer)
    web.run_app(
        app,
        host=host,
        port=port,
        print=lambda _: print(f"upload service on http://{host}:{port}/v1/uploads", flush=True),
        access_log_format='%a "%r" %s %b %Tfs',
    )
