"""Helpers shared by the ingest tests (imported via sys.path: pytest runs in importlib mode)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer

from ledgergate.config import Settings
from ledgergate.schemas.codec import decode


@dataclass(frozen=True)
class MlflowData:
    """What the traced runs contain, for exact assertions."""

    uri: str
    experiment: str
    experiment_id: str
    alice_run: str
    bob_run: str
    trace_chat: str       # alice: CHAT_MODEL span, system + user message
    trace_chain: str      # alice: CHAIN span → LLM span with a prompt string
    trace_parts: str      # bob: chat message with content parts
    trace_norun: str      # no run: user set on the trace, tenant tag on the trace


async def _consume(bootstrap: str, topic: str, *, idle_s: float, timeout_s: float) -> list[dict[str, Any]]:
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                         auto_offset_reset="earliest", fetch_max_wait_ms=50)
    await c.start()
    out: list[dict[str, Any]] = []
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout_s
        last = loop.time()
        while loop.time() < end and loop.time() - last < idle_s:
            batch = await c.getmany(timeout_ms=200)
            for msgs in batch.values():
                for m in msgs:
                    rec = decode(m.value, "RequestEvent")
                    assert m.key == rec["request_id"].encode()
                    out.append(rec)
                    last = loop.time()
    finally:
        await c.stop()
    return out


def consume_requests(settings: Settings, *, idle_s: float = 2.0, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """Every RequestEvent on the settings' requests topic (stops after ``idle_s`` without news)."""
    return asyncio.run(_consume(settings.broker.bootstrap, settings.topics.requests,
                                idle_s=idle_s, timeout_s=timeout_s))
