"""Batches of whatever events are ready, without a polling timer.

Faust's ``Stream.take_events(max_, within)`` waits for a full buffer with a
timeout of ``within`` and loops on that timeout forever. A short ``within``
keeps a lone held request from waiting, but then the loop wakes thousands of
times a second while the worker is idle (measured: most of an idle worker's
main-thread CPU). :func:`take_ready` instead wakes when the first event of a
batch arrives, lets the stream's reader add the events that came with it (one
turn of the event loop), and yields them all. A lone event pays no wait; events
fetched together still arrive as one batch.

Acknowledgement is as in ``take_events``: an event is acked only after the
batch holding it has been handled, so a crash mid-batch redelivers it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust


async def take_ready(stream: faust.StreamT, max_: int) -> AsyncIterator[list[Any]]:
    """Yield lists of at most ``max_`` events, each as soon as one is ready."""
    if max_ < 1:
        raise ValueError(f"max_={max_!r}: a batch holds at least one event; pass max_ >= 1")
    pending: list[Any] = []
    ready = asyncio.Event()  # set while pending holds events
    room = asyncio.Event()  # set while pending holds fewer than max_
    room.set()

    async def collect(value: Any) -> Any:
        # the stream runs this for every event, in its passive reader task
        while len(pending) >= max_:
            room.clear()
            await stream.wait(room)  # type: ignore[attr-defined]  # Stream.wait takes any awaitable event
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_ready: the stream delivered a value without its event")
        pending.append(event)
        ready.set()
        return value

    # the loop below acks each event after its batch was handled, as take_events does
    stream.enable_acks = False  # type: ignore[misc]
    stream.add_processor(collect)
    # the stream is read in the background by its own task, filling `pending`;
    # this is how take_events itself reads (Faust has no public hook for it)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[attr-defined]
    while not stream.should_stop:
        await stream.wait_for_stopped(ready)  # type: ignore[attr-defined]
        if not pending:
            continue
        # one turn of the loop: the reader adds events that were delivered with this one
        await asyncio.sleep(0)
        batch = pending[:max_]
        del pending[:len(batch)]
        if not pending:
            ready.clear()
        room.set()
        try:
            yield batch
        finally:
            for event in batch:
                await stream.ack(event)
