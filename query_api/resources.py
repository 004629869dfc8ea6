"""What a client sees of a catalog row: the JSON resource, built by pure functions.

Storage keys become URLs under the media base (the media server or a CDN);
bookkeeping of the projection (which job a percent belongs to) stays inside.
A rendition's ``bitrate_kbps`` is what its segments measured (the mean, HLS
AVERAGE-BANDWIDTH), the encoder's target where a rendition was reported
before the transcoder measured (``target_bitrate_kbps`` is always the target).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from views.catalog import RenditionRecord, VideoRecord, VideoStatus

__all__ = ["rendition_resource", "video_resource"]


def video_resource(video: VideoRecord, *, media_base_url: str) -> dict[str, Any]:
    """The video as clients see it: only the current job's renditions, progress and failure."""
    current = [r for r in video.renditions if not video.job_id or r.job_id == video.job_id]
    in_progress = video.status is VideoStatus.PROCESSING and video.progress_job_id == video.job_id
    return {
        "id": video.video_id,
        "status": video.status.value,
        "title": video.title,
        "description": video.description,
        "tags": list(video.tags),
        "visibility": video.visibility.value,
        "uploader_id": video.uploader_id,
        "created_at": _iso(video.created_at),
        "updated_at": _iso(video.updated_at),
        "duration_ms": video.duration_ms if video.duration_ms is not None else video.media_duration_ms,
        "width": video.width,
        "height": video.height,
        "size_bytes": video.size_bytes,
        "content_type": video.content_type,
        "progress_pct": video.progress_pct if in_progress else None,
        "failure_reason": video.failure_reason if video.status is VideoStatus.FAILED else None,
        "renditions": [
            rendition_resource(r, media_base_url=media_base_url)
            for r in sorted(current, key=lambda r: (r.height, r.bitrate_kbps, r.name))
        ],
        "hls_url": _url(media_base_url, video.hls_master_key),
        "dash_url": _url(media_base_url, video.dash_manifest_key),
        "poster_url": _url(media_base_url, video.poster_key),
        # a WebVTT track whose cues name sprite sheets beside it (storyboard-1.jpg#xywh=x,y,w,h),
        # relative, so they resolve under whatever base the track was fetched from
        "storyboard_url": _url(media_base_url, video.storyboard_key),
    }


def rendition_resource(r: RenditionRecord, *, media_base_url: str) -> dict[str, Any]:
    """One rendition, its manifest as a URL a player can fetch."""
    return {
        "name": r.name,
        "codec": r.codec,
        "width": r.width,
        "height": r.height,
        "bitrate_kbps": r.average_bitrate_kbps if r.average_bitrate_kbps is not None else r.bitrate_kbps,
        "peak_bitrate_kbps": r.peak_bitrate_kbps,
        "target_bitrate_kbps": r.bitrate_kbps,
        "segment_duration_s": r.segment_duration_s,
        "encoder": r.encoder,
        "manifest_url": _url(media_base_url, r.manifest_key),
    }


def _url(base: str, key: str | None) -> str | None:
    """``base`` joined with the key, percent-encoded so a key with spaces or ``#`` stays one URL."""
    return None if not key else base.rstrip("/") + "/" + quote(key.lstrip("/"), safe="/")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
