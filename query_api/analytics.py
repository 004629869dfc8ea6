"""Playback analytics routes: per-video stats over a range, and trending.

Rows of a minute come from every partition of ``playback-event`` and are
merged here; the rollup and the trending score are the same pure functions
the batch recomputation uses, so both paths answer alike.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from query_api.errors import ApiError, BadRequestError
from query_api.params import bounded_int
from stream_apps.playback_aggregates import BucketKey, PlaybackStats
from stream_apps.playback_rollup import rollup
from stream_apps.playback_rows import stats_from_document
from stream_apps.trending_score import top_trending, trending_window, video_trends
from views.playback import MinuteRow, PlaybackView

__all__ = ["PLAYBACK", "analytics_routes", "stats_resource"]

PLAYBACK = web.AppKey("playback", PlaybackView)
MAX_TRENDING = 100
_STEP = re.compile(r"^(?P<n>[1-9][0-9]{0,5})(?P<unit>[mhd])$")  # bounded: a huge n overflows timedelta
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}

analytics_routes = web.RouteTableDef()


class ServiceUnavailableError(ApiError):
    status = 503


def _view(request: web.Request) -> PlaybackView:
    view = request.app.get(PLAYBACK)
    if view is None:
        raise ServiceUnavailableError("playback analytics are not configured on this API")
    return view


@analytics_routes.get("/v1/videos/{video_id}/stats")
async def video_stats(request: web.Request) -> web.Response:
    video_id = request.match_info["video_id"]
    now = datetime.now(UTC)
    end = _time(request.query.get("to"), "to", default=now)
    start = _time(request.query.get("from"), "from", default=end - timedelta(hours=1))
    step = _step(request.query.get("step", "1m"))
    rows = await _view(request).minutes(video_id, start=start, end=end + timedelta(minutes=1))
    try:
        points = rollup(_by_minute(rows), start=start, end=end, step=step)
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    total = PlaybackStats.merge_all(p.stats for p in points)
    return web.json_response(
        {
            "video_id": video_id,
            "from": _iso(points[0].start),
            "to": _iso(points[-1].end),
            "step_s": int(step.total_seconds()),
            "totals": stats_resource(total),
            "points": [_point(p.start, p.end, p.stats) for p in points],
        }
    )


@analytics_routes.get("/v1/trending")
async def trending(request: web.Request) -> web.Response:
    try:
        window = trending_window(request.query.get("window", "1h"))
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    limit = bounded_int(request.query.get("limit"), name="limit", default=10, low=1, high=MAX_TRENDING)
    now = datetime.now(UTC)
    rows = await _view(request).all_minutes(start=now - window.span, end=now)
    buckets = {BucketKey(video_id, minute): stats for (video_id, minute), stats in _merged(rows).items()}
    top = top_trending(video_trends(buckets, now=now, window=window).values(), limit=limit)
    return web.json_response(
        {
            "window": window.name,
            "half_life_s": int(window.half_life.total_seconds()),
            "generated_at": _iso(now),
            "videos": [
                {"video_id": t.video_id, "score": round(t.score, 6), "unique_viewers": t.unique_viewers}
                for t in top
            ],
        }
    )


def stats_resource(stats: PlaybackStats) -> dict[str, Any]:
    return {
        "views": stats.views,
        "unique_viewers": stats.unique_viewers,
        "watch_ms": stats.watch_ms,
        "avg_view_duration_ms": stats.avg_view_duration_ms,
        "rebuffer_ms": stats.rebuffer_ms,
        "rebuffer_ratio": stats.rebuffer_ratio,
        "rebuffers": stats.rebuffers,
        "quality_switches": stats.quality_switches,
        "rendition_mix": stats.rendition_mix,
        "events": stats.events,
        "late_events": stats.late_events,
    }


def _point(start: datetime, end: datetime, stats: PlaybackStats) -> dict[str, Any]:
    return {"start": _iso(start), "end": _iso(end), **stats_resource(stats)}


def _merged(rows: list[MinuteRow]) -> dict[tuple[str, datetime], PlaybackStats]:
    parts: defaultdict[tuple[str, datetime], list[PlaybackStats]] = defaultdict(list)
    for row in rows:
        parts[(row.video_id, row.minute)].append(stats_from_document(row.document))
    return {key: PlaybackStats.merge_all(p) for key, p in parts.items()}


def _by_minute(rows: list[MinuteRow]) -> dict[datetime, PlaybackStats]:
    return {minute: stats for (_, minute), stats in _merged(rows).items()}


def _time(raw: str | None, name: str, *, default: datetime) -> datetime:
    if not raw:
        return default
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequestError(f"{name} must be an ISO-8601 time with a zone, got {raw!r}") from None
    if parsed.tzinfo is None:
        raise BadRequestError(f"{name} must carry a zone (e.g. Z), got {raw!r}")
    return parsed.astimezone(UTC)


def _step(raw: str) -> timedelta:
    match = _STEP.match(raw)
    if match is None:
        raise BadRequestError(f"step must look like 1m, 15m, 1h or 1d, got {raw!r}")
    return int(match["n"]) * _UNITS[match["unit"]]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
