"""A video's title, description, tags and visibility, checked against the documented limits at create. Pure.

Checked at create, before anything is stored, because everything after the
commit must succeed: a lone surrogate has no UTF-8 form, so the event could
not be written once the parts were already joined. Control characters and
bidirectional overrides are refused too: they let a title show other text
than it holds (``gnp.exe`` written backwards reads as ``exe.png``). A
description may hold line breaks and tabs; nothing else may.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from producers.errors import InvalidMetadataError
from schemas.upload_complete import Visibility

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_TAG",
    "MAX_TAGS",
    "MAX_TITLE",
    "InvalidMetadataError",
    "VideoMetadata",
    "Visibility",
    "check_metadata",
]

MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 30
MAX_TAG = 40
# LRE, RLE, PDF, LRO, RLO, and LRI, RLI, FSI, PDI: they reorder the text around them when shown
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_LAYOUT = frozenset("\n\r\t")  # allowed in a description only


@dataclass(frozen=True, kw_only=True)
class VideoMetadata:
    title: str
    description: str
    tags: tuple[str, ...]
    visibility: Visibility = Visibility.PUBLIC

    def to_json(self) -> bytes:
        fields = {
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "visibility": self.visibility.value,
        }
        return json.dumps(fields).encode()

    @classmethod
    def from_json(cls, data: bytes) -> VideoMetadata:
        """Checked again: what is read back is held to the same limits as what was given."""
        try:
            body = json.loads(data)
        except ValueError as exc:
            raise InvalidMetadataError(f"stored metadata is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise InvalidMetadataError("stored metadata is not a JSON object")
        return check_metadata(body)


def check_metadata(body: Mapping[str, Any]) -> VideoMetadata:
    """The metadata of a create request; ``InvalidMetadataError`` naming the field first otherwise."""
    title = body.get("title")
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= MAX_TITLE:
        raise InvalidMetadataError(f"title must be a string of 1 to {MAX_TITLE} characters (not only spaces)")
    title = title.strip()
    _check_characters("title", title)

    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise InvalidMetadataError(f"description must be a string of at most {MAX_DESCRIPTION} characters")
    _check_characters("description", description, allowed=_LAYOUT)

    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise InvalidMetadataError(f"tags must be a list of at most {MAX_TAGS} strings")
    clean: list[str] = []
    for number, tag in enumerate(tags, start=1):
        if not isinstance(tag, str) or not 1 <= len(tag.strip()) <= MAX_TAG:
            raise InvalidMetadataError(f"tag {number} must be a string of 1 to {MAX_TAG} characters")
        _check_characters(f"tag {number}", tag.strip())
        clean.append(tag.strip())
    visibility = body.get("visibility", Visibility.PUBLIC.value)
    if not isinstance(visibility, str) or visibility not in Visibility.__members__.values():
        known = ", ".join(v.value for v in Visibility)
        raise InvalidMetadataError(f"visibility must be one of {known}, got {visibility!r}")
    return VideoMetadata(
        title=title, description=description, tags=tuple(clean), visibility=Visibility(visibility)
    )


def _check_characters(field: str, text: str, *, allowed: frozenset[str] = frozenset()) -> None:
    for position, char in enumerate(text, start=1):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            what = "a lone surrogate"
        elif char in allowed:
            continue
        elif unicodedata.category(char) == "Cc":
            what = "a control character"
        elif char in BIDI_CONTROLS:
            what = "a bidirectional override"
        else:
            continue
        raise InvalidMetadataError(f"{field} contains {what} (U+{code:04X}) at character {position}")
