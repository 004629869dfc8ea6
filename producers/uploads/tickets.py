"""Upload tickets: everything the service must remember about an upload, signed and held by the client.

The service keeps no upload table: the ticket (a JWT signed with the
service's secret) carries the video id, the storage key and upload id, the
size, the part size and the metadata; the parts themselves are the
storage's own record (``list_parts``). Any instance can resume any upload.
"""

from __future__ import annotations

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
    "part_size_for",
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
    title: str
    description: str
    tags: tuple[str, ...]

    @property
    def part_count(self) -> int:
        return max(1, math.ceil(self.size_bytes / self.part_size))

    def expected_size(self, number: int) -> int:
        """Every part is ``part_size`` but the last, which holds the rest."""
        if number < self.part_count:
            return self.part_size
        return self.size_bytes - self.part_size * (self.part_count - 1)


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
        claims = {**asdict(ticket), "tags": list(ticket.tags), "aud": _AUDIENCE, "exp": issued + TICKET_TTL_S}
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
                title=claims["title"],
                description=claims["description"],
                tags=tuple(claims["tags"]),
            )
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError) as exc:
            raise InvalidTicketError(f"not an upload id this service issued: {exc}") from exc
