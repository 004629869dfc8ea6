"""Benchmark: a round of trending boards and search view counts, full scan against the trend tracker.

    python benchmarks/trending.py [--videos 5000] [--minutes 12] [--week-share 0.3] [--live 300]
                                  [--rounds 7]

Fills a SQLite playback store with ``--videos`` videos, each with ``--minutes`` minute rows at random
minutes of the last 24 h (1 to 6 viewers each, from 50 000 users, over 2 partitions), and a
``--week-share`` of them with as many again over the 6 days before. Then, every round, ``now`` moves
10 s on and ``--live`` videos get a row of the current minute and one a few minutes back
(upserts, not timed), and one board-holder round is timed both ways at the same ``now``:
  full         what the worker did before: ``refresh_boards`` (a day of rows read, parsed, scored)
               then ``PopularityPusher.refresh`` (a week of rows read and parsed again)
  incremental  ``BoardKeeper.refresh`` (after its first full read, untimed: only the minutes on-time
               events can still change) then ``PopularityPusher.push_views`` of its counts
Both push into a search store that does nothing. Each round checks that both wrote the same boards.
Prints each round, the medians, the ratio full / incremental, and the cost of the keeper's full read
(every 10 minutes: one round in 60 at the default 10 s) with the ratio amortized over it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

from stream_apps.playback.aggregates import PlaybackStats
from stream_apps.playback.rows import stats_to_document
from stream_apps.playback.worker import refresh_boards
from stream_apps.search.popularity import PopularityPusher
from stream_apps.trending.keeper import BoardKeeper
from stream_apps.trending.score import TRENDING_WINDOWS
from views.playback import BoardRow, MinuteRow, PlaybackStore
from views.search.model import SearchStore
from views.stores import open_playback_store

USERS = 50_000
ROUND = timedelta(seconds=10)
FULL_EVERY = timedelta(minutes=10)


class NullSearch:
    """Takes the pushes and keeps nothing: the benchmark times reading and counting, not a search store."""

    async def update_popularity(self, video_id: str, *, views_24h: int, views_7d: int) -> None:
        return None


def minute_row(rng: random.Random, video: str, minute: datetime) -> MinuteRow:
    viewers = frozenset(f"user-{rng.randrange(USERS)}" for _ in range(rng.randint(1, 6)))
    stats = PlaybackStats(
        views=len(viewers), viewers=viewers, watch_ms=40_000 * len(viewers), events=6 * len(viewers)
    )
    return MinuteRow(
        video, minute.replace(second=0, microsecond=0), rng.randrange(2), stats_to_document(stats)
    )


async def fill(store: PlaybackStore, rng: random.Random, args: argparse.Namespace, now: datetime) -> int:
    rows: list[MinuteRow] = []
    for v in range(args.videos):
        video = f"video-{v:05d}"
        for _ in range(args.minutes):
            rows.append(minute_row(rng, video, now - timedelta(minutes=rng.randrange(1, 24 * 60))))
        if rng.random() < args.week_share:
            for _ in range(args.minutes):
                rows.append(
                    minute_row(rng, video, now - timedelta(minutes=rng.randrange(24 * 60, 7 * 24 * 60)))
                )
    unique = list({(r.video_id, r.minute, r.partition): r for r in rows}.values())
    for start in range(0, len(unique), 5000):
        await store.write(unique[start : start + 5000], offsets={})
    return len(unique)


async def timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def boards(store: PlaybackStore) -> list[BoardRow | None]:
    return [await store.board(w.name) for w in TRENDING_WINDOWS]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=5000)
    parser.add_argument("--minutes", type=int, default=12, help="minute rows per video in the day")
    parser.add_argument("--week-share", type=float, default=0.3, help="videos with rows over the week too")
    parser.add_argument("--live", type=int, default=300, help="videos watched in each round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="tubestream-bench-") as tmp:
        store = open_playback_store(f"sqlite:///{Path(tmp) / 'playback.db'}")
        try:
            started = time.perf_counter()
            count = await fill(store, rng, args, now)
            print(
                f"{count} minute rows of {args.videos} videos written in {time.perf_counter() - started:.1f}s"
            )
            search = cast(SearchStore, NullSearch())
            scanning, tracking = PopularityPusher(search), PopularityPusher(search)
            keeper = BoardKeeper(store, full_every=FULL_EVERY, view_windows=PopularityPusher.WINDOWS)

            async def incremental() -> None:
                await keeper.refresh(now)
                views = keeper.views(now)
                assert views is not None
                await tracking.push_views(views)

            async def full() -> None:
                await refresh_boards(store, now=now)
                await scanning.refresh(store, now=now)

            first = await timed(incremental)  # the keeper's full read
            await full()
            fulls: list[float] = []
            increments: list[float] = []
            for n in range(args.rounds):
                now += ROUND
                live = [f"video-{rng.randrange(args.videos):05d}" for _ in range(args.live)]
                changed = [
                    minute_row(rng, v, now - timedelta(minutes=rng.choice((0, 0, 1, 3)))) for v in live
                ]
                await store.write(
                    list({(r.video_id, r.minute, r.partition): r for r in changed}.values()), offsets={}
                )
                increments.append(await timed(incremental))
                kept = await boards(store)
                fulls.append(await timed(full))
                assert kept == await boards(store), "the keeper's boards differ from the full scan's"
                full_ms, incr_ms = fulls[-1] * 1000, increments[-1] * 1000
                print(f"round {n + 1}: full {full_ms:7.1f} ms, incremental {incr_ms:6.1f} ms")
            full_ms, incr_ms = statistics.median(fulls) * 1000, statistics.median(increments) * 1000
            per_full = round(FULL_EVERY / ROUND)
            amortized = (first * 1000 + (per_full - 1) * incr_ms) / per_full
            print(f"median of {args.rounds} rounds: full {full_ms:.1f} ms, incremental {incr_ms:.1f} ms")
            print(f"ratio full / incremental: {full_ms / incr_ms:.1f}x (boards identical every round)")
            print(
                f"the keeper's full read: {first * 1000:.1f} ms; with one every {FULL_EVERY} "
                f"(1 round in {per_full}), {amortized:.1f} ms a round: {full_ms / amortized:.1f}x"
            )
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
