"""The OpenAPI 3.1 description of the query API, served at ``/openapi.json``.

Written by hand beside the handlers; tests check that every route the app
serves is described here and that the Video, VideoPage and Error schemas
name exactly the fields real answers carry.
"""

from __future__ import annotations

from typing import Any

from query_api.analytics import MAX_TRENDING
from query_api.recs import DEFAULT_LIMIT as RECS_DEFAULT
from query_api.recs import MAX_LIMIT as RECS_MAX
from query_api.search import MAX_QUERY_LENGTH
from query_api.site import web_paths
from views.catalog import MAX_PAGE_SIZE
from views.search.model import MAX_SUGGESTIONS, DurationBucket, SearchSort

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_WINDOW = {"type": "string", "enum": ["1h", "24h"], "default": "1h"}
_TIME = {"type": "string", "format": "date-time"}
_STATS = {
    "type": "object",
    "properties": {
        "video_id": {"type": "string"},
        "from": _TIME,
        "to": _TIME,
        "step_s": {"type": "integer"},
        "final_until": {**_TIME, "description": "minutes starting before this are final"},
        "settled_until": {**_TIME, "description": "before this only backfills can change a minute"},
        "provisional_from": {**_TIME, "description": "where the range stops being final (== to: all final)"},
        "totals": {"type": "object"},
        "points": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "start": _TIME,
                    "end": _TIME,
                    "status": {"type": "string", "enum": ["final", "settled", "open"]},
                },
            },
        },
    },
}
_DURATIONS = [d.value for d in DurationBucket]
_SORTS = [s.value for s in SearchSort]


