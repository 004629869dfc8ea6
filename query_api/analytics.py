"""Playback analytics routes: per-video stats over a range, and trending.

Rows of a minute come from every partition of ``playback-event`` and are
merged here; the rollup and the trending score are the same pure functions
the batch recomputation uses, so both paths answer alike.

A minute's numbers can change until its backfill horizon has passed (late
events are counted in their own minute), so each point says how settled it
is: ``open`` (on-time events may still come), ``settled`` (only backfills may:
a phone that played offline, a backlog after an outage) or ``final``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from query_api.app_keys import CATALOG, ENCODED_STATS, PLAYBACK
from query_api.encoded import dumps, json_answer
from query_api.errors import ApiError, BadRequestError, NotFoundError
from query_api.params import EARLIEST, bounded_int, iso_time, path_id
from query_api.viewers import may_see
from stream_apps.playback.aggregates import DEFAULT_ALLOWED_LATENESS, DEFAULT_BACKFILL_HORIZON, PlaybackStats
from stream_apps.playback.rollup import rollup, rollup_span
from stream_apps.playback.rows import live_buckets
from stream_apps.playback.time import utc_from_ms
from stream_apps.trending.board import BOARD_SIZE, TrendingBoard, board_from_row, board_of
from stream_apps.trending.score import trending_window
from views.catalog import Visibility
from views.playback import BoardRow, MinuteRow, PlaybackView

__all__ = ["BACKFILL_HORIZON", "analytics_routes", "point_status", "stats_resource"]

log = logging.getLogger(__name__)

MAX_TRENDING = BOARD_SIZE
# The worker rebuilds boards every few seconds; one older than this means no worker is doing so,
# and the API scores the minutes itself rather than serve a stale list.
BOARD_FRESH_FOR = timedelta(minutes=1)
_STEP = re.compile(r"^(?P<n>[1-9][0-9]{0,5})(?P<unit>[mhd])$")  # bounded: a huge n overflows timedelta
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}

analytics_routes = web.RouteTableDef()
# How long after its minute a playback event is still counted (the deployment's setting); default 7 days.
BACKFILL_HORIZON = web.AppKey("backfill_horizon", timedelta)


class ServiceUnavailableError(ApiError):
    status = 503


def _view(request: web.Request) -> PlaybackView:
    view = request.app.get(PLAYBACK)
    if view is None:
        raise ServiceUnavailableError("playback analytics are not configured on this API")
    return view


@analytics_routes.get("/v1/videos/{video_id}/stats")
async def video_stats(request: web.Request) -> web.Response:
    video_id = path_id(request.match_info["video_id"], "video id")
    if await request.app[CATALOG].visibility_of(video_id) is Visibility.PRIVATE:
        video = await request.app[CATALOG].get(video_id)
        if video is None or not may_see(request, video):  # a private video's numbers are its uploader's
            raise NotFoundError(f"no video with id {video_id!r}")
    now = datetime.now(UTC)
    end = iso_time(request.query.get("to"), "to", default=now)
    start = iso_time(request.query.get("from"), "from", default=max(end - timedelta(hours=1), EARLIEST))
    step = _step(request.query.get("step", "1m"))
    try:
        span = rollup_span(start=start, end=end, step=step)  # before reading: a bad range reads nothing
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    # the rows of the whole minutes the rollup covers: ``from`` inside a minute still reads that minute
    rows = await _view(request).minutes(video_id, start=utc_from_ms(span[0]), end=utc_from_ms(span[1]))
    settled_until = _closed_until(now, DEFAULT_ALLOWED_LATENESS)
    final_until = _closed_until(now, request.app.get(BACKFILL_HORIZON, DEFAULT_BACKFILL_HORIZON))
    # the answer is a function of the rows, the whole-minute span and the two closing edges (which move
    # once a minute): encoded once while all of them stay
    key = (video_id, *span[:3], settled_until, final_until)
    encoded = request.app[ENCODED_STATS]
    body = encoded.get(key, rows)
    if body is None:
        answer = _stats_answer(video_id, rows, start, end, step, settled_until, final_until)
        body = encoded.put(key, rows, dumps(answer))
    return json_answer(body)


def _stats_answer(
    video_id: str,
    rows: list[MinuteRow],
    start: datetime,
    end: datetime,
    step: timedelta,
    settled_until: datetime,
    final_until: datetime,
) -> dict[str, Any]:
    points = rollup(_by_minute(rows), start=start, end=end, step=step)
    total = PlaybackStats.merge_all(p.stats for p in points)
    return {
        "video_id": video_id,
        "from": _iso(points[0].start),
        "to": _iso(points[-1].end),
        "step_s": int(step.total_seconds()),
        "final_until": _iso(final_until),
        "settled_until": _iso(settled_until),
        "provisional_from": _iso(max(points[0].start, min(final_until, points[-1].end))),
        "totals": stats_resource(total),
        "points": [
            _point(p.start, p.end, p.stats) | {"status": point_status(p.end, settled_until, final_until)}
            for p in points
        ],
    }


def _closed_until(now: datetime, after: timedelta) -> datetime:
    """Minutes starting before this had closed by ``now``: ``minute + 1 min + after <= now``."""
    edge = now - after - timedelta(minutes=1)
    return edge.replace(second=0, microsecond=0) + timedelta(minutes=1)


def point_status(end: datetime, settled_until: datetime, final_until: datetime) -> str:
    """``final``: nothing can change it; ``settled``: only backfills can; ``open``: on-time ones too."""
    if end <= final_until:
        return "final"
    return "settled" if end <= settled_until else "open"


@analytics_routes.get("/v1/trending")
async def trending(request: web.Request) -> web.Response:
    """The window's stored board while it is fresh; scored from the minute rows when it is not."""
    try:
        window = trending_window(request.query.get("window", "1h"))
    except ValueError as exc:
        raise BadRequestError(str(exc)) from exc
    limit = bounded_int(request.query.get("limit"), name="limit", default=10, low=1, high=MAX_TRENDING)
    view = _view(request)
    now = datetime.now(UTC)
    board = _stored_board(await view.board(window.name))
    source = "board"
    if board is None or abs(now - board.generated_at) > BOARD_FRESH_FOR:
        rows = await view.all_minutes(start=now - window.span, end=now)
        board, source = board_of(live_buckets(rows), now=now, window=window, size=MAX_TRENDING), "live"
    # playback counts every video watched; an unlisted or private one is left out here, where the
    # catalog is at hand (a video the catalog does not know yet stays: it was never marked hidden)
    catalog = request.app[CATALOG]
    candidates = board.videos[: 2 * limit + 10]
    seen = await asyncio.gather(*(catalog.visibility_of(t.video_id) for t in candidates))
    shown = [t for t, v in zip(candidates, seen, strict=True) if v in (None, Visibility.PUBLIC)][:limit]
    return web.json_response(
        {
            "window": window.name,
            "half_life_s": int(window.half_life.total_seconds()),
            "generated_at": _iso(board.generated_at),
            "source": source,
            "videos": [
                {"video_id": t.video_id, "score": round(t.score, 6), "unique_viewers": t.unique_viewers}
                for t in shown
            ],
        }
    )


def _stored_board(row: BoardRow | None) -> TrendingBoard | None:
    if row is None:
        return None
    try:
        return board_from_row(row)
    except ValueError as exc:  # written by another version, say: scored live until it is rewritten
        log.warning("%s", exc)
        return None


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
        "expired_events": stats.expired_events,
    }


def _point(start: datetime, end: datetime, stats: PlaybackStats) -> dict[str, Any]:
    return {"start": _iso(start), "end": _iso(end), **stats_resource(stats)}


def _by_minute(rows: list[MinuteRow]) -> dict[datetime, PlaybackStats]:
    return {key.minute: stats for key, stats in live_buckets(rows).items()}


def _step(raw: str) -> timedelta:
    match = _STEP.match(raw)
    if match is None:
        raise BadRequestError(f"step must look like 1m, 15m, 1h or 1d, got {raw!r}")
    return int(match["n"]) * _UNITS[match["unit"]]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
