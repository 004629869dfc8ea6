"""The playback analytics worker: ``playback-event`` → the playback view, exactly, through crashes.

Why not Faust's exactly-once mode: its users report duplicates with it
(Faust issues 517, 323), and a transaction cannot span Kafka and the view
store anyway. Exactness here comes from three plain rules instead:

1. the rows written are whole values, a pure function of the events of a
   partition up to an offset, in offset order (``PlaybackViewBuilder``), so
   writing them twice is writing them once;
2. offsets are committed only after the rows are in the store;
3. on (re)assignment a partition's state is rebuilt from its last snapshot
   (the state as it was after some committed offset, saved every
   ``snapshot_every`` after a commit) and the log from there to the
   committed offset — Kafka is the source of truth — so the events after the
   commit are reprocessed onto the right state. Without a usable snapshot the
   replay starts at offset 0.

A worker killed between 1 and 2 leaves rows that are ahead of its commit;
its successor recomputes the same values over them. A snapshot is written
after a commit, at that commit's offset, so it is never ahead of it. Undecodable events go to
``playback-event.dlq`` with the reason, before the offset moves past them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message, TopicPartition

from schemas.errors import EventDecodeError
from stream_apps.playback.aggregates import (
    DEFAULT_ALLOWED_LATENESS,
    DEFAULT_BACKFILL_HORIZON,
    DEFAULT_RETIRE_AFTER,
    DEFAULT_SESSION_HORIZON,
)
from stream_apps.playback.facts import PlaybackFact, decode_facts
from stream_apps.playback.rows import live_buckets
from stream_apps.playback.time import epoch_ms
from stream_apps.playback.view import PlaybackViewBuilder
from stream_apps.trending.board import board_of, board_row
from stream_apps.trending.keeper import BEHIND, FULL_EVERY, BoardKeeper
from stream_apps.trending.score import TRENDING_WINDOWS
from topics.catalogue import PLAYBACK_EVENT_TOPIC, topic_for
from topics.config import KafkaConfig
from topics.dead_letter import dead_letter_headers
from topics.errors import BrokerUnavailableError
from topics.log import read_partition
from topics.producer import EventProducer
from views.errors import ViewStoreError
from views.playback import PlaybackStore

__all__ = [
    "BOARDS_EVERY",
    "BOARDS_FULL_EVERY",
    "PLAYBACK_GROUP",
    "LeaderTask",
    "refresh_boards",
    "run_playback_worker",
]

log = logging.getLogger(__name__)

PLAYBACK_GROUP = "tubestream-playback"
DEAD_LETTERS = topic_for(PLAYBACK_EVENT_TOPIC.dead_letter or "")
BOARDS_EVERY = timedelta(seconds=10)
# Between full reads a round reads only the minutes on-time events can still change; backfills wait for one.
BOARDS_FULL_EVERY = FULL_EVERY
# A restart replays at most this much of the log (about 150 000 events a second on one core).
SNAPSHOT_EVERY = timedelta(seconds=30)
# Work the board holder does after each round of boards (one worker at a time), told the round's time
# and each video's views in the worker's ``view_windows`` then (video → a count per window, in order).
LeaderTask = Callable[[datetime, Mapping[str, tuple[int, ...]]], Awaitable[None]]


async def run_playback_worker(
    kafka: KafkaConfig,
    store: PlaybackStore,
    *,
    stop: asyncio.Event,
    batch_size: int = 2000,
    allowed_lateness: timedelta = DEFAULT_ALLOWED_LATENESS,
    backfill_horizon: timedelta = DEFAULT_BACKFILL_HORIZON,
    retire_after: timedelta | None = DEFAULT_RETIRE_AFTER,
    retire_ended_after: timedelta | None = None,
    session_horizon: timedelta = DEFAULT_SESSION_HORIZON,
    snapshot_every: timedelta = SNAPSHOT_EVERY,
    instance_id: str | None = None,
    boards_every: timedelta = BOARDS_EVERY,
    boards_full_every: timedelta = BOARDS_FULL_EVERY,
    view_windows: Sequence[timedelta] = (),
    on_batch: Callable[[int], None] | None = None,
    after_boards: Sequence[LeaderTask] = (),
) -> None:
    """Consume until ``stop`` is set; every batch is written, then committed.

    The worker that holds partition 0 also rebuilds the trending boards every
    ``boards_every``: one worker of the group at a time, from every
    partition's rows in the store (``BoardKeeper``: all of them on its first
    round and every ``boards_full_every``, the minutes still open to on-time
    events in between); then it runs ``after_boards`` (the search view's
    popularity push), each told the time of the round and the views of each
    video over ``view_windows``.
    """
    topic = kafka.topic(PLAYBACK_EVENT_TOPIC.name)
    leads = threading.Event()  # set while this worker holds partition 0
    gained = threading.Event()  # set when partition 0 is (re)assigned: the next round reads everything
    builder = PlaybackViewBuilder(
        allowed_lateness=allowed_lateness,
        backfill_horizon=backfill_horizon,
        retire_after=retire_after,
        retire_ended_after=retire_ended_after,
        session_horizon=session_horizon,
    )
    loop = asyncio.get_running_loop()
    positions: dict[int, int] = {}  # partition → next offset the state covers
    snapped: dict[int, int] = {}  # partition → the offset of its last snapshot
    consumer = Consumer(
        kafka.client_config(
            **{
                "group.id": kafka.group(PLAYBACK_GROUP),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": 10_000,  # a dead worker's partitions move on in seconds, not 45 s
                # static membership: a worker restarted under the same id takes its partitions back at
                # once, instead of after the dead one's session timeout
                **({"group.instance.id": instance_id} if instance_id else {}),
            }
        )
    )

    def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
        committed = c.committed(partitions, timeout=60)
        with _gc_paused():  # 300 000 live events: loaded in 1.6 s, 2.4 s with the collector on
            _restore(committed)
        gc.freeze()  # the restored state lives as long as the assignment: spare the GC rescanning it
        c.incremental_assign(partitions)
        if any(tp.partition == 0 for tp in partitions):
            gained.set()
            leads.set()

    def _restore(committed: list[TopicPartition]) -> None:
        for tp in committed:
            end = tp.offset if tp.offset != OFFSET_INVALID and tp.offset >= 0 else 0
            started = time.monotonic()
            start = _load_snapshot(tp.partition, end)
            count = builder.restore(tp.partition, _replay(kafka, topic, tp.partition, end, start))
            positions[tp.partition] = end
            log.info(
                "playback: partition %d restored from %d event(s) in %.1fs (from %s)",
                tp.partition,
                count,
                time.monotonic() - started,
                f"a snapshot at offset {start}" if start else "offset 0",
            )

    def _load_snapshot(partition: int, end: int) -> int:
        """Load the partition's snapshot if it is usable; the offset to replay from."""
        builder.forget(partition)
        found = asyncio.run_coroutine_threadsafe(store.snapshot(partition), loop).result(timeout=60)
        if found is None or found[0] > end:  # none, or ahead of the commit (the group was reset)
            return 0
        try:
            builder.load_snapshot(partition, found[1])
        except ValueError as exc:  # another version or other settings: rebuild from the log
            log.warning("playback: partition %d snapshot not used: %s", partition, exc)
            builder.forget(partition)
            return 0
        snapped[partition] = found[0]
        return found[0]

    def on_revoke(c: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            builder.forget(tp.partition)
            positions.pop(tp.partition, None)
            snapped.pop(tp.partition, None)
        if any(tp.partition == 0 for tp in partitions):
            leads.clear()
        c.incremental_unassign(partitions)

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    dead_letters = EventProducer(kafka, client_id="tubestream-playback-dlq")

    async def save_snapshots() -> None:
        """Each partition's state at the offset just committed, where it moved since its last one."""
        for partition, offset in sorted(positions.items()):
            if snapped.get(partition) != offset and partition in builder.partitions():
                with _gc_paused():  # it holds the loop: 0.9 s for 300 000 live events, 1.1 s with the GC
                    data = builder.snapshot(partition)
                await store.write_snapshot(partition, offset, data)
                snapped[partition] = offset
                size = builder.state_size(partition)
                log.info("playback: partition %d snapshot at offset %d: %s", partition, offset, size)

    keeper = BoardKeeper(
        store, full_every=boards_full_every, allowed_lateness=allowed_lateness, view_windows=view_windows
    )
    boards = asyncio.create_task(_keep_boards(keeper, boards_every, leads, gained, stop, after_boards))
    last_snapshot = time.monotonic()
    try:
        while not stop.is_set():
            messages: list[Message] = await asyncio.to_thread(consumer.consume, batch_size, 0.5)
            if boards.done():
                boards.result()  # anything but a store outage in the board task stops the worker loudly
            if not messages:
                idle_every = snapshot_every.total_seconds() / 10  # idle: a restart from here replays nothing
                if time.monotonic() - last_snapshot >= idle_every:
                    last_snapshot = time.monotonic()
                    await save_snapshots()
                continue
            offsets: dict[int, int] = {}
            readable: list[Message] = []
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise BrokerUnavailableError(f"consuming {topic}: {error}")
                offsets[int(message.partition() or 0)] = int(message.offset() or 0) + 1
                readable.append(message)
            decoded: list[tuple[int, PlaybackFact]] = []
            for message, fact in zip(readable, decode_facts([_value(m) for m in readable]), strict=True):
                if isinstance(fact, EventDecodeError):
                    _dead_letter(message, fact, dead_letters)
                else:
                    decoded.append((int(message.partition() or 0), fact))
            rows = builder.apply_batch(decoded)
            await store.write(rows, offsets=offsets)
            if decoded and min(f.received_ms for _, f in decoded) < _ms_ago(BEHIND):
                keeper.reread()  # behind (a backlog, a replay): rows of minutes the boards no longer read
            dead_letters.flush()  # parked before the offsets move past them
            consumer.commit(
                offsets=[TopicPartition(topic, p, o) for p, o in sorted(offsets.items())], asynchronous=False
            )
            positions.update(offsets)
            if on_batch is not None:
                on_batch(len(messages))
            if time.monotonic() - last_snapshot >= snapshot_every.total_seconds():
                last_snapshot = time.monotonic()
                await save_snapshots()
    except KafkaException as exc:
        raise BrokerUnavailableError(f"playback worker: {exc}") from exc
    finally:
        boards.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await boards
        consumer.close()
        dead_letters.flush()


async def _keep_boards(
    keeper: BoardKeeper,
    every: timedelta,
    leads: threading.Event,
    gained: threading.Event,
    stop: asyncio.Event,
    after: Sequence[LeaderTask] = (),
) -> None:
    while not stop.is_set():
        if gained.is_set() or not leads.is_set():  # partition 0 came (back) or went: start afresh
            gained.clear()
            keeper.forget()
        if leads.is_set():
            now = datetime.now(UTC)
            try:
                await keeper.refresh(now)
            except ViewStoreError as exc:  # the next round tries again; the API scores live meanwhile
                log.warning("playback: trending boards not refreshed: %s", exc)
            views = keeper.views(now)
            if views is not None:  # else this round could not read: its tasks wait for the next
                await _lead_tasks(after, now, views)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every.total_seconds())


