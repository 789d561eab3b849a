"""Publishes a judged batch's decisions: one record batch per topic partition, one delivery wait.

Each decision goes to the decisions topic (partitioned by its request id, as
the producer's default partitioner would place it) and, for a held request,
first to the caller's reply topic. Instead of one ``producer.send`` and one
delivery future per record (≈ 15 µs of bookkeeping each in aiokafka and
Faust), the records are appended to one aiokafka record batch per
(topic, partition) and each batch is submitted once; the agent then waits for
those few futures. The batch's events are acked (their offsets may be
committed) only after this returns, and an event whose decision was not
delivered is dead-lettered instead: at least once, never skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import faust
from aiokafka.partitioner import DefaultPartitioner

from ledgergate.broker.batches import RecordBatches
from ledgergate.broker.config import Topics
from ledgergate.streams.judge import Judged
from ledgergate.streams.metrics import WorkerMetrics

log = logging.getLogger("ledgergate.worker")

_PARTITIONER = DefaultPartitioner()


class WorkerState:
    """What the worker has done, for readiness, the bench and the lag metric."""

    def __init__(self) -> None:
        self.decided = 0
        self.dead_lettered = 0
        self.assigned = asyncio.Event()
        # (topic, partition) -> the next offset this worker has not judged yet
        self.next_offset: dict[tuple[str, int], int] = {}


class DecisionSender:
    """Sends a batch's decisions, waits for their delivery, dead-letters what fails."""

    def __init__(self, app: faust.App, topics: Topics, *, worker_id: str, state: WorkerState,
                 metrics: WorkerMetrics) -> None:
        self._app = app
        self._topics = topics
        self._worker_id = worker_id
        self._state = state
        self._metrics = metrics

    async def dead_letter(self, message: Any, error: str, reason: str) -> None:
        """Send a consumed record to the dead-letter topic with its coordinates and the error."""
        log.error("dead-lettering record %s[%d]@%d: %s", message.topic, message.partition, message.offset, error)
        self._state.dead_lettered += 1
        self._metrics.dead_lettered(reason)
        headers = {"x-error": error[:2000].encode(), "x-topic": message.topic.encode(),
                   "x-partition": str(message.partition).encode(), "x-offset": str(message.offset).encode(),
                   "x-worker": self._worker_id.encode()}
        try:
            await self._app.producer.send(self._topics.dead_letters, message.key, message.value, None, None,
                                          headers)
        except Exception:  # noqa: BLE001 - the record is still in its source topic; never kill the agent
            log.exception("could not dead-letter %s[%d]@%d", message.topic, message.partition, message.offset)

    async def send(self, events: Sequence[Any], judged: Sequence[Judged]) -> None:
        """Publish each event's decision (replies first), then wait until the broker has them all.

        The batch ends (and Faust may commit its offsets) only once its decisions
        are delivered: a decision that was never delivered must not be skipped
        (the producer retries for producer_request_timeout before giving up).
        """
        failed: dict[int, str] = {}
        for ev, j in zip(events, judged, strict=True):
            if j.error is not None:
                await self.dead_letter(ev.message, j.error, j.reason or "undecidable")
        try:
            sent = await self._submit(judged, failed)
        except Exception as exc:  # noqa: BLE001 - every decision of the batch is dead-lettered below
            sent = []
            for i, j in enumerate(judged):
                if j.payload is not None:
                    failed.setdefault(i, f"cannot publish decision: {type(exc).__name__}: {exc}")
        results = await asyncio.gather(*(fut for fut, _ in sent), return_exceptions=True)
        for (_, holders), res in zip(sent, results, strict=True):
            if isinstance(res, BaseException):
                for i in holders:
                    failed.setdefault(i, f"decision not delivered: {type(res).__name__}: {res}")
        for i, j in enumerate(judged):
            if j.payload is not None and i not in failed:
                self._state.decided += 1
        for i, error in sorted(failed.items()):  # once per event, even if both its records failed
            await self.dead_letter(events[i].message, error, "undelivered")

    async def _submit(self, judged: Sequence[Judged], failed: dict[int, str]) -> list[tuple[Any, list[int]]]:
        """Queue the records on the producer: one batch per (topic, partition); their futures."""
        producer = self._app.producer._ensure_producer()  # type: ignore[attr-defined]  # the aiokafka producer
        decisions = self._topics.decisions
        parts = sorted(await producer.partitions_for(decisions))
        replies: RecordBatches[int] = RecordBatches(producer)
        outbox: RecordBatches[int] = RecordBatches(producer)
        for i, j in enumerate(judged):
            if j.payload is None:
                continue
            key = j.request_id.encode() if j.request_id else None
            try:
                # the reply goes first: an enforce caller is waiting for it. Reply topics have
                # one partition read by one proxy; naming it holds even if auto-created wider
                if j.reply_to:
                    replies.add(j.reply_to, 0, key, j.payload, i)
                # keyed like the producer's default partitioner would (murmur2 of the key);
                # without a key any partition will do
                p = _PARTITIONER(key, parts, parts) if key is not None else parts[i % len(parts)]
                outbox.add(decisions, p, key, j.payload, i)
            except Exception as exc:  # noqa: BLE001 - this event is dead-lettered, the batch goes on
                failed[i] = f"cannot publish decision: {type(exc).__name__}: {exc}"
        sent = []
        for topic, partition, batch, holders in [*replies.batches(), *outbox.batches()]:
            try:
                sent.append((await producer.send_batch(batch, topic, partition=partition), holders))
            except Exception as exc:  # noqa: BLE001 - the events of this batch are dead-lettered
                for i in holders:
                    failed.setdefault(i, f"cannot publish decision: {type(exc).__name__}: {exc}")
        return sent
