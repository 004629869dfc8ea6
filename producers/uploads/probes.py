"""How ``complete`` probes a stored upload without ever waiting on its own service.

The probe once read the local store's file through a URL this same process
served; serving a file takes a thread of the default executor, and six
waiting probes held all of them: the service hung. Now a probe of the local
store reads the file by path, every probe is an asyncio subprocess (it holds
no thread while it waits) with its own deadline, and at most ``size`` run at
once; the others wait their turn without a thread. When every slot has been
busy for a while the service says so on ``/healthz``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from blobs.local import LocalBlobStore
from blobs.multipart import MultipartBlobStore

__all__ = ["ProbeSlots", "probe_target"]


class ProbeSlots:
    """At most ``size`` probes at once; saturated once all have been busy ``saturated_after_s``."""

    def __init__(
        self, size: int, *, saturated_after_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if size < 1:
            raise ValueError(f"probe slots must be at least 1, got {size}")
        self.size = size
        self._saturated_after_s = saturated_after_s
        self._clock = clock
        self._gate = asyncio.Semaphore(size)
        self._busy = 0
        self._waiting = 0
        self._full_since: float | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self._waiting += 1
        try:
            await self._gate.acquire()
        finally:
            self._waiting -= 1
        self._busy += 1
        if self._busy == self.size:
            self._full_since = self._clock()
        try:
            yield
        finally:
            self._busy -= 1
            self._full_since = None
            self._gate.release()

    def counts(self) -> dict[str, int]:
        return {"slots": self.size, "busy": self._busy, "waiting": self._waiting}

    def saturation(self) -> str | None:
        """Why the service is saturated, or None while a slot has been free within the threshold."""
        if self._full_since is None:
            return None
        full_for = self._clock() - self._full_since
        if full_for < self._saturated_after_s:
            return None
        return (
            f"all {self.size} probe slots busy for {full_for:.0f} s"
            f" ({self._waiting} complete call(s) waiting for one)"
        )


def probe_target(blobs: MultipartBlobStore, key: str, *, url_ttl_s: int) -> Path | str:
    """What ffprobe reads: the local store's file by path, else a pre-signed GET URL."""
    if isinstance(blobs, LocalBlobStore):
        return blobs.path_of(key)
    return blobs.get_url(key, expires_s=url_ttl_s)
