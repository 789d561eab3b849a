"""Writer schemas on the broker: evolution without redeploying readers.

Every writer publishes the schemas it encodes with to the compacted topic
``<p>.schemas`` before its first message: key = the CRC-64-AVRO fingerprint as
16 lowercase hex digits in wire order (bytes 2..9 of every message it writes,
the same hex fastavro's ``fingerprint()`` and Apache Avro's
``Schema.fingerprint().hex()`` give), value = the schema's JSON text (UTF-8).
A reader that meets a fingerprint it was not built with reads that topic,
checks that the schema it finds really has that fingerprint, and resolves the
message against its own reader schema by Avro's rules. No extra server.

:class:`SchemaTopic` is the Kafka side; :class:`SchemaResolver` is what readers
hold: ``await resolver.learn(values)`` before decoding a batch teaches the codec
every writer schema the batch names, then decoding stays synchronous.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from .codec import HEADER_LEN, MAGIC, Codec, Schema, SchemaError

log = logging.getLogger("ledgergate.schemas.store")


class SchemaStoreError(SchemaError):
    """The schemas topic cannot be written or read."""


class SchemaSource(Protocol):
    """Where readers find writer schemas by fingerprint (wire-order bytes)."""

    async def lookup(self, fingerprint: bytes) -> Schema | None: ...


def record_of(schema: Schema) -> tuple[bytes, bytes]:
    """The (key, value) under which ``schema`` is published on the schemas topic."""
    return schema.fingerprint.hex().encode("ascii"), json.dumps(schema.raw).encode("utf-8")


def schema_of(key: bytes | None, value: bytes | None) -> Schema:
    """Parse one schemas-topic record, refusing a schema whose fingerprint is not its key."""
    if not key or not value:
        raise SchemaError("a schemas-topic record needs a key (fingerprint hex) and a value (schema JSON)")
    try:
        raw = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"schema under key {key[:32]!r} is not JSON: {exc}") from exc
    s = Schema(raw)
    if s.fingerprint.hex().encode("ascii") != key:
        raise SchemaError(f"schema {s.name} under key {key[:32]!r} has fingerprint "
                          f"{s.fingerprint.hex()}: key and schema disagree, record ignored")
    return s


class SchemaTopic:
    """The compacted ``<p>.schemas`` topic (one partition). No I/O until used."""

    def __init__(self, bootstrap: str, topic: str, *, lookup_timeout_s: float = 3.0,
                 poll_ms: int = 200) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.lookup_timeout_s = lookup_timeout_s
        self.poll_ms = poll_ms
        self._known: dict[bytes, Schema] = {}
        self._published: set[bytes] = set()
        self._position = 0  # next offset to read on the schemas topic
        self._lock = asyncio.Lock()

    async def publish(self, schemas: Iterable[Schema], timeout_s: float = 15.0) -> int:
        """Publish each schema not yet published by this instance; returns how many.

        Call before the first message written with them (acks=all, waited for).
        Re-publishing is harmless: the topic is compacted by fingerprint.
        """
        todo = [s for s in schemas if s.fingerprint not in self._published]
        if not todo:
            return 0
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                    enable_idempotence=False, request_timeout_ms=int(timeout_s * 1000))
        try:
            await asyncio.wait_for(producer.start(), timeout_s)
            for s in todo:
                key, value = record_of(s)
                await asyncio.wait_for(producer.send_and_wait(self.topic, value, key=key, partition=0),
                                       timeout_s)
                self._published.add(s.fingerprint)
                self._known[s.fingerprint] = s
        except (TimeoutError, KafkaError, OSError) as exc:
            raise SchemaStoreError(
                f"cannot publish writer schemas to {self.topic} on {self.bootstrap}: {exc!r}; "
                "create the topics first (ledgergate topics) and check the broker") from exc
        finally:
            await producer.stop()
        return len(todo)

    async def lookup(self, fingerprint: bytes) -> Schema | None:
        """The schema published under ``fingerprint``, reading what is new on the topic."""
        if fingerprint in self._known:
            return self._known[fingerprint]
        async with self._lock:  # one catch-up at a time; the others then find it cached
            if fingerprint not in self._known:
                await self._catch_up(fingerprint)
        return self._known.get(fingerprint)

    async def all(self) -> dict[bytes, Schema]:
        """Every valid schema on the topic (reads it to its end)."""
        async with self._lock:
            await self._catch_up(None)
        return dict(self._known)

    async def _catch_up(self, wanted: bytes | None) -> None:
        """Read new records until ``wanted`` appears or two polls in a row are empty.

        Reading until an empty poll rather than to the listed end offset: Tansu's
        ListOffsets can lag what a fetch already returns. The consumer lives only
        for the catch-up (an assigned consumer keeps fetching in the background);
        the next one resumes where this one stopped.
        """
        tp = TopicPartition(self.topic, 0)
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, fetch_max_wait_ms=self.poll_ms)
        try:
            await asyncio.wait_for(consumer.start(), self.lookup_timeout_s)
            consumer.assign([tp])
            if self._position:
                consumer.seek(tp, self._position)
            else:
                await consumer.seek_to_beginning(tp)
            deadline = time.monotonic() + self.lookup_timeout_s
            empty = 0
            while empty < 2 and time.monotonic() < deadline:
                got = await consumer.getmany(tp, timeout_ms=self.poll_ms)
                msgs = got.get(tp, [])
                empty = 0 if msgs else empty + 1
                for m in msgs:
                    self._take(m.key, m.value, m.offset)
                    self._position = m.offset + 1
                if wanted is not None and wanted in self._known:
                    return
        except (TimeoutError, KafkaError, OSError) as exc:
            raise SchemaStoreError(f"cannot read writer schemas from {self.topic} on "
                                   f"{self.bootstrap}: {exc!r}") from exc
        finally:
            await consumer.stop()

    def _take(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        if value is None:  # a tombstone: nothing to learn
            return
        try:
            s = schema_of(key, value)
        except SchemaError as exc:
            log.warning("%s@%d: %s", self.topic, offset, exc)
            return
        self._known[s.fingerprint] = s

    async def close(self) -> None:
        """Nothing stays open between lookups; kept so callers can treat it as a resource."""


class SchemaResolver:
    """A codec plus a schema source: learns unknown writer schemas before decoding.

    A fingerprint the source does not have is remembered for ``miss_ttl_s`` so a
    stream of bad records does not re-read the topic for each one; decoding
    such a record then raises the codec's UnknownSchemaError as before.
    """

    def __init__(self, codec: Codec, source: SchemaSource | None, *, miss_ttl_s: float = 30.0) -> None:
        self.codec = codec
        self.source = source
        self.miss_ttl_s = miss_ttl_s
        self._misses: dict[bytes, float] = {}

    async def learn(self, values: Iterable[bytes | None]) -> int:
        """Teach the codec the writer schema of every message in ``values``; returns how many were new."""
        if self.source is None:
            return 0
        unknown = {bytes(v[2:HEADER_LEN]) for v in values
                   if v is not None and len(v) >= HEADER_LEN and v[:2] == MAGIC
                   and not self.codec.knows(bytes(v[2:HEADER_LEN]))}
        learned = 0
        now = time.monotonic()
        for fp in unknown:
            if self._misses.get(fp, 0.0) > now:
                continue
            try:
                s = await self.source.lookup(fp)
            except SchemaStoreError as exc:
                log.warning("writer schema %s not looked up: %s", fp.hex(), exc)
                s = None
            if s is None:
                self._misses[fp] = now + self.miss_ttl_s
                continue
            log.info("learned writer schema %s (%s) from the schemas topic", s.name, fp.hex())
            self.codec.add_writer(s)
            learned += 1
        return learned


class WriterSchemas:
    """A writer's schemas, published once before its first message (cheap check after)."""

    def __init__(self, topic: SchemaTopic, schemas: Iterable[Schema]) -> None:
        self.topic = topic
        self.schemas = list(schemas)
        self.done = False

    async def ensure(self) -> None:
        """Publish the schemas unless done; raises SchemaStoreError (retried on the next call)."""
        if not self.done:
            await self.topic.publish(self.schemas)
            self.done = True
