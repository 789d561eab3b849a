"""Publishing request and response events to Kafka, with the local spool as fallback.

Three ways to publish, by what the caller needs:

* :meth:`Publisher.submit` — observe mode and every ResponseEvent: off the hot
  path. The caller hands over a function that builds the records (parts
  extraction and Avro encoding run in the background task, not in the request);
  a failed send lands in the spool. The task lingers ``linger_ms`` after the
  first event so that the events of several requests share one produce request
  (measured: proxy CPU per observe request 0.58 → 0.40 ms at 5 ms).
* :meth:`Publisher.send_acked` — enforce mode's RequestEvent: the request waits
  for the broker's ack (acks=all) or fails fast (503 upstream of here).
* :meth:`Publisher.send_durable` — ``POST /v1/events``: returns once the broker
  acked *or* the spool fsync'd the record.

Ordering: while the spool holds anything, background events go to the spool
too, so a request's RequestEvent is never overtaken by its ResponseEvent; the
replay task drains the spool in order and only then lets events go straight to
the broker again. The replay task is also the reconnection probe: it recreates
the producer until the broker answers.

Delivery is at-least-once: events queued in memory when the process is killed
(not stopped) are lost; a clean stop flushes them to the broker or the spool.
Tansu rejects idempotent producers, so ``enable_idempotence=False``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ledgergate.errors import LedgergateError
from ledgergate.proxy.spool import Record, Spool

log = logging.getLogger("ledgergate.proxy.publisher")

RecordsFn = Callable[[], list[Record]]
#: events kept in memory when the spool cannot take them (≈ 1 KiB each)
MAX_UNSAVED = 100_000


class PublishError(LedgergateError):
    """The broker did not take the record in time (or is known to be down)."""


class ProducerLike(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[Any]: ...
    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> Any: ...


class Publisher:
    """Owns the producer, the in-memory background queue and the spool replay.

    Constructing it does no I/O; :meth:`start` connects (tolerating a broker that
    is down: the proxy then runs on the spool) and :meth:`stop` flushes.
    """

    def __init__(self, bootstrap: str, spool: Spool, *, publish_timeout_ms: int = 2000,
                 linger_ms: int = 0, client_id: str = "ledgergate-proxy", retry_seconds: float = 1.0,
                 producer_factory: Callable[[], ProducerLike] | None = None) -> None:
        self.bootstrap = bootstrap
        self.spool = spool
        self.timeout = publish_timeout_ms / 1000
        # background events wait this long so that several requests' events share
        # one produce request (each costs a broker round trip and ≈ 0.1 ms of client CPU)
        self.linger = linger_ms / 1000
        self.retry_seconds = retry_seconds
        self._factory = producer_factory or (lambda: AIOKafkaProducer(
            bootstrap_servers=bootstrap, client_id=client_id, acks="all", enable_idempotence=False,
            linger_ms=0, request_timeout_ms=publish_timeout_ms, retry_backoff_ms=50))
        self._producer: ProducerLike | None = None
        self.healthy = False  # producer started and no send failure since
        self._queue: deque[RecordsFn] = deque()
        self._queue_wake: asyncio.Event | None = None
        self._replay_wake: asyncio.Event | None = None
        self._inflight: dict[asyncio.Future[Any], Record] = {}
        self._failed: list[Record] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.sent = 0
        self.spooled = 0
        self.replayed = 0
        # events neither sent nor spooled (the spool failed): retried, and /ready says so meanwhile
        self.unsaved: list[Record] = []
        self.lost = 0            # beyond MAX_UNSAVED: logged and counted, never silent
        self.build_failures = 0
        self.failures = 0  # sends that failed (each also turns the proxy to the spool)

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Open the spool, try the broker once, start the drain and replay tasks."""
        self._queue_wake = asyncio.Event()
        self._replay_wake = asyncio.Event()
        left = await self.spool.open()
        if left:
            log.info("spool holds %d events from before; replaying them once the broker answers", left)
        await self._connect()
        self._tasks = [asyncio.create_task(self._drain_loop(), name="publisher-drain"),
                       asyncio.create_task(self._replay_loop(), name="publisher-replay")]

    async def _connect(self) -> bool:
        if self._inflight:
            # sends still in flight on the producer being replaced may never
            # complete: spool them again (at least once; consumers dedup by request id)
            self._failed.extend(self._inflight.values())
            self._inflight.clear()
            if self._queue_wake is not None:
                self._queue_wake.set()
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.stop(), self.timeout)
            except (TimeoutError, KafkaError, OSError) as exc:
                log.debug("old producer did not stop cleanly: %r", exc)
            self._producer = None
        producer = self._factory()
        try:
            await asyncio.wait_for(producer.start(), max(self.timeout, 1.0))
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("broker %s unreachable (%r); events go to the spool until it answers",
                        self.bootstrap, exc)
            try:
                await asyncio.wait_for(producer.stop(), 1.0)
            except (TimeoutError, KafkaError, OSError):
                pass
            self.healthy = False
            return False
        self._producer = producer
        self.healthy = self.spool.pending == 0
        return True

    async def stop(self) -> None:
        """Flush the background queue and in-flight sends (to the broker or the spool), stop."""
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down
                pass
        # whatever is still queued: build and send/spool it now
        leftovers: list[Record] = []
        while self._queue:
            leftovers.extend(self._build(self._queue.popleft()))
        if leftovers:
            if self.healthy and self._producer is not None:
                for r in leftovers:
                    await self._send_bg(r)
            else:
                self._failed.extend(leftovers)
        if self._inflight:
            await asyncio.wait(list(self._inflight), timeout=self.timeout)
            for fut, rec in list(self._inflight.items()):
                if not fut.done():
                    self._failed.append(rec)
        if self._failed:
            failed, self._failed = self._failed, []
            await self.spool.append(failed)
            self.spooled += len(failed)
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.stop(), self.timeout)
            except (TimeoutError, KafkaError, OSError) as exc:
                log.warning("producer did not stop cleanly: %r", exc)
            self._producer = None
        await self.spool.close()

    # ---------------------------------------------------------------- publishing
    def submit(self, build: RecordsFn) -> None:
        """Queue records for the background task (never blocks, never raises)."""
        self._queue.append(build)
        w = self._queue_wake
        if w is not None:
            w.set()

    async def send_acked(self, record: Record, timeout: float | None = None) -> None:
        """Send and wait for the broker's ack; PublishError when it is down or too slow."""
        producer = self._producer
        if producer is None or not self.healthy:
            raise PublishError(f"broker {self.bootstrap} is unreachable (events are being spooled)")
        try:
            await asyncio.wait_for(producer.send_and_wait(record.topic, record.value, record.key),
                                   timeout or self.timeout)
        except (TimeoutError, KafkaError, OSError) as exc:
            self._degrade(exc)
            raise PublishError(f"broker {self.bootstrap} did not ack within "
                               f"{(timeout or self.timeout) * 1000:.0f} ms: {exc!r}") from exc
        self.sent += 1

    async def send_durable(self, records: list[Record]) -> str:
        """Broker ack or spool fsync; returns ``"broker"`` or ``"spool"``. SpoolError if neither."""
        if self.healthy and self.spool.pending == 0:
            try:
                for r in records:
                    await self.send_acked(r)
                return "broker"
            except PublishError:
                pass  # fall through to the spool: at-least-once, a duplicate is possible
        await self.spool.append(records)
        self.spooled += len(records)
        self._wake_replay()
        return "spool"

    # ---------------------------------------------------------------- internals
    def _degrade(self, exc: BaseException) -> None:
        self.failures += 1
        if self.healthy:
            log.warning("publishing to %s failed (%r); spooling until the broker answers", self.bootstrap, exc)
        self.healthy = False
        self._wake_replay()

    def _wake_replay(self) -> None:
        if self._replay_wake is not None:
            self._replay_wake.set()

    def _build(self, fn: RecordsFn) -> list[Record]:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - a bad event must not stop the publisher
            # the proxy's builders repair what does not encode, so this is a bug: count it, /ready shows it
            self.build_failures += 1
            log.exception("building an audit event failed (%d so far); it is missing from the trail",
                          self.build_failures)
            return []

    async def _send_bg(self, rec: Record) -> None:
        assert self._producer is not None
        try:
            fut = await self._producer.send(rec.topic, rec.value, key=rec.key)
        except (KafkaError, OSError) as exc:
            self._degrade(exc)
            self._failed.append(rec)
            return
        self._inflight[fut] = rec
        fut.add_done_callback(self._sent)

    def _sent(self, fut: asyncio.Future[Any]) -> None:
        rec = self._inflight.pop(fut, None)
        if fut.cancelled() or fut.exception() is not None:
            self._degrade(fut.exception() or asyncio.CancelledError())
            if rec is not None:
                self._failed.append(rec)
                self._queue_wake.set() if self._queue_wake else None
        else:
            self.sent += 1

    async def _drain_loop(self) -> None:
        assert self._queue_wake is not None
        while True:
            await self._queue_wake.wait()
            if self.linger:
                await asyncio.sleep(self.linger)
            self._queue_wake.clear()
            while self._queue or self._failed:
                # build what lingered, letting requests run between builds (encoding is
                # the costly part); then send it all at once, to share a produce request
                records: list[Record] = []
                for i in range(len(self._queue)):
                    if i:
                        await asyncio.sleep(0)
                    records.extend(self._build(self._queue.popleft()))
                if self._failed:
                    # sends that failed are older than this batch: to the spool first
                    failed, self._failed = self._failed, []
                    await self._spool_records(failed)
                if not records:
                    continue
                if self.healthy and self.spool.pending == 0 and self._producer is not None:
                    for r in records:
                        await self._send_bg(r)
                else:
                    await self._spool_records(records)

    async def _spool_records(self, records: list[Record]) -> None:
        try:
            await self.spool.append(records)
            self.spooled += len(records)
        except Exception:  # noqa: BLE001 - the spool is the last resort: keep them, retry, say so loudly
            room = MAX_UNSAVED - len(self.unsaved)
            self.unsaved.extend(records[:room])
            self.lost += max(0, len(records) - room)
            log.exception("could not spool %d events: %d held in memory for a retry, %d lost so far "
                          "(the proxy reports not ready until they are saved)", len(records),
                          len(self.unsaved), self.lost)
        self._wake_replay()

    async def _retry_unsaved(self) -> None:
        """Spool the events a failed spool append left in memory (oldest first)."""
        if not self.unsaved:
            return
        held, self.unsaved = self.unsaved, []
        await self._spool_records(held)
        if not self.unsaved:
            log.warning("%d events held in memory after a spool failure are now spooled", len(held))

    async def _replay_loop(self) -> None:
        assert self._replay_wake is not None
        while True:
            try:
                await asyncio.wait_for(self._replay_wake.wait(), self.retry_seconds)
            except TimeoutError:
                pass
            self._replay_wake.clear()
            await self._retry_unsaved()
            if self.healthy and self.spool.pending == 0:
                continue
            if self._producer is None or not self.healthy:
                if not await self._connect():
                    await asyncio.sleep(self.retry_seconds)
                    continue
            try:
                await self._replay_all()
            except (TimeoutError, KafkaError, OSError) as exc:
                log.info("spool replay paused: broker %s not ready (%r)", self.bootstrap, exc)
                self.healthy = False
                await asyncio.sleep(self.retry_seconds)

    async def _replay_all(self) -> None:
        producer = self._producer
        assert producer is not None
        while True:
            records, cursor = await self.spool.read()
            if not records:
                self.spool.resync_empty()
                if self.spool.pending == 0:
                    self.healthy = True
                    log.info("spool drained; publishing directly again")
                    return
                await asyncio.sleep(0.005)  # an append is being written: read it next
                continue
            futs = [await producer.send(r.topic, r.value, key=r.key) for r in records]
            await asyncio.wait_for(asyncio.gather(*futs), self.timeout * 2)
            await self.spool.commit(cursor, len(records))
            self.replayed += len(records)
