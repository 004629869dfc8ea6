"""The OpenAPI 3.1 description of the playback collector, served at ``/openapi.json``.

Written by hand beside the routes, as the query API's is; the test suite fuzzes the collector from it
(``tests/producers/collector/test_fuzz.py``) and checks that it names every route.
"""

from __future__ import annotations

from typing import Any

from producers.collector.intake import MAX_BATCH, MAX_TEXT
from schemas.playback_event import MAX_MEDIA_MS, PlaybackKind

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_KINDS = [k.value for k in PlaybackKind] + [k.value.lower() for k in PlaybackKind]


def openapi_document() -> dict[str, Any]:
    event = {
        "type": "object",
        "required": ["event_id", "session_id", "video_id", "kind", "position_ms", "occurred_at"],
        "additionalProperties": False,
        "properties": {
            "event_id": {
                "type": "string",
                "format": "uuid",
                "description": "made by the player, kept on retry",
            },
            "session_id": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
            "video_id": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
            "kind": {"type": "string", "enum": _KINDS},
            "position_ms": {"type": "integer", "minimum": 0, "maximum": MAX_MEDIA_MS},
            "occurred_at": {
                "description": "ISO-8601 with a zone, or epoch milliseconds",
                "oneOf": [{"type": "string", "format": "date-time"}, {"type": "integer", "minimum": 0}],
            },
            "rendition": {"type": ["string", "null"], "maxLength": MAX_TEXT},
            "duration_ms": {"type": ["integer", "null"], "minimum": 0},
            "video_duration_ms": {"type": ["integer", "null"], "minimum": 0},
            "client": {"type": ["string", "null"], "maxLength": MAX_TEXT},
        },
    }
    batch = {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_BATCH,
        "items": {"$ref": "#/components/schemas/Event"},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tubestream playback collector",
            "version": "1",
            "description": "Players send playback events; 202 means Kafka has every event of the batch.",
        },
        "paths": {
            "/v1/playback/events": {
                "post": {
                    "summary": "A batch of playback events, validated and refused whole",
                    "security": [{"playerToken": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Event"},
                                        batch,
                                        {
                                            "type": "object",
                                            "required": ["events"],
                                            "properties": {"events": batch},
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _json("Every event is on Kafka", {"type": "object"}),
                        "400": _ERROR,
                        "401": _ERROR,
                        "403": _ERROR,
                        "413": _ERROR,
                        "429": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/playback/ws": {
                "get": {
                    "summary": "A WebSocket: one JSON batch per text message, one answer each",
                    "parameters": [{"name": "token", "in": "query", "schema": {"type": "string"}}],
                    "responses": {"101": {"description": "Switching protocols"}, "401": _ERROR},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "200 while Kafka answers, 503 with the reason while it does not",
                    "responses": {
                        "200": _json("Healthy", {"type": "object"}),
                        "503": _json("Kafka down", {"type": "object"}),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json("OpenAPI", {"type": "object"})},
                }
            },
        },
        "components": {
            "schemas": {
                "Event": event,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["status", "message"],
                            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}},
                        }
                    },
                },
            },
            "responses": {
                "Error": _json("An error saying what is wrong", {"$ref": "#/components/schemas/Error"})
            },
            "securitySchemes": {"playerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
