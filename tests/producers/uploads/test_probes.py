"""Probe slots: bounded, waiting without threads, and saying when they have been full too long."""

from __future__ import annotations

import asyncio

import pytest

from producers.uploads.probes import ProbeSlots


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_no_more_than_size_run_at_once_and_the_rest_wait() -> None:
    slots = ProbeSlots(2, saturated_after_s=5)
    running, most = 0, 0
    release = asyncio.Event()

    async def probe() -> None:
        nonlocal running, most
        async with slots.slot():
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1

    tasks = [asyncio.create_task(probe()) for _ in range(5)]
    for _ in range(10):  # a few turns of the loop: every task reaches its slot or its wait
        await asyncio.sleep(0)
    assert slots.counts() == {"slots": 2, "busy": 2, "waiting": 3}
    release.set()
    await asyncio.gather(*tasks)
    assert most == 2 and slots.counts() == {"slots": 2, "busy": 0, "waiting": 0}


async def test_saturated_only_when_every_slot_has_been_busy_past_the_threshold() -> None:
    clock = Clock()
    slots = ProbeSlots(2, saturated_after_s=5, clock=clock)
    async with slots.slot():
        clock.now += 60
        assert slots.saturation() is None  # one slot free all along
        async with slots.slot():
            clock.now += 4.9
            assert slots.saturation() is None
            clock.now += 0.2
            assert slots.saturation() == "all 2 probe slots busy for 5 s (0 complete call(s) waiting for one)"
        assert slots.saturation() is None  # a slot came free


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProbeSlots(0, saturated_after_s=1)
