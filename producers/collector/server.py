"""Run the playback collector as a process (``tubestream collector``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from producers.collector.app import create_collector_app
from producers.collector.pseudonyms import Pseudonymizer
from producers.collector.tokens import PlayerTokens
from topics.async_producer import AsyncEventProducer
from topics.config import KafkaConfig

__all__ = ["run"]


def run(*, kafka: KafkaConfig, host: str, port: int, token_secret: str, pseudonym_key: bytes) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    tokens, pseudonyms = PlayerTokens(token_secret), Pseudonymizer(pseudonym_key)  # bad keys fail first
    producer = AsyncEventProducer(kafka, client_id="tubestream-collector")
    app = create_collector_app(producer=producer, tokens=tokens, pseudonyms=pseudonyms)

    async def close_producer(_: web.Application) -> AsyncIterator[None]:
        yield
        await producer.close()  # every accepted event is delivered before the process ends

    app.cleanup_ctx.append(close_producer)
    web.run_app(
        app,
        host=host,
        port=port,
        print=lambda _: print(f"playback collector on http://{host}:{port}/v1/playback/events", flush=True),
        access_log_format='%a "%r" %s %b %Tfs',
    )
