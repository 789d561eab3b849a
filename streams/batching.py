"""Batches of whatever events are ready, without a polling timer, sized by a time budget.

Faust's ``Stream.take_events(max_, within)`` waits for a full buffer with a
timeout of ``within`` and loops on that timeout forever. A short ``within``
keeps a lone held request from waiting, but then the loop wakes thousands of
times a second while the worker is idle (measured: most of an idle worker's
main-thread CPU). :func:`take_ready` instead wakes when the first event of a
batch arrives, lets the consumer queue the events that came with it (one turn
of the event loop), and yields them all. A lone event pays no wait; events
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
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import faust

# judging one observe batch should take about this long (seconds, wall clock): the most
# a held (enforce) request waits behind observe work on the worker's event loop
OBSERVE_BUDGET_S = 0.010
# ... and this long while no held request came for HELD_QUIET_S: nobody waits behind the
# batch then, and larger batches cost less an event (per-batch produce, delivery wait and
# wake-ups; NER reads a batch with one nlp.pipe). The first held request after a quiet
# spell waits for at most one such batch; those after it find the short budget again.
OBSERVE_QUIET_BUDGET_S = 0.030
HELD_QUIET_S = 5.0


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


class HeldActivity:
    """When the worker last took a held (enforce) batch: tells the observe budget whether anyone waits."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = -math.inf

    def saw(self) -> None:
        """A held batch was taken now."""
        self._last = self._clock()

    def within(self, seconds: float) -> bool:
        """Whether a held batch was taken in the last ``seconds``."""
        return self._clock() - self._last < seconds


class BatchBudget:
    """Learns what judging an event costs (EWMA of per-event time) and sizes the next batch by it.

    ``alpha`` weighs the newest batch; with 0.2 the estimate follows a change of
    text (pattern-only to NER, ten times dearer) within a handful of batches.
    With ``busy`` (a callable saying whether held requests are about), batches get
    ``budget_s`` while it says yes and ``quiet_budget_s`` while it says no.
    """

    def __init__(self, budget_s: float = OBSERVE_BUDGET_S, *, lo: int = 1, hi: int = 64,
                 alpha: float = 0.2, quiet_budget_s: float | None = None,
                 busy: Callable[[], bool] | None = None) -> None:
        quiet = budget_s if quiet_budget_s is None else quiet_budget_s
        if budget_s <= 0 or quiet < budget_s or not 0 < alpha <= 1:
            raise ValueError(f"budget_s={budget_s!r}, quiet_budget_s={quiet_budget_s!r}, alpha={alpha!r}: "
                             "expected budget_s > 0, quiet_budget_s >= budget_s and 0 < alpha <= 1")
        batch_size(None, budget_s, lo, hi)  # validates lo/hi
        self.budget_s, self.lo, self.hi, self.alpha = budget_s, lo, hi, alpha
        self.quiet_budget_s = quiet
        self._busy = busy
        self.per_event_s: float | None = None

    def size(self) -> int:
        """Events the next batch may hold."""
        quiet = self._busy is not None and not self._busy()
        return batch_size(self.per_event_s, self.quiet_budget_s if quiet else self.budget_s, self.lo, self.hi)

    def record(self, events: int, seconds: float) -> None:
        """Account a batch of ``events`` that took ``seconds`` to judge."""
        if events < 1 or seconds < 0:
            return
        per = seconds / events
        prev = self.per_event_s
        self.per_event_s = per if prev is None else prev + self.alpha * (per - prev)


class _FreshEvents:
    """What Faust's stream does for each event it hands on, done once a batch.

    Faust's ``Stream`` yields one event per turn of the event loop, through its
    processors, sensors and context variables: ≈ 30 µs an event. Reading the
    agent's channel directly keeps the parts that matter for delivery: events
    fetched before a rebalance (another consumer generation) or while the flow
    is stopped are skipped and acked, as the stream skips them; the rest are
    tracked as unacked by the consumer (so a rebalance waits for them) and
    acked after their batch was handled, so a crash mid-batch redelivers them.
    The stream's processors and sensors are not run (the judging agents have none
    of the former; the worker's metrics are its own).
    """

    def __init__(self, stream: faust.StreamT) -> None:
        self._app = stream.app
        self._consumer = stream.app.consumer
        self._acking = stream.app.topics.acking_topics  # type: ignore[attr-defined]

    def admit(self, events: list[Any]) -> list[Any]:
        app, consumer, acking = self._app, self._consumer, self._acking
        generation = app.consumer_generation_id
        flowing = app.flow_control.is_active()
        out = []
        for event in events:
            message = event.message
            if not flowing or message.generation_id != generation:
                event.ack()  # stale: the stream skips and acks it too
                continue
            if message.topic in acking and not message.tracked:
                message.tracked = True
                consumer.unacked.add(message)
            out.append(event)
        return out

    @staticmethod
    def ack(events: list[Any]) -> None:
        for event in events:
            event.ack()


async def take_ready(stream: faust.StreamT, max_: int | Callable[[], int]) -> AsyncIterator[list[Any]]:
    """Yield lists of at most ``max_`` (or ``max_()``, asked as each batch is taken) events, each as soon
    as one is ready."""
    if isinstance(max_, int) and max_ < 1:
        raise ValueError(f"max_={max_!r}: a batch holds at least one event; pass max_ >= 1")
    limit: Callable[[], int] = (lambda: max_) if isinstance(max_, int) else max_
    fresh = _FreshEvents(stream)
    # the agent's channel: Faust's consumer puts each record of the stream's topic here as an event
    queue = aiter(stream.channel).queue  # type: ignore[attr-defined]
    # started as iterating it would start it: its agent stops it, which ends the wait below
    started = await stream.maybe_start()  # type: ignore[attr-defined]
    try:
        async for batch in _batches(stream, queue, fresh, limit):
            yield batch
    finally:
        if started:
            await stream.stop()


async def _batches(stream: faust.StreamT, queue: Any, fresh: _FreshEvents,
                   limit: Callable[[], int]) -> AsyncIterator[list[Any]]:
    while not stream.should_stop:
        try:
            if queue.empty():
                got = await stream.wait(queue.get())  # type: ignore[attr-defined]  # ends if the stream stops
                if got.stopped:
                    return
                first = got.result
            else:
                first = queue.get_nowait()
        except StopAsyncIteration:  # how Faust tells an agent's channel that the agent stops
            return
        # one turn of the loop: events fetched with the first one are all queued by then
        await asyncio.sleep(0)
        # the size is asked now, not when the batch before was taken: a held batch taken
        # meanwhile (while that one's decisions were delivered) already shortens this one
        cap = max(1, limit())
        taken = [first]
        while len(taken) < cap and not queue.empty():
            taken.append(queue.get_nowait())
        batch = fresh.admit(taken)
        if not batch:
            continue
        try:
            yield batch
        finally:
            fresh.ack(batch)
