"""The decision waiter on the real broker: fetches only while a request is held, and loses nothing."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ledgergate.proxy.waiter import DecisionWaiter
from ledgergate.schemas.codec import encode


def _decision(request_id: str) -> bytes:
    return encode("Decision", {
        "decision_id": uuid.uuid4().hex, "request_id": request_id, "decided_at_us": 1, "received_at_us": 1,
        "outcome": "allow", "rule_id": "allow", "explanation": "test",
        "policy": {"id": "p", "version": 1, "hash": "0" * 64},
        "principal": {"person": "p", "tenant": "t", "roles": [], "auth_method": "api_key"},
        "source": "proxy", "route_id": "r", "mode": "enforce"})


async def _until(cond, what: str, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_idle_waiter_pauses_and_still_receives_every_decision(broker) -> None:
    topic = f"replies-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    waiter = DecisionWaiter(broker.bootstrap, topic, fetch_max_wait_ms=2)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=False)
    assert await waiter.start()
    await producer.start()
    try:
        # nothing held: the consumer stops fetching
        await _until(lambda: not waiter.fetching, "the idle waiter to pause")
        for round_ in range(3):
            ids = [f"r{round_}-{i}" for i in range(8)]
            futs = {rid: waiter.expect(rid) for rid in ids}
            assert waiter.fetching  # a held request resumes fetching at once
            for rid in reversed(ids):  # answers in any order
                await producer.send(topic, _decision(rid), partition=0)
            got = await asyncio.gather(*(waiter.wait(rid, futs[rid], 5.0) for rid in ids))
            assert [d["request_id"] if d else None for d in got] == ids
            await _until(lambda: not waiter.fetching, "the waiter to pause again")
            await asyncio.sleep(0.3)  # idle between rounds
        # a decision nobody waits for is ignored; an expired hold answers None
        lone = waiter.expect("never-answered")
        assert await waiter.wait("never-answered", lone, 0.2) is None
    finally:
        await producer.stop()
        await waiter.stop()
