"""The transcode planner's stream app: ``upload-complete`` → ``transcode-requested``.

Reads like a Faust example: topics, then the agent. Undecodable uploads
are the catalog agent's to dead-letter; this agent only skips them.
"""

from __future__ import annotations

import logging

import faust
from faust.types import StreamT

from schemas import codec
from schemas.errors import EventDecodeError
from schemas.registry import UPLOAD_COMPLETE
from stream_apps.transcode_planning.plan import plan_transcode
from topics.catalogue import TRANSCODE_REQUESTED_TOPIC, UPLOAD_COMPLETE_TOPIC
from topics.config import KafkaConfig

__all__ = ["register_transcode_planner"]

log = logging.getLogger(__name__)


def register_transcode_planner(app: faust.App, kafka: KafkaConfig) -> None:
    uploads = app.topic(kafka.topic(UPLOAD_COMPLETE_TOPIC.name), key_serializer="raw", value_serializer="raw")
    requests = app.topic(
        kafka.topic(TRANSCODE_REQUESTED_TOPIC.name), key_serializer="raw", value_serializer="raw"
    )

    @app.agent(uploads, name="plan_transcodes")
    async def plan_transcodes(stream: StreamT[bytes]) -> None:
        async for value in stream:
            try:
                upload = codec.decode(value, UPLOAD_COMPLETE)
            except EventDecodeError:
                continue
            request = plan_transcode(upload)
            if request is None:
                log.info("planner: %s has no probe; no transcode planned", upload.video_id)
                continue
            sent = await requests.send(key=request.video_id.encode(), value=codec.encode(request))
            await sent  # acknowledged before this upload's offset is committed
            log.info("planner: %s → %s (%d renditions)", upload.video_id, request.job_id, len(request.ladder))
