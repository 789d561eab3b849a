"""How the ledger sink gathers records into appends (the pure part)."""

from __future__ import annotations

import pytest

from ledgergate.ledger.sink import Gathering


@pytest.mark.parametrize("steps, expect", [
    # (records added, at time s) ... → due after each step
    ([(1, 0.0), (1, 0.1), (0, 0.19)], [False, False, False]),
    ([(1, 0.0), (0, 0.2)], [False, True]),              # the first record has waited the linger
    ([(2, 0.0), (2, 0.05)], [False, True]),             # batch_max in hand: no need to wait
    ([(0, 0.0), (0, 5.0)], [False, False]),             # nothing held is never due
    ([(0, 0.0), (1, 5.0), (0, 5.1)], [False, False, False]),  # the linger starts with the first record
])
def test_gathering_is_due_at_batch_max_or_after_the_linger(steps: list[tuple[int, float]],
                                                           expect: list[bool]) -> None:
    g = Gathering(batch_max=4, linger_s=0.2)
    got = []
    for n, at in steps:
        g.add(list(range(n)), at)
        got.append(g.due(at))
    assert got == expect


def test_gathering_waits_no_longer_than_the_linger_and_takes_all() -> None:
    g = Gathering(batch_max=4, linger_s=0.2)
    assert g.wait_s(now=10.0, idle_s=0.5) == 0.5 and g.room() == 4
    g.add(["a"], 10.0)
    assert g.wait_s(now=10.05, idle_s=0.5) == pytest.approx(0.15)
    assert g.wait_s(now=11.0, idle_s=0.5) == 0.0
    g.add(["b", "c"], 10.1)
    assert g.room() == 1
    assert g.take() == ["a", "b", "c"] and g.records == [] and not g.due(11.0)


def test_a_linger_zero_gathering_appends_every_fetch() -> None:
    g = Gathering(batch_max=500, linger_s=0.0)
    g.add(["a"], 1.0)
    assert g.due(1.0)
