"""Kafka helpers for the wire-contract tests (imported via sys.path, see conftest)."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


async def read_topic(bootstrap: str, topic: str, want: set[str], timeout: float = 60) -> dict[str, bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None)
    await consumer.start()
    got: dict[str, bytes] = {}
    try:
        deadline = time.monotonic() + timeout
        while not want <= set(got) and time.monotonic() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                for m in msgs:
                    got[m.key.decode()] = m.value
        return got
    finally:
        await consumer.stop()
