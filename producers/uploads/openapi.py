"""The OpenAPI 3.1 description of the upload service, served at ``/openapi.json``.

Written by hand beside the routes; the test suite fuzzes the service from it
(``tests/producers/uploads/test_fuzz.py``) and checks that it names every route.
The local store's part and object routes are signed URLs the service hands out,
not an API to call by hand; they are described so that fuzzing reaches them too.
"""

from __future__ import annotations

from typing import Any

from blobs.local import OBJECTS_PATH, PARTS_PATH
from producers.uploads.metadata import MAX_DESCRIPTION, MAX_TAG, MAX_TAGS, MAX_TITLE
from producers.uploads.tickets import MAX_PARTS

__all__ = ["openapi_document"]

_ERROR = {"$ref": "#/components/responses/Error"}
_UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"}}
_AUTH: list[dict[str, list[str]]] = [{"uploaderToken": []}]
_ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def openapi_document(*, local_store: bool) -> dict[str, Any]:
    """``local_store``: the service also serves the local blob store's signed part and object URLs."""
    create = {
        "type": "object",
        "required": ["size_bytes", "content_type", "title"],
        "properties": {
            "size_bytes": {"type": "integer", "minimum": 1},
            "content_type": {"type": "string", "pattern": "^video/"},
            "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
            "tags": {
                "type": "array",
                "maxItems": MAX_TAGS,
                "items": {"type": "string", "minLength": 1, "maxLength": MAX_TAG},
            },
            "visibility": {"type": "string", "enum": ["public", "unlisted", "private"], "default": "public"},
        },
    }
    paths: dict[str, Any] = {
        "/v1/uploads": {
            "post": {
                "summary": "Start an upload: its id, part size and pre-signed part URLs",
                "security": _AUTH,
                "requestBody": {"required": True, "content": {"application/json": {"schema": create}}},
                "responses": _answers("201", "The upload", 400, 401, 413, 415, 503),
            }
        },
        "/v1/uploads/{upload_id}": {
            "get": {
                "summary": "Which parts storage has (resume, progress)",
                "security": _AUTH,
                "parameters": [_UPLOAD_ID],
                "responses": _answers("200", "The upload's state", 400, 401, 403, 404, 410),
            },
            "delete": {
                "summary": "Abort the upload",
                "security": _AUTH,
                "parameters": [_UPLOAD_ID],
                "responses": _answers("200", "Aborted", 400, 401, 403, 404, 410),
            },
        },
        "/v1/uploads/{upload_id}/parts": {
            "post": {
                "summary": "Fresh URLs for some parts",
                "security": _AUTH,
                "parameters": [_UPLOAD_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["numbers"],
                                "properties": {
                                    "numbers": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": MAX_PARTS,
                                        "items": {"type": "integer", "minimum": 1},
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": _answers("200", "Part URLs", 400, 401, 403, 404, 410),
            }
        },
        "/v1/uploads/{upload_id}/complete": {
            "post": {
                "summary": "Check the parts, join them, probe, publish upload-complete (safe to retry)",
                "security": _AUTH,
                "parameters": [_UPLOAD_ID],
                "responses": _answers("200", "The video id", 400, 401, 403, 404, 409, 410, 422, 503),
            }
        },
        "/healthz": {
            "get": {
                "summary": "200, or 503 while every probe slot has been busy too long",
                "responses": _answers("200", "Healthy", 503),
            }
        },
        "/openapi.json": {
            "get": {"summary": "This document", "responses": {"200": _json("OpenAPI", {"type": "object"})}}
        },
    }
    if local_store:
        signed = [
            {"name": name, "in": "query", "schema": {"type": "string"}}
            for name in ("key", "upload_id", "part", "length", "expires", "signature")
        ]
        paths[PARTS_PATH] = {
            "put": {
                "summary": "A part's bytes, through the URL the service signed (exactly its signed length)",
                "parameters": signed,
                "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string"}}}},
                "responses": _answers("200", "Stored; its ETag in the header", 400, 403, 410, 413),
            }
        }
        paths[OBJECTS_PATH] = {
            "get": {
                "summary": "An object, through the URL the service signed (ranges)",
                "parameters": [p for p in signed if p["name"] in ("key", "expires", "signature")],
                "responses": {"200": {"description": "The bytes"}, "403": _ERROR, "404": _ERROR},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tubestream upload service",
            "version": "1",
            "description": "Pre-signed multipart uploads straight to storage, a probe, upload-complete.",
        },
        "paths": paths,
        "components": {
            "schemas": {
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
                }
            },
            "responses": {
                "Error": _json("An error saying what is wrong", {"$ref": "#/components/schemas/Error"})
            },
            "securitySchemes": {"uploaderToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _answers(ok: str, description: str, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {ok: _json(description, {"type": "object"})}
    answers.update({str(status): _ERROR for status in errors})
    return answers


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
