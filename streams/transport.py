"""Faust's aiokafka transport with a short fetch wait and a cheaper per-message race.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer. Real Kafka
answers a fetch as soon as data arrives, so the wait rarely matters there;
the embedded Tansu broker answers only when the wait ends, which would add up
to 1.5 s to every held (enforce) request. This transport keeps everything of
Faust's and only sets the wait. It is registered as the URL scheme
``lgkafka://`` (see :func:`register`).

Faust's consumer hands every fetched message to the streams with
``wait_first(deliver(message), suspend_flow.wait())``: a race that lets a
rebalance abandon a delivery stuck on a full stream buffer. The race costs
four tasks and their cancellation per message (≈ 30 µs, a tenth of the worker's
per-event cost outside the classifier) although a delivery almost never
waits. The consumer's :meth:`EagerRace.wait_first` therefore starts the first coroutine
itself: if it finishes without waiting, it has won the race and no task is
made; if it has to wait, the rest of it runs in Faust's race as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service
from mode.services import WaitResults

SCHEME = "lgkafka"
# set by register(); one Faust app per worker process
_fetch_max_wait_ms = 5


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher in start(); set it before that
        consumer._fetch_max_wait_ms = _fetch_max_wait_ms
        return consumer


class _Resumed:
    """Awaitable that carries on a coroutine which was started by hand and is waiting on ``waiting_on``."""

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self._coro = coro
        self._waiting_on = waiting_on

    def __await__(self) -> Generator[Any, None, Any]:
        waiting_on = self._waiting_on
        while True:
            thrown: BaseException | None = None
            try:
                yield waiting_on  # the future the coroutine waits on, to the task running us
            except BaseException as exc:  # noqa: BLE001 - e.g. the race's cancellation: the coroutine's to handle
                thrown = exc
            try:
                waiting_on = self._coro.send(None) if thrown is None else self._coro.throw(thrown)
            except StopIteration as done:
                return done.value


class EagerRace(Service):
    """Mixin for a mode Service: ``wait_first`` starts its first coroutine at once (module docstring)."""

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Faust's race of ``coros``, with the first one started at once (see the module docstring)."""
        first = coros[0] if coros else None
        if (timeout is not None or not inspect.iscoroutine(first) or self.should_stop
                or self._crashed.is_set()):
            return await super().wait_first(*coros, timeout=timeout)
        try:
            waiting_on = first.send(None)
        except StopIteration as done:  # finished without waiting: the first to complete
            _close_unstarted(coros[1:])
            return WaitResults([first], [done.value], False)
        except BaseException:
            _close_unstarted(coros[1:])
            raise
        return await super().wait_first(_Resumed(first, waiting_on), *coros[1:])


class _Consumer(EagerRace, faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


def _close_unstarted(coros: tuple[Any, ...]) -> None:
    """Close coroutines that will never run, so that they are not reported as never awaited."""
    for c in coros:
        if inspect.iscoroutine(c):
            c.close()


class Transport(faust_aiokafka.Transport):
    """aiokafka transport whose consumer waits at most the configured fetch wait."""

    Consumer = _Consumer


def register(fetch_max_wait_ms: int) -> None:
    """Make ``lgkafka://host:port`` resolve to :class:`Transport` with this fetch wait."""
    global _fetch_max_wait_ms
    _fetch_max_wait_ms = fetch_max_wait_ms
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
