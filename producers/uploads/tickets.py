"""Upload tickets: everything the service must remember about an upload, signed and held by the client.

The service keeps no upload table: the ticket (a JWT signed with the
service's secret) carries the video id, the storage key and upload id, the
size and the part size; the parts themselves are the storage's own record
(``list_parts``). The metadata waits in storage beside the source (the
ticket holds its SHA-256), so the upload id stays the same short size
whatever the description. Any instance can resume any upload.

Per video, under ``uploads/<video id>/``: ``source`` (the parts, then the
file), ``metadata.json`` (until the upload is announced) and
``complete.json`` (the answer to ``complete``, kept so a retry gets it again).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass

import jwt

from producers.errors import InvalidTicketError

__all__ = [
    "MAX_PARTS",
    "MIN_PART_BYTES",
    "InvalidTicketError",
    "TicketSigner",
    "UploadTicket",
    "metadata_key",
    "part_size_for",
    "receipt_key",
    "sha256_of",
    "source_key",
    "video_id_of",
]

MIN_PART_BYTES = 8 * 1024 * 1024  # S3's minimum is 5 MiB; 8 MiB keeps request counts low
MAX_PARTS = 10_000  # S3's limit
TICKET_TTL_S = 7 * 24 * 3600
_AUDIENCE = "tubestream-upload-ticket"


@dataclass(frozen=True, kw_only=True)
class UploadTicket:
    video_id: str
    uploader_id: str
    key: str
    storage_upload_id: str
    size_bytes: int
    part_size: int
    content_type: str
    metadata_sha256: str  # of the stored metadata.json: what this upload was created with

    @property
    def part_count(self) -> int:
        return max(1, math.ceil(self.size_bytes / self.part_size))

    def expected_size(self, number: int) -> int:
        """Every part is ``part_size`` but the last, which holds the rest."""
        if number < self.part_count:
            return self.part_size
        return self.size_bytes - self.part_size * (self.part_count - 1)


def source_key(video_id: str) -> str:
    return f"uploads/{video_id}/source"


def metadata_key(video_id: str) -> str:
    return f"uploads/{video_id}/metadata.json"


def receipt_key(video_id: str) -> str:
    return f"uploads/{video_id}/complete.json"


def video_id_of(key: str) -> str | None:
    """The video of a source key (``uploads/<video id>/source``); None for any other key."""
    parts = key.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "uploads" and parts[2] == "source" else None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def part_size_for(size_bytes: int) -> int:
    """The smallest whole MiB at or above 8 MiB that fits the file in 10 000 parts."""
    needed = math.ceil(size_bytes / MAX_PARTS)
    mib = 1024 * 1024
    return max(MIN_PART_BYTES, math.ceil(needed / mib) * mib)


class TicketSigner:
    def __init__(self, secret: str) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the ticket secret must be at least 32 bytes")
        self._secret = secret

    def encode(self, ticket: UploadTicket, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {**asdict(ticket), "aud": _AUDIENCE, "exp": issued + TICKET_TTL_S}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def decode(self, token: str) -> UploadTicket:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=_AUDIENCE)
            return UploadTicket(
                video_id=claims["video_id"],
                uploader_id=claims["uploader_id"],
                key=claims["key"],
                storage_upload_id=claims["storage_upload_id"],
                size_bytes=int(claims["size_bytes"]),
                part_size=int(claims["part_size"]),
                content_type=claims["content_type"],
                metadata_sha256=claims["metadata_sha256"],
            )
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
            raise InvalidTicketError(f"not an upload id this service issued: {exc}") from exc
