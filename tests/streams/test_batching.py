"""take_ready: a lone event is handled at once, queued events come as batches, order and size hold."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest

from ledgergate.streams.batching import BatchBudget, HeldActivity, batch_size, take_ready


def _app() -> tuple[faust.App, Any, list[list[int]]]:
    # test_context() drives the agent through in-memory channels: no broker is contacted. put(wait=False):
    # put() would wait for the stream's processors to see the value, and take_ready reads the channel itself
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
        await a.put(1, wait=False)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
    assert seen == [[1]]


async def test_queued_events_arrive_in_order_as_batches_of_at_most_max() -> None:
    _, agent, seen = _app()
    async with agent.test_context() as a:
        await a.put(0, wait=False)
        for i in range(1, 11):
            await a.put(i, wait=False)
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


@pytest.mark.parametrize(("per_event_s", "budget_s", "lo", "hi", "want"), [
    (None, 0.010, 2, 64, 2),  # nothing measured yet: start small
    (float("nan"), 0.010, 2, 64, 2),
    (0.0, 0.010, 2, 64, 64),  # free: as large as allowed
    (0.0007, 0.010, 2, 64, 14),  # pattern-only text: ≈ 10 ms of work
    (0.0003, 0.010, 2, 64, 33),
    (0.007, 0.010, 2, 64, 2),  # NER: never below lo
    (0.00001, 0.010, 2, 64, 64),  # never above hi
    (0.010, 0.010, 1, 8, 1),
    (0.0025, 0.010, 1, 1, 1),
])
def test_batch_size_keeps_the_estimated_time_within_the_budget(per_event_s, budget_s, lo, hi, want) -> None:
    assert batch_size(per_event_s, budget_s, lo, hi) == want


@pytest.mark.parametrize(("lo", "hi"), [(0, 4), (5, 4), (-1, -1)])
def test_batch_size_refuses_bounds_that_hold_no_batch(lo, hi) -> None:
    with pytest.raises(ValueError, match="expected 1 <= lo <= hi"):
        batch_size(0.001, 0.01, lo, hi)


def test_budget_learns_the_cost_and_follows_a_change_of_text() -> None:
    b = BatchBudget(0.010, lo=2, hi=64, alpha=0.5)
    assert b.size() == 2  # first batches are small until a cost is known
    b.record(2, 0.0014)  # 0.7 ms an event
    assert b.per_event_s == pytest.approx(0.0007)
    assert b.size() == 14
    for _ in range(10):  # the text turns NER-heavy: 7 ms an event
        b.record(b.size(), b.size() * 0.007)
    assert b.size() == 2
    for _ in range(20):  # and back
        b.record(b.size(), b.size() * 0.0002)
    assert b.per_event_s == pytest.approx(0.0002, rel=1e-3)
    assert 49 <= b.size() <= 50
    before = b.size()
    b.record(0, 1.0)  # an empty batch says nothing about the cost
    assert b.size() == before


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_held_activity_says_whether_a_held_batch_came_lately() -> None:
    clock = FakeClock()
    held = HeldActivity(clock)
    assert not held.within(5.0)  # none ever
    held.saw()
    clock.now += 4.9
    assert held.within(5.0)
    clock.now += 0.2
    assert not held.within(5.0)
    held.saw()
    assert held.within(5.0)


def test_budget_is_short_while_held_requests_come_and_long_while_none_do() -> None:
    clock = FakeClock()
    held = HeldActivity(clock)
    b = BatchBudget(0.010, lo=2, hi=64, quiet_budget_s=0.030, busy=lambda: held.within(5.0))
    b.record(10, 0.010)  # 1 ms an event
    assert b.size() == 30  # nobody waits: the quiet budget
    held.saw()  # an enforce request came: the next observe batch is the short one
    assert b.size() == 10
    clock.now += 4.0
    assert b.size() == 10
    clock.now += 1.5  # none for longer than the quiet spell
    assert b.size() == 30
    assert BatchBudget(0.010, lo=2, hi=64, quiet_budget_s=0.030).size() == 2  # no busy signal: the short one
    plain = BatchBudget(0.010, lo=2, hi=64, quiet_budget_s=0.030)
    plain.record(10, 0.010)
    assert plain.size() == 10


@pytest.mark.parametrize("kwargs", [{"budget_s": 0}, {"alpha": 0}, {"alpha": 1.5}, {"lo": 3, "hi": 2},
                                    {"budget_s": 0.01, "quiet_budget_s": 0.005}])
def test_budget_refuses_nonsense(kwargs) -> None:
    with pytest.raises(ValueError, match="expected"):
        BatchBudget(**kwargs)


async def test_batch_limit_is_asked_before_each_batch() -> None:
    app = faust.App("batching-test-3", broker="kafka://127.0.0.1:1", store="memory://",
                    autodiscover=False, web_enabled=False)
    limits = iter([1, 2, 5, 5, 5, 5])
    seen: list[list[int]] = []

    @app.agent(app.channel())
    async def collect(stream: faust.StreamT) -> None:
        async for events in take_ready(stream, lambda: next(limits)):
            seen.append([e.value for e in events])
            await asyncio.sleep(0.02)

    async with collect.test_context() as a:
        for i in range(12):
            await a.put(i, wait=False)
        for _ in range(300):
            if sum(map(len, seen)) == 12:
                break
            await asyncio.sleep(0.01)
    assert [v for batch in seen for v in batch] == list(range(12))
    # each batch is capped by the limit asked as it is taken: 1, then 2, then 5s
    assert len(seen[0]) == 1 and len(seen[1]) <= 2 and all(len(b) <= 5 for b in seen[2:]), seen
    assert any(len(b) > 2 for b in seen[2:]), seen


async def test_a_limit_that_changes_while_a_batch_is_handled_caps_the_next_one() -> None:
    # as when a held request is taken while an observe batch's decisions are delivered:
    # the next observe batch must already be the short one
    app = faust.App("batching-test-5", broker="kafka://127.0.0.1:1", store="memory://",
                    autodiscover=False, web_enabled=False)
    held_came = asyncio.Event()
    seen: list[list[int]] = []

    @app.agent(app.channel())
    async def collect(stream: faust.StreamT) -> None:
        async for events in take_ready(stream, lambda: 1 if held_came.is_set() else 8):
            seen.append([e.value for e in events])
            held_came.set()
            await asyncio.sleep(0.02)

    async with collect.test_context() as a:
        for i in range(10):
            await a.put(i, wait=False)
        for _ in range(300):
            if sum(map(len, seen)) == 10:
                break
            await asyncio.sleep(0.01)
    assert [v for batch in seen for v in batch] == list(range(10))
    assert len(seen[0]) > 1, seen  # taken before the change
    assert all(len(b) == 1 for b in seen[1:]), seen


async def test_events_of_an_earlier_consumer_generation_are_acked_and_skipped() -> None:
    # after a rebalance, events fetched before it are not judged (Faust's stream skips them too)
    app, agent, seen = _app()
    async with agent.test_context() as a:
        stale = await a.put(1, wait=False)
        app.consumer_generation_id += 1  # a rebalance happened meanwhile
        for _ in range(20):
            await asyncio.sleep(0.01)
        fresh = a.to_message(None, 2, partition=0, offset=1)
        fresh.generation_id = app.consumer_generation_id
        await a.stream().channel.put(await a.stream().channel.decode(fresh))
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
    assert seen == [[2]]
    assert stale.message.acked
