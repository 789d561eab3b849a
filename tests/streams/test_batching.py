"""take_ready: a lone event is handled at once, queued events come as batches, order and size hold."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest

from ledgergate.streams.batching import take_ready


def _app() -> tuple[faust.App, Any, list[list[int]]]:
    # test_context() drives the agent through in-memory channels: no broker is contacted
    app = faust.App("batching-test", broker="kafka://127.0.0.1:1", store="memory://",
                    autodiscover=False, web_enabled=False)
    seen: list[list[int]] = []

    @app.agent(app.channel())
    async def collect(stream: faust.StreamT) -> None:
        async for events in take_ready(stream, 3):
            seen.append([e.value for e in events])
            await asyncio.sleep(0.01)  # a handler that yields: later events queue meanwhile

    return app, collect, seen


async def test_lone_event_is_handled_without_a_second_one_or_a_timer() -> None:
    _, agent, seen = _app()
    async with agent.test_context() as a:
        await a.put(1)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
    assert seen == [[1]]


async def test_queued_events_arrive_in_order_as_batches_of_at_most_max() -> None:
    _, agent, seen = _app()
    async with agent.test_context() as a:
        await a.put(0)
        for i in range(1, 11):
            await a.put(i)
        for _ in range(200):
            if sum(map(len, seen)) == 11:
                break
            await asyncio.sleep(0.01)
    assert [v for batch in seen for v in batch] == list(range(11))
    assert all(1 <= len(batch) <= 3 for batch in seen)
    assert any(len(batch) > 1 for batch in seen), seen  # events that waited were batched


async def test_max_below_one_is_refused() -> None:
    app = faust.App("batching-test-2", broker="kafka://127.0.0.1:1", store="memory://",
                    autodiscover=False, web_enabled=False)
    with pytest.raises(ValueError, match="max_=0"):
        async for _ in take_ready(app.stream(app.channel()), 0):
            pass
