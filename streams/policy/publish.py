"""Publish a policy bundle to the compacted policies topic (key: policy id)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ledgergate.broker import BrokerError
from ledgergate.schemas.policy import PolicyBundle


async def publish_bundle(bootstrap: str, topic: str, bundle: PolicyBundle) -> None:
    """Send ``bundle`` so that every worker switches to it (newest version wins)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    try:
        await producer.start()
        await producer.send_and_wait(topic, key=bundle.id.encode(), value=bundle.canonical_json())
    except KafkaError as exc:
        raise BrokerError(f"cannot publish policy {bundle.id} to {topic} at {bootstrap}: {exc!r}") from exc
    finally:
        await producer.stop()