async def _lead_tasks(
    tasks: Sequence[LeaderTask], now: datetime, views: Mapping[str, tuple[int, ...]]
) -> None:
    for task in tasks:
        try:
            await task(now, views)
        except ViewStoreError as exc:  # a store outage: the next round tries again
            log.warning("playback: %s not done this round: %s", getattr(task, "__name__", task), exc)


async def refresh_boards(store: PlaybackStore, *, now: datetime) -> None:
    """Every window's board at ``now``, from one read of the longest window's minutes (no tracker kept)."""
    longest = max(TRENDING_WINDOWS, key=lambda w: w.span)
    buckets = live_buckets(await store.all_minutes(start=now - longest.span, end=now))  # parsed once
    for window in TRENDING_WINDOWS:
        await store.write_board(board_row(board_of(buckets, now=now, window=window)))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cycle collection while the state is saved or rebuilt: millions of objects are made at once,
    none in a cycle (the fold's state is tuples and lists of them), and each collection would rescan
    them all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _ms_ago(span: timedelta) -> int:
    return epoch_ms(datetime.now(UTC) - span)


def _replay(
    kafka: KafkaConfig, topic: str, partition: int, end: int, start: int = 0
) -> Iterator[PlaybackFact]:
    """The partition's readable facts from ``start`` up to ``end``, decoded a chunk at a time."""
    chunk: list[bytes] = []
    for record in read_partition(kafka, topic, partition, end_offset=end, start_offset=start):
        chunk.append(record.value or b"")
        if len(chunk) == _REPLAY_CHUNK:
            yield from _readable(chunk)
            chunk = []
    yield from _readable(chunk)


_REPLAY_CHUNK = 2000


def _readable(values: list[bytes]) -> Iterator[PlaybackFact]:
    for fact in decode_facts(values):
        if not isinstance(fact, EventDecodeError):  # dead-lettered when it was first read
            yield fact


def _value(message: Message) -> bytes:
    return message.value() or b""


def _dead_letter(message: Message, exc: EventDecodeError, dead_letters: EventProducer) -> None:
    log.warning(
        "playback: dead-lettering %s[%s]@%s: %s",
        message.topic(),
        message.partition(),
        message.offset(),
        exc,
    )
    headers = dead_letter_headers(
        original=_headers(message),
        reason=str(exc),
        error="rejected",
        topic=str(message.topic()),
        partition=int(message.partition() or 0),
        offset=int(message.offset() or 0),
        app="playback",
        failed_at=datetime.now(UTC),
    )
    dead_letters.send(DEAD_LETTERS, _value(message), key=message.key(), headers=headers)


def _headers(message: Message) -> list[tuple[str, bytes]]:
    raw: list[tuple[str, bytes | str | None]] = list(message.headers() or [])  # type: ignore[arg-type]
    return [(k, v.encode() if isinstance(v, str) else v or b"") for k, v in raw]
