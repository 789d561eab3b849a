"""Publishing request events to ``<prefix>.requests`` (the Kafka edge)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ledgergate.schemas.codec import EncodeError, SchemaError, encode, schema
from ledgergate.schemas.store import SchemaTopic, WriterSchemas

from .errors import ItemError, PublishError


def encode_event(ev: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of one validated request event: key = request id, as the proxy does."""
    try:
        return ev["request_id"].encode("utf-8"), encode("RequestEvent", ev)
    except EncodeError as exc:
        raise ItemError(f"request {ev.get('request_id')!r}", str(exc)) from exc


class RequestPublisher:
    """An aiokafka producer that sends batches and waits until every event is acked.

    Idempotence is off because the embedded broker rejects idempotent producers;
    duplicates from retries are harmless since request ids are deterministic
    and the ledger keeps one record per (kind, request_id).
    """

    def __init__(self, bootstrap: str, topic: str, *, timeout_s: float = 15.0,
                 schemas_topic: str | None = None) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        # the RequestEvent schema goes to the schemas topic before the first event
        self._schemas = (WriterSchemas(SchemaTopic(bootstrap, schemas_topic), [schema("RequestEvent")])
                         if schemas_topic else None)

    async def start(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=False,
                                    acks="all", linger_ms=5,
                                    request_timeout_ms=int(self._timeout_s * 1000))
        try:
            await asyncio.wait_for(producer.start(), self._timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            await producer.stop()
            raise PublishError(
                f"cannot reach the broker at {self.bootstrap}: {exc!r}; expected a running Kafka or "
                "embedded broker: start `ledgergate up` or set broker.bootstrap_servers") from exc
        self._producer = producer
        if self._schemas is not None:
            try:
                await self._schemas.ensure()
            except SchemaError as exc:
                await self.stop()
                raise PublishError(str(exc)) from exc

    async def publish(self, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Send encoded (key, value) pairs and wait for all their acks."""
        if self._producer is None:
            raise PublishError("the publisher is not started: call start() first")
        try:
            futures = [await self._producer.send(self.topic, value=v, key=k) for k, v in messages]
            await asyncio.wait_for(asyncio.gather(*futures), self._timeout_s + 5)
        except (TimeoutError, KafkaError, OSError) as exc:
            raise PublishError(
                f"the broker at {self.bootstrap} did not accept {len(messages)} events on topic "
                f"{self.topic!r}: {exc!r}; check the topic exists (`ledgergate up` creates it) and "
                "rerun: events already acked are remembered, the rest are sent again") from exc

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
