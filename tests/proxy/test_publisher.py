"""The publisher's background lane on the real broker: lingered events share one send burst."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ledgergate.broker import ensure_topics
from ledgergate.proxy.publisher import Publisher
from ledgergate.proxy.spool import Record, Spool


async def _values(bootstrap: str, topic: str, n: int, timeout: float = 10.0) -> list[bytes]:
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         fetch_max_wait_ms=50)
    await c.start()
    out: list[bytes] = []
    try:
        end = time.monotonic() + timeout
        while len(out) < n and time.monotonic() < end:
            batch = await c.getmany(timeout_ms=200)
            out += [m.value for msgs in batch.values() for m in msgs]
    finally:
        await c.stop()
    return out


class _Recording(AIOKafkaProducer):
    """A real producer that notes when each record was handed to it."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.sent_at: list[float] = []

    async def send(self, topic: str, value: Any = None, key: Any = None, **kw: Any) -> Any:  # type: ignore[override]
        self.sent_at.append(time.monotonic())
        return await super().send(topic, value, key=key, **kw)


async def _publish_three(broker: Any, tmp_path: Any, topic: str, linger_ms: int) -> tuple[list[float], list[bytes]]:
    from aiokafka.admin import NewTopic

    await ensure_topics(broker.bootstrap, [NewTopic(topic, 1, 1)])
    made: list[_Recording] = []

    def factory() -> _Recording:
        made.append(_Recording(bootstrap_servers=broker.bootstrap, enable_idempotence=False, linger_ms=0))
        return made[-1]

    pub = Publisher(broker.bootstrap, Spool(tmp_path / topic), linger_ms=linger_ms, producer_factory=factory)
    await pub.start()
    try:
        t0 = time.monotonic()
        for i in range(3):
            pub.submit(lambda i=i: [Record(topic, f"k{i}".encode(), f"v{i}".encode())])
            await asyncio.sleep(0.01)  # three requests, 10 ms apart
        got = await _values(broker.bootstrap, topic, 3)
        return [t - t0 for t in made[-1].sent_at], got
    finally:
        await pub.stop()


async def test_events_within_the_linger_go_out_together(broker, topic_prefix, tmp_path) -> None:
    sent, got = await _publish_three(broker, tmp_path, f"{topic_prefix}.linger", linger_ms=100)
    assert got == [b"v0", b"v1", b"v2"]  # all delivered, in order
    # nothing left before the linger ended, then all three in one burst
    assert min(sent) >= 0.1
    assert max(sent) - min(sent) < 0.02


async def test_without_linger_each_event_goes_at_once(broker, topic_prefix, tmp_path) -> None:
    sent, got = await _publish_three(broker, tmp_path, f"{topic_prefix}.nolinger", linger_ms=0)
    assert got == [b"v0", b"v1", b"v2"]
    assert min(sent) < 0.01
    assert max(sent) - min(sent) >= 0.015  # the 10 ms gaps between submissions show


async def test_events_the_spool_cannot_take_are_kept_retried_and_reported(tmp_path) -> None:
    from ledgergate.broker import free_port

    spool = Spool(tmp_path / "spool")
    pub = Publisher(f"127.0.0.1:{free_port()}", spool, publish_timeout_ms=200, retry_seconds=0.05)
    real_append = spool.append
    calls = {"n": 0}

    async def failing_once(records):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return await real_append(records)

    spool.append = failing_once  # type: ignore[method-assign]
    await pub.start()  # the broker is down: events go to the spool
    try:
        pub.submit(lambda: [Record("t", b"k", b"v")])
        for _ in range(100):
            if calls["n"] >= 1:
                break
            await asyncio.sleep(0.01)
        assert pub.unsaved or spool.pending == 1  # held in memory (then retried), never dropped
        for _ in range(200):
            if spool.pending == 1 and not pub.unsaved:
                break
            await asyncio.sleep(0.01)
        assert spool.pending == 1 and pub.unsaved == [] and pub.lost == 0 and calls["n"] >= 2
    finally:
        await pub.stop()
