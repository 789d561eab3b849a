"""Record batches: one aiokafka record batch per (topic, partition), records in the order they came."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer

from ledgergate.broker.batches import RecordBatches


@pytest.fixture
async def producer() -> AsyncIterator[AIOKafkaProducer]:
    # batches are built without a broker; 1,000-byte batches so that a few records fill one
    p = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=1000)
    yield p
    await p.stop()


async def test_records_are_grouped_by_topic_partition_in_event_order(producer) -> None:
    box = RecordBatches(producer)
    for event, (topic, part) in enumerate([("d", 0), ("d", 1), ("d", 0), ("r", 0), ("d", 1)]):
        box.add(topic, part, f"k{event}".encode(), b"v" * 10, event)
    got = {(t, p): (batch.record_count(), holders) for t, p, batch, holders in box.batches()}
    assert got == {("d", 0): (2, [0, 2]), ("d", 1): (2, [1, 4]), ("r", 0): (1, [3])}


async def test_a_full_batch_goes_first_and_the_record_starts_a_fresh_one(producer) -> None:
    box = RecordBatches(producer)
    for event in range(5):  # ≈ 410 bytes each: two fit in 1,000 bytes
        box.add("d", 0, b"k", b"v" * 400, event)
    got = [(t, p, batch.record_count(), holders) for t, p, batch, holders in box.batches()]
    assert got == [("d", 0, 2, [0, 1]), ("d", 0, 2, [2, 3]), ("d", 0, 1, [4])]


async def test_an_oversized_record_still_gets_a_batch_of_its_own(producer) -> None:
    # the broker is the judge of a too-large record: its delivery fails (the sender dead-letters the event)
    box = RecordBatches(producer)
    box.add("d", 0, b"k", b"v" * 10, 0)
    box.add("d", 0, b"k", b"v" * 5000, 1)
    got = [(batch.record_count(), holders) for _, _, batch, holders in box.batches()]
    assert got == [(1, [0]), (1, [1])]
