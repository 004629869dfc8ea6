"""Run the playback collector as a process (``tubestream collector``).

``ssl_context`` (None: plain HTTP) and ``access_log_class`` come from the command
that runs it (``deploy``), which also sets up the process's logging.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Collection
from datetime import timedelta

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from producers.collector.app import create_collector_app
from producers.collector.intake import DEFAULT_BACKFILL_HORIZON
from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from topics.async_producer import AsyncEventProducer
from topics.config import KafkaConfig

__all__ = ["run"]


def run(
    *,
    kafka: KafkaConfig,
    host: str,
    port: int,
    token_secret: str,
    pseudonym_key: bytes,
    ssl_context: ssl.SSLContext | None,
    access_log_class: type[AbstractAccessLogger],
    cors_origins: Collection[str] = ("*",),
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
) -> None:
    tokens, pseudonyms = PlayerTokens(token_secret), Pseudonymizer(pseudonym_key)  # bad keys fail first
    producer = AsyncEventProducer(kafka, client_id="tubestream-collector")
    app = create_collector_app(
        producer=producer,
        tokens=tokens,
        pseudonyms=pseudonyms,
        cors_origins=cors_origins,
        backfill_horizon=backfill_horizon,
    )

    async def close_producer(_: web.Application) -> AsyncIterator[None]:
        yield
        await producer.close()  # every accepted event is delivered before the process ends

    app.cleanup_ctx.append(close_producer)
    scheme = "http" if ssl_context is None else "https"
    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=ssl_context,
        print=lambda _: print(
            f"playback collector on {scheme}://{host}:{port}/v1/playback/events", flush=True
        ),
        access_log_class=access_log_class,
    )