def openapi_document() -> dict[str, Any]:
    """The document served at ``/openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tubestream query API",
            "version": "1",
            "description": "Reads the views that tubestream's stream processors build from Kafka.",
        },
        "paths": {
            "/v1/videos/{video_id}": {
                "get": {
                    "summary": "One video from the catalog",
                    "description": (
                        "An unlisted video is read by anyone with its id, its media URLs signed and "
                        "expiring; a private one only with its uploader's player or upload token as "
                        "`Authorization: Bearer`, and is a 404 for anyone else."
                    ),
                    "parameters": [
                        {"name": "video_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json("The video", {"$ref": "#/components/schemas/Video"}),
                        "400": _ERROR,
                        "401": _ERROR,
                        "404": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/videos": {
                "get": {
                    "summary": "Videos, newest first, one page at a time",
                    "parameters": [
                        {"name": "limit", "in": "query", "schema": _limit(default=20, maximum=MAX_PAGE_SIZE)},
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "next_cursor of the previous page, unchanged",
                            "schema": {"type": "string"},
                        },
                    ],
                    "responses": {
                        "200": _json("A page of videos", {"$ref": "#/components/schemas/VideoPage"}),
                        "400": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/videos/{video_id}/stats": {
                "get": {
                    "summary": "Playback stats of one video per step: views (once per session after 10 s, "
                    "or half of a short video), unique viewers, watch time, average view duration, "
                    "rebuffer ratio, quality switches, rendition mix, late events",
                    "description": (
                        "Late events (a phone that played offline, a backlog after a collector outage) "
                        "are counted in their own minute as long as they arrive within the backfill "
                        "horizon (`TUBESTREAM_BACKFILL_HORIZON_HOURS`, 7 days by default), so recent "
                        "numbers can still grow. Minutes starting before `final_until` are final; "
                        "`provisional_from` is where the provisional part of the range begins; each "
                        "point's `status` is `final`, `settled` (past `settled_until`: on-time events "
                        "are in, only backfills may still change it) or `open`. `late_events` counts the "
                        "backfilled events among `events`; `expired_events` those received past the "
                        "horizon, counted nowhere else (the collector refuses them)."
                    ),
                    "parameters": [
                        {"name": "video_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "step", "in": "query", "schema": {"type": "string", "example": "1m"}},
                    ],
                    "responses": {"200": _json("Stats", _STATS), "400": _ERROR, "503": _ERROR},
                }
            },
            "/v1/trending": {
                "get": {
                    "summary": "Videos by decayed unique views over a sliding window",
                    "description": (
                        "Served from the board the analytics worker rebuilds every few seconds "
                        "(`source: board`, scored at `generated_at`); scored from the minutes on the "
                        "spot (`source: live`) while no fresh board exists."
                    ),
                    "parameters": [
                        {"name": "window", "in": "query", "schema": _WINDOW},
                        {"name": "limit", "in": "query", "schema": _limit(default=10, maximum=MAX_TRENDING)},
                    ],
                    "responses": {"200": _json("Trending", {"type": "object"}), "400": _ERROR, "503": _ERROR},
                }
            },
            "/v1/search": {
                "get": {
                    "summary": "Full-text search of watchable videos: titles, tags, uploaders and "
                    "descriptions, typos forgiven (one from 5 letters, two from 9), the last word a prefix",
                    "description": "Relevance blends the text score with views of the last 7 days. Give q, "
                    "a filter, or both. The cursor only continues the query it came from.",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
                        },
                        {
                            "name": "tags",
                            "in": "query",
                            "description": "comma-separated; every tag must be on the video",
                            "schema": {"type": "string"},
                        },
                        {"name": "uploader", "in": "query", "schema": {"type": "string"}},
                        {"name": "duration", "in": "query", "schema": {"type": "string", "enum": _DURATIONS}},
                        {
                            "name": "uploaded_after",
                            "in": "query",
                            "schema": {"type": "string", "format": "date-time"},
                        },
                        {"name": "sort", "in": "query", "schema": {"type": "string", "enum": _SORTS}},
                        {"name": "limit", "in": "query", "schema": _limit(default=20, maximum=MAX_PAGE_SIZE)},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _json("A page of hits", {"$ref": "#/components/schemas/SearchPage"}),
                        "400": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/search/suggest": {
                "get": {
                    "summary": "Completions while typing: titles with a word starting with q "
                    "(typos forgiven), most watched first",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": _limit(default=10, maximum=MAX_SUGGESTIONS),
                        },
                    ],
                    "responses": {
                        "200": _json("Suggestions", {"type": "object"}),
                        "400": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/users/{viewer}/recommendations": {
                "get": {
                    "summary": "Videos for one viewer: implicit ALS with their latest watches folded in at "
                    "request time; watched and not-ready videos left out, at most 3 per uploader",
                    "description": "viewer is the pseudonym the collector writes into playback events "
                    "(a keyed HMAC of the player token's sub), never a raw id. A viewer with no known "
                    "watches gets source popular: the model's most popular and the newest ready videos.",
                    "parameters": [
                        {"name": "viewer", "in": "path", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": _limit(default=RECS_DEFAULT, maximum=RECS_MAX),
                        },
                    ],
                    "responses": {
                        "200": _json("Recommendations", {"$ref": "#/components/schemas/VideoList"}),
                        "400": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/v1/videos/{video_id}/related": {
                "get": {
                    "summary": "Videos like this one: the model's item-item similarity blended with shared "
                    "tags and title words, so a video nobody watched yet has related videos too",
                    "parameters": [
                        {"name": "video_id", "in": "path", "required": True, "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": _limit(default=RECS_DEFAULT, maximum=RECS_MAX),
                        },
                    ],
                    "responses": {
                        "200": _json("Related videos", {"$ref": "#/components/schemas/VideoList"}),
                        "400": _ERROR,
                        "404": _ERROR,
                        "503": _ERROR,
                    },
                }
            },
            "/media/{key}": {
                "get": {
                    "summary": "A published rendition, manifest or thumbnail (a redirect to storage on S3)",
                    "parameters": [
                        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {"description": "The file"},
                        "302": {"description": "To storage"},
                        "404": _ERROR,
                    },
                }
            },
            "/media/s/{expires}/{signature}/{key}": {
                "get": {
                    "summary": "A file of an unlisted or private video, under its resource's signed prefix",
                    "parameters": [
                        {"name": "expires", "in": "path", "required": True, "schema": {"type": "integer"}},
                        {"name": "signature", "in": "path", "required": True, "schema": {"type": "string"}},
                        {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The file (Cache-Control: private)"},
                        "302": {"description": "To storage"},
                        "403": _ERROR,
                        "404": _ERROR,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Whether the API can read its stores",
                    "responses": {
                        "200": _json("Healthy", {"type": "object"}),
                        "503": _ERROR,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json("OpenAPI", {"type": "object"})},
                }
            },
            **web_paths(),
        },
        "components": {
            "schemas": {
                "Video": {
                    "type": "object",
                    "required": ["id", "status", "title", "renditions"],
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string", "enum": ["uploaded", "processing", "ready", "failed"]},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "visibility": {"type": "string", "enum": ["public", "unlisted", "private"]},
                        "uploader_id": {"type": "string"},
                        "created_at": {"type": ["string", "null"], "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "duration_ms": {
                            "type": ["integer", "null"],
                            "description": "the upload's probed length, else the packaged video's",
                        },
                        "width": {"type": ["integer", "null"]},
                        "height": {"type": ["integer", "null"]},
                        "size_bytes": {"type": "integer"},
                        "content_type": {"type": "string"},
                        "progress_pct": {"type": ["number", "null"], "description": "while processing"},
                        "failure_reason": {"type": ["string", "null"], "description": "when failed"},
                        "renditions": {"type": "array", "items": {"$ref": "#/components/schemas/Rendition"}},
                        "hls_url": {"type": ["string", "null"]},
                        "dash_url": {"type": ["string", "null"]},
                        "poster_url": {
                            "type": ["string", "null"],
                            "description": "JPEG; null until transcoded",
                        },
                        "storyboard_url": {
                            "type": ["string", "null"],
                            "description": "WebVTT thumbnail track: each cue is a sprite sheet's URL "
                            "relative to the track, with #xywh=x,y,w,h; null until transcoded",
                        },
                    },
                },
                "Rendition": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "codec": {"type": "string"},
                        "width": {"type": "integer"},
                        "height": {"type": "integer"},
                        "bitrate_kbps": {
                            "type": "integer",
                            "description": "measured: the segments' bytes over their duration (the target "
                            "for renditions transcoded before bitrates were measured)",
                        },
                        "peak_bitrate_kbps": {
                            "type": ["integer", "null"],
                            "description": "measured: the busiest run of segments (HLS BANDWIDTH)",
                        },
                        "target_bitrate_kbps": {"type": "integer", "description": "the encoder's target"},
                        "segment_duration_s": {"type": "number"},
                        "encoder": {"type": "string"},
                        "manifest_url": {"type": ["string", "null"]},
                    },
                },
                "VideoPage": {
                    "type": "object",
                    "required": ["videos", "next_cursor"],
                    "properties": {
                        "videos": {"type": "array", "items": {"$ref": "#/components/schemas/Video"}},
                        "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
                    },
                },
                "SearchPage": {
                    "type": "object",
                    "required": ["total", "videos", "facets", "next_cursor"],
                    "properties": {
                        "total": {"type": "integer"},
                        "videos": {
                            "type": "array",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/Video"},
                                    {
                                        "type": "object",
                                        "properties": {
                                            "score": {"type": "number"},
                                            "highlights": {
                                                "type": "object",
                                                "description": "field → text, matched words in <mark>",
                                                "additionalProperties": {"type": "string"},
                                            },
                                        },
                                    },
                                ]
                            },
                        },
                        "facets": {
                            "type": "object",
                            "properties": {
                                "tags": {"type": "object", "additionalProperties": {"type": "integer"}},
                                "duration": {"type": "object", "additionalProperties": {"type": "integer"}},
                            },
                        },
                        "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
                    },
                },
                "VideoList": {
                    "type": "object",
                    "required": ["videos", "model_version"],
                    "properties": {
                        "viewer": {"type": "string"},
                        "video_id": {"type": "string"},
                        "source": {"type": "string", "enum": ["personal", "popular"]},
                        "model_version": {"type": ["string", "null"], "description": "null: no model yet"},
                        "videos": {
                            "type": "array",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/Video"},
                                    {"type": "object", "properties": {"score": {"type": ["number", "null"]}}},
                                ]
                            },
                        },
                    },
                },
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
            "responses": {"Error": _json("An error, with a message saying what is wrong", _error_ref())},
        },
    }


def _limit(*, default: int, maximum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_ref() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Error"}
