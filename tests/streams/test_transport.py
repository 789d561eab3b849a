"""The consumer's eager race: a delivery that does not wait makes no task; one that waits is raced as before."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from mode import Service

from ledgergate.streams.transport import EagerRace, Transport, register


class _Svc(EagerRace, Service):
    pass


async def test_a_coroutine_that_does_not_wait_wins_without_a_task() -> None:
    svc = _Svc()
    ran = []

    async def deliver() -> str:
        ran.append(asyncio.current_task())
        return "delivered"

    async def suspended() -> None:  # what Faust races against: the flow being suspended
        await asyncio.Event().wait()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the unstarted coroutine is closed, not left "never awaited"
        res = await svc.wait_first(deliver(), suspended())
    assert (res.results, res.stopped) == (["delivered"], False)
    assert ran == [asyncio.current_task()]  # ran inline, in the caller's task


async def test_a_coroutine_that_waits_finishes_in_the_race() -> None:
    svc = _Svc()
    gate = asyncio.Event()

    async def deliver() -> str:
        await asyncio.sleep(0)  # a bare yield first
        await gate.wait()  # then a real wait (a full stream buffer)
        return "delivered late"

    async def suspended() -> None:
        await asyncio.Event().wait()

    race = asyncio.ensure_future(svc.wait_first(deliver(), suspended()))
    await asyncio.sleep(0.01)
    assert not race.done()
    gate.set()
    res = await asyncio.wait_for(race, 1)
    assert (res.results, res.stopped) == (["delivered late"], False)


async def test_a_waiting_coroutine_loses_to_a_suspended_flow_and_is_cancelled() -> None:
    svc = _Svc()
    flow_suspended = asyncio.Event()
    seen: list[str] = []

    async def deliver() -> None:
        try:
            await asyncio.Event().wait()  # a stream buffer that never drains
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    race = asyncio.ensure_future(svc.wait_first(deliver(), flow_suspended.wait()))
    await asyncio.sleep(0.01)
    flow_suspended.set()
    res = await asyncio.wait_for(race, 1)
    await asyncio.sleep(0)
    assert res.results == [True] and seen == ["cancelled"]


async def test_an_error_in_the_first_coroutine_propagates() -> None:
    svc = _Svc()

    async def deliver() -> None:
        raise KeyError("no callback for this partition")

    async def suspended() -> None:
        await asyncio.Event().wait()

    with pytest.raises(KeyError, match="no callback"):
        await svc.wait_first(deliver(), suspended())


def test_the_transport_is_registered_under_its_scheme() -> None:
    from faust.transport import drivers

    register(5)
    assert drivers.by_url("lgkafka://127.0.0.1:9092") is Transport
