"""Enforce mode's hold: wait for the Decision of a request on this instance's reply topic.

Each proxy instance consumes only its own reply topic (``<prefix>.replies.<instance>``,
named in every RequestEvent's ``reply_to``), without a consumer group, from the
end. The consumer's position is resolved *before* :meth:`DecisionWaiter.start`
returns, so a decision published after the first request cannot be skipped by
a late "latest" offset lookup. Futures are registered before the request event is
published (:meth:`expect`), so a fast decision cannot beat its waiter.

The consumer fetches only while at least one request is held: with nothing to
wait for, its partition is paused, so an idle proxy sends no fetches at all
(the embedded broker sleeps the whole fetch wait before it answers, so an
always-fetching consumer polled it 200 times a second: 8 % of a core, idle).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ledgergate.schemas.codec import Codec, SchemaError, default_codec
from ledgergate.schemas.store import SchemaResolver

log = logging.getLogger("ledgergate.proxy.waiter")


class DecisionWaiter:
    """Resolves one future per held request id from the reply topic.

    Constructing it does no I/O; :meth:`start` connects (retrying in the
    background if the broker is down) and :meth:`stop` closes the consumer.
    """

    def __init__(self, bootstrap: str, reply_topic: str, *, client_id: str = "ledgergate-proxy",
                 retry_seconds: float = 1.0, fetch_max_wait_ms: int = 100,
                 consumer_factory: Callable[[], AIOKafkaConsumer] | None = None,
                 schemas: SchemaResolver | None = None) -> None:
        # fetch_max_wait_ms: Tansu answers a fetch only when this wait ends, not
        # when data arrives (Kafka does the latter), so it bounds the hold latency
        # on the embedded broker; shorter = faster decisions, more idle polling CPU
        self.bootstrap = bootstrap
        self.topic = reply_topic
        # decisions from workers of another release: their schema is looked up first
        self._schemas = schemas
        self._codec: Codec = schemas.codec if schemas is not None else default_codec()
        self.retry_seconds = retry_seconds
        self._factory = consumer_factory or (lambda: AIOKafkaConsumer(
            bootstrap_servers=bootstrap, client_id=client_id, group_id=None,
            enable_auto_commit=False, auto_offset_reset="latest",
            fetch_max_wait_ms=fetch_max_wait_ms, request_timeout_ms=10_000))
        self._consumer: AIOKafkaConsumer | None = None
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._wanted = asyncio.Event()  # set while a request is held
        self._task: asyncio.Task[None] | None = None
        self.running = False
        self.last_decision_at: float | None = None  # monotonic
        self.last_timeout_at: float | None = None
        self.decisions = 0

    async def start(self, timeout: float = 10.0) -> bool:
        """Connect and position at the end; False (and retry in the background) if the broker is down."""
        ok = await self._connect(timeout)
        self._task = asyncio.create_task(self._loop(), name="decision-waiter")
        return ok

    async def _connect(self, timeout: float) -> bool:
        consumer = self._factory()
        try:
            await asyncio.wait_for(consumer.start(), timeout)
            parts = consumer.partitions_for_topic(self.topic) or {0}
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:  # force the "latest" lookup now, before any request is published
                await consumer.position(tp)
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("reply topic %s not reachable on %s (%r); enforce routes answer 503 until it is",
                        self.topic, self.bootstrap, exc)
            try:
                await consumer.stop()
            except (KafkaError, OSError):
                pass
            self.running = False
            return False
        self._consumer = consumer
        self.running = True
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        if self._consumer is not None:
            try:
                await asyncio.wait_for(self._consumer.stop(), 5)
            except asyncio.CancelledError:
                # aiokafka lets its fetcher's cancellation escape stop() when the
                # broker is gone; only a cancellation of our own task goes on
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
            except Exception as exc:  # noqa: BLE001 - shutting down; the broker may be gone
                log.debug("reply consumer did not stop cleanly: %r", exc)
            self._consumer = None
        self.running = False
        for fut in self._futures.values():
            if not fut.done():
                fut.cancel()

    def expect(self, request_id: str) -> asyncio.Future[dict[str, Any]]:
        """Register interest in a decision; call before publishing the request."""
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[request_id] = fut
        if not self._wanted.is_set():
            self._wanted.set()
            self._set_paused(False)
        return fut

    @property
    def fetching(self) -> bool:
        """Whether the reply consumer is fetching (it is paused while no request is held)."""
        return self._consumer is not None and not self._consumer.paused()

    def _set_paused(self, paused: bool) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        tps = list(consumer.assignment())
        if paused:
            consumer.pause(*tps)
        else:
            consumer.resume(*tps)

    def forget(self, request_id: str) -> None:
        self._futures.pop(request_id, None)

    async def wait(self, request_id: str, fut: asyncio.Future[dict[str, Any]],
                   timeout: float) -> dict[str, Any] | None:
        """The decision, or None after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        handle = loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        except TimeoutError:
            self.last_timeout_at = time.monotonic()
            return None
        finally:
            handle.cancel()
            self._futures.pop(request_id, None)

    async def _loop(self) -> None:
        while True:
            if self._consumer is None:
                await asyncio.sleep(self.retry_seconds)
                await self._connect(10.0)
                continue
            if not self._futures:
                # nothing held: stop fetching until expect() wants a decision
                self._wanted.clear()
                self._set_paused(True)
                await self._wanted.wait()
                continue
            try:
                # short: after a hold times out, the loop soon sees nothing is held and pauses
                batches = await self._consumer.getmany(timeout_ms=200)
            except (KafkaError, OSError) as exc:
                log.warning("reading reply topic %s failed (%r); reconnecting", self.topic, exc)
                try:
                    await self._consumer.stop()
                except (KafkaError, OSError):
                    pass
                self._consumer = None
                self.running = False
                continue
            for msgs in batches.values():
                if self._schemas is not None:
                    await self._schemas.learn(m.value for m in msgs)
                for m in msgs:
                    self._on_message(m.value)

    def _on_message(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            d = self._codec.decode(value, expect="Decision")[1]
        except SchemaError as exc:
            log.warning("ignoring a message on %s that is not a Decision: %s", self.topic, exc)
            return
        self.decisions += 1
        self.last_decision_at = time.monotonic()
        fut = self._futures.pop(d["request_id"], None)
        if fut is not None and not fut.done():
            fut.set_result(d)


def _expire(fut: asyncio.Future[Any]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())
