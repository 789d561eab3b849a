"""The SDK's bulk publish against the real broker: every event once, per-key order, clear errors."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.config import Topics
from ledgergate.proxy.sdk import MAX_BATCH_BYTES, EventProducer, EventValidationError, PublishError
from ledgergate.schemas import codec

P = {"person": "gw-user", "tenant": "acme", "roles": ["analyst"], "auth_method": "api_key"}


def _event(rid: str, n: str, text: str = "hello") -> dict[str, Any]:
    return {"request_id": rid, "principal": P, "route_id": "telemetry", "mode": "observe",
            "metadata": {"n": n}, "parts": [{"path": "/messages/0/content", "role": "user", "text": text}]}


async def _read_all(bootstrap: str, topic: str) -> dict[int, list[Any]]:
    """Every message of ``topic``, by partition in offset order (read up to each end offset)."""
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic) or ())]
        c.assign(tps)
        ends = await c.end_offsets(tps)
        out: dict[int, list[Any]] = {tp.partition: [] for tp in tps}
        while any(len(out[tp.partition]) < ends[tp] for tp in tps):
            for tp, msgs in (await c.getmany(timeout_ms=1000)).items():
                out[tp.partition] += msgs
        return out
    finally:
        await c.stop()


async def test_bulk_publish_delivers_every_event_once_in_order_per_key(broker, topic_prefix) -> None:
    keys = [f"bulk-{k}" for k in range(25)]
    # ~1 KB events: several batches per partition, so batches chain in order
    events = [_event(keys[k], str(j), "x" * 1000) for j in range(40) for k in range(25)]
    async with EventProducer(broker.bootstrap, topic_prefix) as p:
        ids = await p.publish_requests(events)
        await p.publish_request(_event(keys[3], "single"))  # the one-at-a-time path, after the bulk
    assert ids == [e["request_id"] for e in events]
    by_partition = await _read_all(broker.bootstrap, Topics.for_prefix(topic_prefix).requests)
    assert sum(map(len, by_partition.values())) == len(events) + 1
    assert max(sum(len(m.value) for m in ms) for ms in by_partition.values()) > MAX_BATCH_BYTES
    seen: dict[str, list[str]] = defaultdict(list)
    partition_of: dict[str, set[int]] = defaultdict(set)
    for part, msgs in by_partition.items():
        for m in msgs:
            rec = codec.decode(m.value, expect="RequestEvent")
            assert m.key == rec["request_id"].encode()
            seen[rec["request_id"]].append(rec["metadata"]["n"])
            partition_of[rec["request_id"]].add(part)
    # one partition per key, the same one publish_request picks, and the order given
    assert all(len(parts) == 1 for parts in partition_of.values())
    assert {k: seen[k] for k in keys} == {k: [str(j) for j in range(40)] + (["single"] if k == keys[3] else [])
                                          for k in keys}
    assert len({next(iter(v)) for v in partition_of.values()}) > 1  # and keys do spread over partitions


async def test_an_invalid_event_stops_the_whole_bulk_before_anything_is_sent(broker, topic_prefix) -> None:
    bad = _event("b-1", "1")
    bad["principal"] = {"person": "x", "auth_method": "jwt"}
    async with EventProducer(broker.bootstrap, topic_prefix) as p:
        with pytest.raises(EventValidationError) as e:
            await p.publish_requests([_event("b-0", "0"), bad, _event("b-2", "2", text=None)])  # type: ignore[arg-type]
        assert e.value.problems == [("[1].principal.tenant", "required field is missing"),
                                    ("[2].parts[0].text", "expected string, got NoneType None")]
        assert await p.publish_requests([]) == []
    assert sum(map(len, (await _read_all(broker.bootstrap, Topics.for_prefix(topic_prefix).requests)).values())) == 0


async def test_events_the_broker_never_acknowledged_are_named() -> None:
    b = EmbeddedBroker(port=free_port())
    b.start()
    try:
        await ensure_topics(b.bootstrap, topic_specs(Topics.for_prefix("gone"), 4))
        async with EventProducer(b.bootstrap, "gone", timeout_ms=1000) as p:
            b.stop()
            with pytest.raises(PublishError) as e:
                await p.publish_requests([_event(f"g-{i}", str(i)) for i in range(20)])
    finally:
        b.stop()
    assert e.value.request_ids == [f"g-{i}" for i in range(20)]
    assert "20 of 20 events were not acknowledged" in str(e.value) and "publish those request ids again" in str(e.value)
