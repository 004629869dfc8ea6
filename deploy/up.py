"""``tubestream up``: the whole platform on its embedded defaults, in one terminal.

Kafka first (reused when one already answers, skipped when
``KAFKA_BOOTSTRAP`` points elsewhere), then the topics, then the worker and
the query API as child processes of one ``Supervisor``.
"""

from __future__ import annotations

import sys

from deploy.local_kafka import LocalKafka
from deploy.settings import Settings
from deploy.supervisor import Component, Supervisor
from topics.admin import apply_topics, wait_for_broker

__all__ = ["run_platform"]


def _tubestream(*args: str) -> list[str]:
    return [sys.executable, "-m", "deploy.cli", *args]


def run_platform(settings: Settings) -> int:
    sup = Supervisor()
    try:
        if settings.local_kafka:
            kafka = LocalKafka(settings.kafka_home, port=settings.kafka_port)
            if kafka.answering():
                sup.say("up", f"reusing the Kafka broker on {kafka.bootstrap}")
            else:
                if not kafka.fetched():
                    sup.say("up", "fetching Apache Kafka from Maven Central (once; a minute or two)")
                    kafka.fetch()
                proc = sup.start(Component("kafka", _tubestream("kafka", "run")))
                kafka.wait_ready(timeout_s=120.0, process=proc)
        sup.say("up", f"Kafka ready at {settings.kafka.bootstrap}")
        wait_for_broker(settings.kafka, timeout_s=60.0)
        created = [c.topic for c in apply_topics(settings.kafka) if c.action == "created"]
        sup.say("up", f"topics applied ({len(created)} created)")
        sup.start(Component("worker", _tubestream("worker")))
        sup.start(Component("analytics", _tubestream("analytics", "run")))
        sup.start(Component("recs", _tubestream("recs", "run")))
        sup.start(Component("transcoder", _tubestream("transcoder")))
        sup.start(Component("api", _tubestream("api")))
        sup.start(Component("collector", _tubestream("collector")))
        sup.start(Component("uploads", _tubestream("upload-service")))
    except BaseException:
        sup.stop_all()
        raise
    base = f"{settings.web_scheme}://{settings.api_host}:{settings.api_port}"
    for line in (
        f"tubestream is up: query API on {base}/ (OpenAPI at {base}/openapi.json)",
        f"  the web app: open {base}/ in a browser (watch, search, upload)",
        "try it in another terminal:",
        "  tubestream publish upload-complete deploy/examples/upload-complete.json",
        f"  curl {base}/v1/videos",
        f"  playback: POST {settings.web_scheme}://{settings.api_host}:{settings.collector_port}"
        "/v1/playback/events "
        "with a token from `tubestream player-token VIEWER`",
        "  tubestream upload my-video.mp4 --title 'My video'   (then watch it transcode in /v1/videos)",
        "Ctrl-C stops everything.",
    ):
        sup.say("up", line)
    return sup.wait()
