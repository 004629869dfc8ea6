"""``tubestream analytics run|batch|archive``: the playback worker, batch recomputation, hourly archives."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from deploy.blob_store import blob_store_for
from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    analytics = sub.add_parser("analytics", help="playback analytics: the worker, and batch recomputation")
    analytics_sub = analytics.add_subparsers(metavar="ACTION", required=True)
    run_worker = analytics_sub.add_parser("run", help="run the real-time worker")
    run_worker.add_argument("--batch-size", type=int, default=2000, help="events per write and commit")
    run_worker.add_argument(
        "--boards-every",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how often the worker holding partition 0 rebuilds the trending boards (default 10)",
    )
    run_worker.add_argument(
        "--boards-full-every",
        type=_positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="how often a round of boards reads every minute row of the day (and week) rather than the "
        "minutes on-time events can still change; backfills reach the boards then (default 600)",
    )
    run_worker.add_argument(
        "--snapshot-every",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how often each partition's state is saved: a restart replays only what came after (default 30)",
    )
    run_worker.add_argument(
        "--retire-after",
        type=float,
        default=None,
        metavar="MINUTES",
        help="retire sessions idle this long (default: $TUBESTREAM_SESSION_RETIRE_MINUTES, else 15; 0 keeps "
        "every event: exact under any disorder, memory grows with history)",
    )
    run_worker.add_argument(
        "--retire-ended-after",
        type=float,
        default=None,
        metavar="MINUTES",
        help="retire ended sessions this long after their last event, sooner than idle ones (default: "
        "$TUBESTREAM_SESSION_RETIRE_ENDED_MINUTES, else as idle ones); less state, but a straggler of an "
        "ended session arriving later is left out",
    )
    run_worker.add_argument(
        "--instance-id",
        default=None,
        help="a stable id per worker (e.g. its host): a restart takes its partitions back at once",
    )
    run_worker.set_defaults(handler=_analytics)
    batch = analytics_sub.add_parser("batch", help="recompute from the raw topic; report differences")
    batch.add_argument("--from", dest="start", required=True, help="ISO-8601 time with a zone")
    batch.add_argument("--to", dest="end", required=True, help="ISO-8601 time with a zone")
    batch.add_argument(
        "--source",
        choices=["topic", "archives"],
        default="topic",
        help="raw events from the topic or archives",
    )
    batch.set_defaults(handler=_analytics_batch)
    archive = analytics_sub.add_parser("archive", help="write hourly Avro archives of the raw events")
    archive.add_argument("--lateness-minutes", type=float, default=5.0, help="wait this long after an hour")
    archive.set_defaults(handler=_analytics_archive)


def _positive_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {raw!r}") from None
    if not 0 < seconds < 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and a day, got {raw!r}")
    return seconds


def _analytics(args: argparse.Namespace, settings: Settings) -> int:
    import gc
    import logging
    import signal
    from collections.abc import Mapping
    from datetime import datetime

    from stream_apps.playback.worker import run_playback_worker
    from stream_apps.search.popularity import PopularityPusher
    from views.stores import open_playback_store, open_search_store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The fold keeps each distinct event and a state per event as tuples: all tracked by the cyclic
    # GC, none ever in a cycle. At CPython's default thresholds rescanning them cost about a third of
    # the worker's time (benchmarks/playback.py); collecting young objects less often halves that.
    gc.set_threshold(50_000, 20, 10)

    async def main() -> None:
        store = open_playback_store(settings.playback_url)
        search = open_search_store(settings.search_url) if settings.search_url else None
        pusher = PopularityPusher(search) if search is not None else None

        async def push_popularity(now: datetime, views: Mapping[str, tuple[int, ...]]) -> None:
            if pusher is not None:
                await pusher.push_views(views)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(
            f"playback analytics: {settings.kafka.topic('playback-event')} → {settings.playback_url}",
            flush=True,
        )
        try:
            await run_playback_worker(
                settings.kafka,
                store,
                stop=stop,
                batch_size=args.batch_size,
                boards_every=timedelta(seconds=args.boards_every),
                boards_full_every=timedelta(seconds=args.boards_full_every),
                view_windows=PopularityPusher.WINDOWS if pusher is not None else (),
                backfill_horizon=settings.backfill_horizon,
                retire_after=_retire_after(args.retire_after, settings.session_retire_after),
                retire_ended_after=_retire_ended_after(
                    args.retire_ended_after, settings.session_retire_ended_after
                ),
                snapshot_every=timedelta(seconds=args.snapshot_every),
                instance_id=args.instance_id,
                after_boards=[push_popularity],
            )
        finally:
            if search is not None:
                await search.close()
            await store.close()

    asyncio.run(main())
    return 0


def _analytics_batch(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from stream_apps.playback.batch import archived_events, compare_buckets, recompute, topic_events
    from stream_apps.playback.rows import live_buckets
    from views.stores import open_playback_store

    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (args.start, args.end))
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("--from and --to must be ISO-8601 times with a zone, --from before --to")
    if args.source == "archives":
        events, source = archived_events(
            blob_store_for(settings), start=start, end=end, backfill_horizon=settings.backfill_horizon
        )
    else:
        events, source = topic_events(settings.kafka), "the topic"
    batch = recompute(events, start=start, end=end, backfill_horizon=settings.backfill_horizon)

    async def read_live() -> Any:
        store = open_playback_store(settings.playback_url)
        try:
            return await store.all_minutes(start=start, end=end)
        finally:
            await store.close()

    differences = compare_buckets(batch, live_buckets(asyncio.run(read_live())))
    recomputed = f"{len(batch)} video-minute(s) recomputed from {source}"
    print(f"{recomputed}; {len(differences)} differ from the live view")
    for d in differences[:50]:
        print(f"  {d.key.video_id} {d.key.minute.isoformat()}: batch={d.batch} live={d.live}")
    return 0 if not differences else 4


def _analytics_archive(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from stream_apps.playback.archive import archive_key, archive_ready, events_by_hour, write_archive
    from stream_apps.playback.batch import topic_events

    blobs = blob_store_for(settings)
    now, lateness = datetime.now(UTC), timedelta(minutes=args.lateness_minutes)
    written = waiting = 0
    for hour, events in events_by_hour(topic_events(settings.kafka)).items():
        if not archive_ready(hour, now=now, lateness=lateness):
            waiting += 1
            continue
        blobs.put_bytes(archive_key(hour), write_archive(events), content_type="avro/binary")
        written += 1
        print(f"{archive_key(hour)}: {len(events)} event(s)")
    print(f"{written} hour(s) archived; {waiting} not over yet")
    return 0


def _retire_ended_after(minutes: float | None, configured: timedelta | None) -> timedelta | None:
    """The flag wins over the setting; neither: ended sessions retire as idle ones do (``None``)."""
    if minutes is None:
        return configured
    if minutes <= 0:
        raise ValueError(f"--retire-ended-after must be a positive number of minutes, got {minutes:g}")
    return timedelta(minutes=minutes)


def _retire_after(minutes: float | None, configured: timedelta | None) -> timedelta | None:
    """The flag wins over the setting; 0 keeps every event (``None``)."""
    if minutes is None:
        return configured
    return timedelta(minutes=minutes) if minutes > 0 else None
