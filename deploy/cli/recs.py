"""``tubestream recs run|train``: the interactions fold, and training (once, or every N seconds).

``train --every`` runs in one process at a time: it holds an exclusive
``flock`` on ``<home>/recs/train.lock`` while it lives, and a second trainer
on the same machine (the same home) waits for the lock instead of training
too. Across machines that is not enough; holding partition 0 of a
one-partition topic in a consumer group would be the cluster-wide way.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from deploy.cli.parsing import Subparsers
from deploy.settings import Settings

if TYPE_CHECKING:
    from stream_apps.recs.model import AlsParams
    from views.recs import InteractionRow

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    recs = sub.add_parser("recs", help="recommendations: the interactions fold, and training")
    recs_sub = recs.add_subparsers(metavar="ACTION", required=True)
    run = recs_sub.add_parser("run", help="fold playback-event into the interactions view")
    run.add_argument("--batch-size", type=int, default=2000, help="events per write and commit")
    run.set_defaults(handler=_run)
    train = recs_sub.add_parser("train", help="fit ALS on every interaction, store it, announce it")
    train.add_argument(
        "--every", type=float, metavar="SECONDS", help="train again every SECONDS (one trainer)"
    )
    # unset: AlsParams' defaults (docs/recs.md says where they come from)
    train.add_argument("--factors", type=int)
    train.add_argument("--regularization", type=float)
    train.add_argument("--alpha", type=float)
    train.add_argument("--iterations", type=int)
    train.set_defaults(handler=_train)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import logging
    import signal

    from stream_apps.recs.worker import run_recs_worker
    from views.stores import open_recs_store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    async def main() -> None:
        store = open_recs_store(settings.recs_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"recs fold: {settings.kafka.topic('playback-event')} → {settings.recs_url}", flush=True)
        try:
            await run_recs_worker(settings.kafka, store, stop=stop, batch_size=args.batch_size)
        finally:
            await store.close()

    asyncio.run(main())
    return 0


def _train(args: argparse.Namespace, settings: Settings) -> int:
    import fcntl
    import time

    from stream_apps.recs.errors import InvalidInteractionError
    from stream_apps.recs.model import AlsParams

    given = {name: getattr(args, name) for name in ("factors", "regularization", "alpha", "iterations")}
    params = AlsParams(**{name: value for name, value in given.items() if value is not None})
    if args.every is None:
        print(_train_once(settings, params))
        return 0
    if args.every <= 0:
        raise ValueError("--every must be a positive number of seconds")
    lock_path = settings.home / "recs" / "train.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another trainer holds {lock_path}; waiting for it", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        while True:
            try:
                print(_train_once(settings, params), flush=True)
            except InvalidInteractionError as exc:
                print(f"not trained: {exc}", flush=True)
            time.sleep(args.every)


def _train_once(settings: Settings, params: AlsParams) -> str:
    from deploy.blob_store import blob_store_for
    from stream_apps.recs.training import train_model
    from topics.producer import EventProducer
    from views.stores import open_recs_store

    async def scan() -> tuple[list[InteractionRow], dict[int, int]]:
        store = open_recs_store(settings.recs_url)
        try:
            return list(await store.scan()), await store.offsets()
        finally:
            await store.close()

    rows, offsets = asyncio.run(scan())
    trained = train_model(rows, offsets=offsets, params=params)
    blob_store_for(settings).put_bytes(
        trained.event.blob_key, trained.artifact, content_type="application/octet-stream"
    )
    with EventProducer(settings.kafka, client_id="tubestream-recs-train") as producer:
        producer.publish(trained.event)  # after the artifact is stored: a reader never sees a dangling key
    event = trained.event
    return (
        f"model {event.version}: {event.users} viewer(s), {event.items} video(s), "
        f"{event.interactions} interaction(s) → {event.blob_key}"
    )
