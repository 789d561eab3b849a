"""A small producer for other gateways: publish RequestEvent / ResponseEvent like the proxy does.

::

    from ledgergate.proxy.sdk import EventProducer

    async with EventProducer("127.0.0.1:19092", "lg") as p:
        rid = await p.publish_request(principal={"person": "alice", "tenant": "acme",
                                                 "roles": ["analyst"], "auth_method": "jwt"},
                                      route_id="assistant", mode="observe",
                                      parts=[{"path": "/messages/0/content", "role": "user", "text": "hi"}])
        await p.publish_response(request_id=rid, ..., outcome="forwarded", forwarded="original", status=200)

Records are validated against the packaged Avro schemas (the same ones the
proxy and the workers use) and encoded with the same single-object encoding;
:class:`EventValidationError` lists every failing field path. Missing
``request_id``/``received_at_us``/``answered_at_us`` are filled in; ``source``
defaults to ``ingest``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from ledgergate.broker.batches import RecordBatches
from ledgergate.broker.config import Topics
from ledgergate.clock import now_us
from ledgergate.errors import LedgergateError
from ledgergate.proxy.avrocheck import EventValidationError, validate
from ledgergate.schemas.codec import SchemaError, encode, schema
from ledgergate.schemas.store import SchemaTopic, WriterSchemas

__all__ = ["EventProducer", "EventValidationError", "PublishError", "complete_request", "validate"]

# One produce request carries a batch per partition; aiokafka's 16 KiB default
# fits ~25 events, so a bulk publish would take one request per 25 events.
MAX_BATCH_BYTES = 256 * 1024


class PublishError(LedgergateError):
    """The broker did not acknowledge some events of a bulk publish; ``request_ids`` names them.

    Publishing them again is safe: consumers skip a request id they already hold.
    """

    def __init__(self, request_ids: list[str], total: int, cause: BaseException) -> None:
        self.request_ids = request_ids
        super().__init__(f"{len(request_ids)} of {total} events were not acknowledged by the broker "
                         f"({type(cause).__name__}: {cause}); publish those request ids again "
                         "(a repeat is recorded once) once the broker is reachable")


def complete_request(record: Mapping[str, Any], source: str = "ingest") -> dict[str, Any]:
    """Fill the fields a producer may leave out: request_id, received_at_us, source."""
    r = dict(record)
    r.setdefault("request_id", str(uuid.uuid4()))
    r.setdefault("received_at_us", now_us())
    r.setdefault("source", source)
    return r


class EventProducer:
    """Publishes validated RequestEvent/ResponseEvent records (key = request_id, acks=all)."""

    def __init__(self, bootstrap: str, topic_prefix: str = "lg", *, source: str = "ingest",
                 timeout_ms: int = 5000) -> None:
        self.topics = Topics.for_prefix(topic_prefix)
        self.source = source
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                          linger_ms=0, request_timeout_ms=timeout_ms,
                                          max_batch_size=MAX_BATCH_BYTES)
        self._partitioner = DefaultPartitioner()
        self._schemas = WriterSchemas(SchemaTopic(bootstrap, self.topics.schemas),
                                      [schema("RequestEvent"), schema("ResponseEvent")])
        self._started = False

    async def start(self) -> None:
        """Connect, and publish our writer schemas to the schemas topic before any event."""
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise ConnectionError(f"cannot reach the broker: {exc!r}; check the bootstrap address") from exc
        self._started = True
        try:
            await self._schemas.ensure()
        except SchemaError:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()
            self._started = False

    async def __aenter__(self) -> EventProducer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish_request(self, record: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Validate, encode and publish a RequestEvent; returns its request_id."""
        rec = validate("RequestEvent", complete_request({**(record or {}), **fields}, self.source))
        await self._producer.send_and_wait(self.topics.requests, encode("RequestEvent", rec),
                                           key=rec["request_id"].encode())
        return str(rec["request_id"])

    async def publish_response(self, record: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Validate, encode and publish a ResponseEvent; returns its request_id."""
        rec = validate("ResponseEvent", self._response({**(record or {}), **fields}))
        await self._producer.send_and_wait(self.topics.responses, encode("ResponseEvent", rec),
                                           key=rec["request_id"].encode())
        return str(rec["request_id"])

    def _response(self, record: Mapping[str, Any]) -> dict[str, Any]:
        r = dict(record)
        now = now_us()
        r.setdefault("answered_at_us", now)
        r.setdefault("received_at_us", now)
        r.setdefault("source", self.source)
        return r

    async def publish_requests(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Validate, encode and publish many RequestEvents at once; their request_ids, in order.

        The bulk path for backfills and busy gateways: events go out in a few
        large produce requests (one batch per partition) instead of one send
        per event. Each event lands on the partition ``publish_request`` would
        pick for its request_id, in the order given. Every record is validated
        before anything is sent: EventValidationError lists each failing path
        as ``[index].field`` and nothing is published. Returns once the broker
        acknowledged every event (acks=all); otherwise PublishError names the
        request ids to publish again.
        """
        recs = self._validated("RequestEvent", [complete_request(r, self.source) for r in records])
        return await self._publish_bulk(self.topics.requests, "RequestEvent", recs)

    async def publish_responses(self, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """The bulk path for ResponseEvents (see :meth:`publish_requests`)."""
        recs = self._validated("ResponseEvent", [self._response(r) for r in records])
        return await self._publish_bulk(self.topics.responses, "ResponseEvent", recs)

    @staticmethod
    def _validated(name: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        problems: list[tuple[str, str]] = []
        for i, r in enumerate(records):
            try:
                out.append(validate(name, r))
            except EventValidationError as exc:
                problems += [(f"[{i}].{path}" if path else f"[{i}]", msg) for path, msg in exc.problems]
        if problems:
            raise EventValidationError(name, problems)
        return out

    async def _publish_bulk(self, topic: str, name: str, recs: list[dict[str, Any]]) -> list[str]:
        """Encode, group by partition (the producer's own key hash), send one batch chain per partition."""
        ids = [str(r["request_id"]) for r in recs]
        if not recs:
            return ids
        partitions = sorted(await self._producer.partitions_for(topic))
        by_partition: dict[int, list[int]] = {}
        for i, rid in enumerate(ids):
            p = self._partitioner(rid.encode(), partitions, partitions)
            by_partition.setdefault(p, []).append(i)
        encoded = [encode(name, r) for r in recs]
        sent = await asyncio.gather(*(self._send_partition(topic, p, [(ids[i], encoded[i]) for i in idx])
                                      for p, idx in by_partition.items()))
        failed = {rid for unacked, _ in sent for rid in unacked}
        if failed:
            cause = next(exc for unacked, exc in sent if unacked)
            raise PublishError([r for r in ids if r in failed], len(ids), cause or KafkaError("no answer"))
        return ids

    async def _send_partition(self, topic: str, partition: int, events: list[tuple[str, bytes]]
                              ) -> tuple[list[str], BaseException | None]:
        """Send (request id, bytes) to one partition in order, batch after batch.

        Returns the ids the broker did not acknowledge and the first error.
        """
        producer = self._producer
        chain: RecordBatches[str] = RecordBatches(producer)
        for rid, value in events:
            chain.add(topic, partition, rid.encode(), value, rid)
        deliveries: list[tuple[Any, list[str]]] = []
        try:
            for _, _, batch, batch_ids in chain.batches():  # in order: full batches first
                deliveries.append((await producer.send_batch(batch, topic, partition=partition), batch_ids))
        except KafkaError as exc:  # not even queued: nothing from here on was sent
            queued = {rid for _, ids in deliveries for rid in ids}
            return [rid for rid, _ in events if rid not in queued], exc
        unacked: list[str] = []
        first: BaseException | None = None
        for fut, batch_ids in deliveries:
            try:
                await fut
            except KafkaError as exc:
                first = first or exc
                unacked += batch_ids
        return unacked, first
