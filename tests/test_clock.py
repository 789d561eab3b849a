"""The clock helpers: the unit of every ``*_at_us`` field, and a sleep a stop cuts short."""

from __future__ import annotations

import asyncio
import time

from ledgergate.clock import now_us, wait_unless_stopped


def test_now_us_is_microseconds_since_the_epoch() -> None:
    before = time.time_ns() // 1000
    got = now_us()
    after = time.time_ns() // 1000
    assert before <= got <= after
    assert 1_700_000_000_000_000 < got < 4_000_000_000_000_000  # µs, not ms or ns


async def test_the_full_wait_says_run_again() -> None:
    t0 = time.monotonic()
    assert await wait_unless_stopped(asyncio.Event(), 0.05) is True
    assert time.monotonic() - t0 >= 0.04


async def test_a_stop_ends_the_wait_at_once() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.02, stop.set)
    t0 = time.monotonic()
    assert await wait_unless_stopped(stop, 30) is False
    assert time.monotonic() - t0 < 5


async def test_an_already_set_stop_does_not_wait() -> None:
    stop = asyncio.Event()
    stop.set()
    assert await wait_unless_stopped(stop, 30) is False
