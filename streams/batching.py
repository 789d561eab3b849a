"""Batches of whatever events are ready, without a polling timer, sized by a time budget.

Faust's ``Stream.take_events(max_, within)`` waits for a full buffer with a
timeout of ``within`` and loops on that timeout forever. A short ``within``
keeps a lone held request from waiting, but then the loop wakes thousands of
times a second while the worker is idle (measured: most of an idle worker's
main-thread CPU). :func:`take_ready` instead wakes when the first event of a
batch arrives, lets the stream's reader add the events that came with it (one
turn of the event loop), and yields them all. A lone event pays no wait; events
fetched together still arrive as one batch.

How many events a batch may hold can change from batch to batch: pass a
callable as ``max_`` (e.g. :meth:`BatchBudget.size`). The observe agent sizes
its batches so that judging one takes about :data:`OBSERVE_BUDGET_S`: a held
request, judged on the same event loop, waits for at most one such slice,
while a backlog of observe events is judged in batches large enough that the
per-batch costs (waking up, the produce request, awaiting delivery) are spread
thin.

Acknowledgement is as in ``take_events``: an event is acked only after the
batch holding it has been handled, so a crash mid-batch redelivers it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust

# judging one observe batch should take about this long (seconds, wall clock): the most
# a held (enforce) request waits behind observe work on the worker's event loop
OBSERVE_BUDGET_S = 0.010


def batch_size(per_event_s: float | None, budget_s: float, lo: int, hi: int) -> int:
    """Events a batch may hold so that it takes about ``budget_s``, within ``[lo, hi]``.

    ``per_event_s`` is the estimated time to judge one event; ``None`` (nothing
    measured yet) gives ``lo``, so the first batches are small while the cost is
    learned.
    """
    if not 1 <= lo <= hi:
        raise ValueError(f"lo={lo!r}, hi={hi!r}: expected 1 <= lo <= hi")
    if per_event_s is None or math.isnan(per_event_s):
        return lo
    if per_event_s <= 0:
        return hi
    n = int(budget_s / per_event_s)
    return max(lo, min(hi, n))


class BatchBudget:
    """Learns what judging an event costs (EWMA of per-event time) and sizes the next batch by it.

    ``alpha`` weighs the newest batch; with 0.2 the estimate follows a change of
    text (pattern-only to NER, ten times dearer) within a handful of batches.
    """

    def __init__(self, budget_s: float = OBSERVE_BUDGET_S, *, lo: int = 1, hi: int = 64,
                 alpha: float = 0.2) -> None:
        if budget_s <= 0 or not 0 < alpha <= 1:
            raise ValueError(f"budget_s={budget_s!r}, alpha={alpha!r}: expected budget_s > 0 and "
                             "0 < alpha <= 1")
        batch_size(None, budget_s, lo, hi)  # validates lo/hi
        self.budget_s, self.lo, self.hi, self.alpha = budget_s, lo, hi, alpha
        self.per_event_s: float | None = None

    def size(self) -> int:
        """Events the next batch may hold."""
        return batch_size(self.per_event_s, self.budget_s, self.lo, self.hi)

    def record(self, events: int, seconds: float) -> None:
        """Account a batch of ``events`` that took ``seconds`` to judge."""
        if events < 1 or seconds < 0:
            return
        per = seconds / events
        prev = self.per_event_s
        self.per_event_s = per if prev is None else prev + self.alpha * (per - prev)


async def take_ready(stream: faust.StreamT, max_: int | Callable[[], int]) -> AsyncIterator[list[Any]]:
    """Yield lists of at most ``max_`` (or ``max_()``, asked before each batch) events, each as soon as
    one is ready."""
    limit: Callable[[], int] = (lambda: max_) if isinstance(max_, int) else max_
    cap = limit()
    if cap < 1:
        raise ValueError(f"max_={cap!r}: a batch holds at least one event; pass max_ >= 1")
    pending: list[Any] = []
    ready = asyncio.Event()  # set while pending holds events
    room = asyncio.Event()  # set while pending holds fewer than the limit
    room.set()

    async def collect(value: Any) -> Any:
        # the stream runs this for every event, in its passive reader task
        while len(pending) >= cap:
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
        batch = pending[:cap]
        del pending[:len(batch)]
        if not pending:
            ready.clear()
        # the next batch's size, decided now: the reader fills up to it while this one is judged
        cap = max(1, limit())
        room.set()
        try:
            yield batch
        finally:
            for event in batch:
                await stream.ack(event)
