"""Kafka → ledger: the sink loop of the ledger service, and how it gathers records into appends.

Every append costs a fixed ≈ 10–15 ms of CPU (the DuckDB statements and the
commit) on top of ≈ 0.1 ms a record (mostly the Ed25519 signature and the
record's Avro encoding), so the sink appends what it holds once ``batch_max``
records are in hand or the first of them has waited ``linger_ms``
(:class:`Gathering`), and commits the consumer offsets in the same DuckDB
transaction: the offsets move only once the records are durable, and a
redelivered record is skipped by its (kind, request id).

The consumer keeps aiokafka's fetch settings (a fetch is answered as soon as
any record is there, else after 500 ms). Asking the broker to gather instead
(``fetch_min_bytes`` of about a batch, a fetch wait of the linger) was measured
and not kept: the embedded Tansu broker spends CPU on a fetch for as long as it
waits (≈ 1 ms a waiting fetch), so its CPU a record rose from 0.022 to 0.031 ms
at 2,000 decisions/s and from 0.105 to 0.15 at 500/s, and the ledger's own CPU
did not move (``bench/sink_bench.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ledgergate.clock import now_us
from ledgergate.ledger import entries as entry_mod
from ledgergate.ledger.metrics import LedgerMetrics
from ledgergate.ledger.store import LedgerWriter
from ledgergate.schemas.codec import Codec, SchemaError
from ledgergate.schemas.store import SchemaResolver

log = logging.getLogger("ledgergate.ledger")

# how long the sink waits for records while it holds none (stop and the
# checkpoint cadence are looked at this often)
IDLE_POLL_S = 0.2


class Gathering:
    """Records read but not appended yet, and when they are due (pure: callers pass the time).

    Due once ``batch_max`` are held or the first has waited ``linger_s``.
    """

    def __init__(self, batch_max: int, linger_s: float) -> None:
        self.batch_max = batch_max
        self.linger_s = linger_s
        self.records: list[Any] = []
        self._first_at = 0.0

    def room(self) -> int:
        """How many more records fit in the batch."""
        return max(0, self.batch_max - len(self.records))

    def add(self, records: list[Any], now: float) -> None:
        if records and not self.records:
            self._first_at = now
        self.records += records

    def due(self, now: float) -> bool:
        return bool(self.records) and (len(self.records) >= self.batch_max
                                       or now - self._first_at >= self.linger_s)

    def wait_s(self, now: float, idle_s: float) -> float:
        """How long to wait for more records: until the linger ends, or ``idle_s`` when empty."""
        if not self.records:
            return idle_s
        return max(0.0, min(idle_s, self._first_at + self.linger_s - now))

    def take(self) -> list[Any]:
        out, self.records = self.records, []
        return out


class LedgerSink:
    """Kafka → ledger, exactly once into DuckDB (offsets live in the same transaction)."""

    def __init__(self, writer: LedgerWriter, codec: Codec, *, topics: list[str], batch_max: int,
                 linger_ms: int = 0, from_beginning: bool = False, metrics: LedgerMetrics | None = None,
                 schemas: SchemaResolver | None = None) -> None:
        self._writer = writer
        self._metrics = metrics
        # writer schemas this build does not know are looked up before decoding
        self._schemas = schemas
        self._gathering = Gathering(batch_max, linger_ms / 1000)
        self._from_beginning = from_beginning
        self._suspects: dict[TopicPartition, int] = {}
        self._codec = codec
        self._topics = topics
        self.appended = 0
        self.skipped = 0
        self.bad = 0
        self.batches = 0

    @property
    def pending(self) -> int:
        """Records read from Kafka and waiting for their append (their offsets are not stored yet)."""
        return len(self._gathering.records)

    def entries_for(self, messages: list[Any]) -> tuple[list[dict[str, Any]], dict[tuple[str, int], int]]:
        """Decode a batch into ledger entries and the offsets to commit with them (pure)."""
        entries: list[dict[str, Any]] = []
        offsets: dict[tuple[str, int], int] = {}
        now = now_us()
        decode = self._codec.decode
        for m in messages:
            offsets[(m.topic, m.partition)] = m.offset + 1
            try:
                name, rec = decode(m.value)
                if name == "Decision":
                    entries.append(entry_mod.from_decision(rec, recorded_at_us=now))
                elif name == "ResponseEvent":
                    entries.append(entry_mod.from_response(rec, recorded_at_us=now))
                elif name == "GovernanceEvent":
                    entries.append(entry_mod.from_governance(rec, recorded_at_us=now))
                else:
                    raise SchemaError(f"a {name} message does not belong on {m.topic}")
            except (SchemaError, KeyError, TypeError) as exc:
                # the record stays in its topic for forensics; the ledger moves on
                self.bad += 1
                log.error("skipping undecodable record %s[%d]@%d: %s", m.topic, m.partition, m.offset, exc)
        return entries, offsets

    async def run(self, consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
        tps = await self._assign(consumer)
        log.info("ledger sink reading %d partitions from stored offsets", len(tps))
        gathering = self._gathering
        next_check = time.monotonic() + 1.0
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_check and not gathering.records:
                await self._rewind_if_log_restarted(consumer, tps)
                next_check = time.monotonic() + 1.0
            batch = await consumer.getmany(timeout_ms=int(1000 * gathering.wait_s(now, IDLE_POLL_S)),
                                           max_records=gathering.room())
            msgs = [m for ms in batch.values() for m in ms]
            if msgs and self._schemas is not None:
                await self._schemas.learn(m.value for m in msgs)
            gathering.add(msgs, time.monotonic())
            if gathering.due(time.monotonic()):
                self._append(gathering.take())
            self._writer.maybe_checkpoint(now_us())
        if gathering.records:  # stopping: store what was read instead of reading it again at the next start
            self._append(gathering.take())

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Assign every partition of our topics and seek each to its stored offset."""
        stored = {} if self._from_beginning else self._writer.offsets()
        tps: list[TopicPartition] = []
        for t in self._topics:
            parts = consumer.partitions_for_topic(t)
            if not parts:
                await consumer.topics()  # refresh metadata
                parts = consumer.partitions_for_topic(t) or set()
            tps += [TopicPartition(t, p) for p in sorted(parts)]
        consumer.assign(tps)
        for tp in tps:
            pos = stored.get((tp.topic, tp.partition))
            if pos is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, pos)
        return tps

    def _append(self, msgs: list[Any]) -> None:
        entries, offsets = self.entries_for(msgs)
        t0 = time.perf_counter()
        results = self._writer.append_batch(entries, offsets)
        if self._metrics is not None:
            self._metrics.observe_append(entries, results, time.perf_counter() - t0)
        dup = sum(1 for r in results if getattr(r, "duplicate", False))
        self.appended += len(results) - dup
        self.skipped += dup
        self.batches += 1

    async def _rewind_if_log_restarted(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        """A broker that lost its log (the in-memory embedded one, restarted by hand)
        starts offsets again at 0: a position past the log end means that happened,
        so read that partition from its beginning (duplicates are skipped by request id).

        The same sign must show on two checks a second apart: right after a write
        the embedded broker can report an end offset that lags the records it
        already served, and one such glimpse is not a lost log.
        """
        try:
            ends = await consumer.end_offsets(tps)
        except KafkaError:
            return
        suspects: dict[TopicPartition, int] = {}
        for tp in tps:
            try:
                pos = await consumer.position(tp)
            except KafkaError:
                continue
            if ends.get(tp, pos) >= pos:
                continue
            if self._suspects.get(tp) != pos:
                suspects[tp] = pos  # first sighting: look again next time
                continue
            log.warning("%s[%d] log end %d is before our position %d: the broker lost its log; "
                        "re-reading from the start", tp.topic, tp.partition, ends[tp], pos)
            await consumer.seek_to_beginning(tp)
            # resolve the reset now: left to the fetcher, an in-flight fetch
            # at the old position can win and the reset is lost
            await consumer.position(tp)
        self._suspects = suspects
