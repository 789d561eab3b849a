"""Time as our records count it, and waiting that a stop cuts short.

Every ``*_at_us`` field of the contract is microseconds since the Unix epoch (UTC);
:func:`now_us` is the one place that reads the wall clock in that unit. Background
loops (checkpoints, retention, scheduled reports, MLflow jobs) sleep with
:func:`wait_unless_stopped` so that a stop takes effect at once, not after the sleep.

This module imports nothing of ours, so every package may use it.
"""

from __future__ import annotations

import asyncio
import time


def now_us() -> int:
    """Microseconds since the Unix epoch (the unit of every ``*_at_us`` field)."""
    return time.time_ns() // 1000


async def wait_unless_stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when the full time passed (run again)."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return True
    return False
