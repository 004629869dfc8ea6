"""The Cassandra driver's sockets on the reader's own asyncio loop, not on a reactor thread of their own.

cassandra-driver does its I/O on a reactor thread (libev). A read from an asyncio server then
crosses threads twice: the request is handed to the reactor (a wake-up through its notifier),
and the rows come back with ``call_soon_threadsafe`` (another wake-up), each crossing a fight
for the GIL with the thread it wakes. On the query API that was most of a Cassandra read's cost
and of its tail (``benchmarks/api_reads_cassandra.py``, docs/deploy.md). Here the statement is
written to the socket inside ``execute_async``, in the caller's own step, and the answer is read,
decoded and its future settled in the loop's reader callback: no other thread is involved.

The driver keeps one rule for its reactor thread, and the same rule holds here: nothing that runs
on the loop may wait for the driver. Opening a cluster (connecting, preparing statements) and
shutting it down wait, so they run in another thread while the loop turns (``asyncio.to_thread``);
``views.cassandra_cluster.CassandraConnection`` checks this. The driver's own threads (heartbeats,
reconnections, its executor) still send, through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from cassandra.connection import Connection, ConnectionShutdown

__all__ = ["MAX_PENDING_BYTES", "LoopConnection", "connection_class_for", "on_loop"]

log = logging.getLogger(__name__)

# Bytes a connection holds while the node reads more slowly than requests are written: a burst is
# sent all at once from one loop step (thousands of statements from one gather), so the socket's
# own buffer fills long before the node falls behind. Past this the driver sends elsewhere.
MAX_PENDING_BYTES = 8 * 1024 * 1024


def on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs on ``loop`` right now (a step of one of its tasks or callbacks)."""
    return asyncio.events._get_running_loop() is loop


class _LoopTimer:
    """A request's timeout (or speculative retry) as a ``call_later`` on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, callback: Callable[[], Any]) -> None:
        self._callback = callback
        self._cancelled = False
        self._handle: asyncio.TimerHandle | None = None
        if on_loop(loop):
            self._handle = loop.call_later(timeout, self._fire)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing is waiting for this any more
            loop.call_soon_threadsafe(self._arm, loop, timeout)

    def _arm(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        if not self._cancelled:
            self._handle = loop.call_later(timeout, self._fire)

    def _fire(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self._callback()

    def cancel(self) -> None:
        self._cancelled = True
        if self._handle is not None:
            self._handle.cancel()


class LoopConnection(Connection):  # type: ignore[misc]  # the driver is untyped
    """A driver connection whose reads and writes run on ``_loop`` (a subclass per loop)."""

    _loop: asyncio.AbstractEventLoop  # set on the subclass
    is_closed: bool  # the driver's own flags, annotated for mypy (no values: the driver's stay)
    is_defunct: bool

    @classmethod
    def initialize_reactor(cls) -> None:
        """Nothing to start: the loop is the reactor."""

    @classmethod
    def handle_fork(cls) -> None:
        """Nothing to reset: a forked child makes its own loop and its own class."""

    @classmethod
    def create_timer(cls, timeout: float, callback: Callable[[], Any]) -> _LoopTimer:
        return _LoopTimer(cls._loop, timeout, callback)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Connection.__init__(self, *args, **kwargs)
        self._pending: deque[memoryview] = deque()  # what the socket would not take yet
        self._pending_bytes = 0
        self._connect_socket()  # blocking connect, as every reactor does: this runs off the loop
        self._socket.setblocking(False)
        self._fd = self._socket.fileno()
        self._soon(self._watch)
        self._send_options_message()

    # -- the driver's interface ----------------------------------------------------

    def push(self, data: bytes) -> None:
        """Send one whole message (or protocol v5 segment): now if on the loop, else on its next turn."""
        self._soon(self._write, data)

    def close(self) -> None:
        with self.lock:
            if self.is_closed:
                return
            self.is_closed = True
        log.debug("Closing connection (%s) to %s", id(self), self.endpoint)
        self._soon(self._unwatch)
        if not self.is_defunct:  # as the driver's reactors do: nothing in flight is left waiting
            self.error_all_requests(ConnectionShutdown(f"Connection to {self.endpoint} was closed"))
            self.connected_event.set()

    # -- on the loop -----------------------------------------------------------------

    def _soon(self, call: Callable[..., None], *args: Any) -> None:
        """``call(*args)`` on the loop: now when already there; the socket closed if the loop is gone."""
        if on_loop(self._loop):
            call(*args)
            return
        try:
            self._loop.call_soon_threadsafe(call, *args)
        except RuntimeError:  # the loop is closed: nothing will read or write this socket any more
            self._socket.close()
            if not self.is_closed:
                self.defunct(ConnectionShutdown(f"Connection to {self.endpoint}: its event loop is closed"))

    def _watch(self) -> None:
        if not self.is_closed:
            self._loop.add_reader(self._fd, self._readable)

    def _unwatch(self) -> None:
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        self._socket.close()

    def _write(self, data: bytes) -> None:
        if self.is_closed:
            return
        if not self._pending:
            try:
                sent = self._socket.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self.defunct(exc)
                return
            if sent == len(data):
                return
            self._loop.add_writer(self._fd, self._writable)
            data = data[sent:]
        self._pending.append(memoryview(data))  # behind what already waits, in order
        self._pending_bytes += len(data)
        if self._pending_bytes > MAX_PENDING_BYTES:
            self._socket_writable = False  # the driver sends new requests elsewhere (ConnectionBusy)

    def _writable(self) -> None:
        while self._pending:
            data = self._pending[0]
            try:
                sent = self._socket.send(data)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.defunct(exc)
                return
            self._pending_bytes -= sent
            if sent < len(data):
                self._pending[0] = data[sent:]
                break
            self._pending.popleft()
        if not self._pending:
            self._loop.remove_writer(self._fd)
        if self._pending_bytes <= MAX_PENDING_BYTES:
            self._socket_writable = True

    def _readable(self) -> None:
        ended = False
        try:
            while True:
                chunk = self._socket.recv(self.in_buffer_size)
                if not chunk:
                    ended = True
                    break
                self._iobuf.write(chunk)
                if len(chunk) < self.in_buffer_size:
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            self.defunct(exc)
            return
        if self._iobuf.tell():
            self.process_io_buffer()
        if ended:
            log.debug("Connection %s closed by the node", self)
            self.close()


def connection_class_for(loop: asyncio.AbstractEventLoop) -> type[LoopConnection]:
    """A ``Cluster(connection_class=...)`` whose connections do their I/O on ``loop``."""
    return type("LoopConnection", (LoopConnection,), {"_loop": loop})
