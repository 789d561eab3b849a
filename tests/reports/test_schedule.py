"""due_reports: table-driven over intervals, catch-up, tenants and bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledgergate.config import ReportSchedule
from ledgergate.reports.errors import ReportError
from ledgergate.reports.schedule import DueReport, due_reports, infer_every, last_runs_from_reports

D = dt.date
UTC = dt.UTC


def at(y: int, m: int, d: int, h: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, tzinfo=UTC)


MONTHLY = ReportSchedule(kind="article12", every="monthly", per_tenant=False)
MONTHLY_T = ReportSchedule(kind="ll-2026-04", every="monthly", per_tenant=True)
WEEKLY = ReportSchedule(kind="article12", every="weekly", per_tenant=False)
DAILY = ReportSchedule(kind="article12", every="daily", per_tenant=False)


CASES: list[tuple[str, Any, dict, dt.datetime, tuple[str, ...], list[DueReport]]] = [
    ("monthly, never run: previous month", [MONTHLY], {}, at(2026, 11, 1),
     (), [DueReport("article12", D(2026, 10, 1), D(2026, 10, 31), None)]),
    ("monthly, already ran for October", [MONTHLY], {("article12", "monthly", None): D(2026, 10, 31)},
     at(2026, 11, 15), (), []),
    ("monthly across a year end, short February", [MONTHLY], {("article12", "monthly", None): D(2027, 1, 31)},
     at(2027, 3, 1), (), [DueReport("article12", D(2027, 2, 1), D(2027, 2, 28), None)]),
    ("monthly on 1 January: December", [MONTHLY], {}, at(2027, 1, 1),
     (), [DueReport("article12", D(2026, 12, 1), D(2026, 12, 31), None)]),
    ("monthly catch-up after downtime, oldest first", [MONTHLY], {("article12", "monthly", None): D(2026, 7, 31)},
     at(2026, 10, 2), (), [DueReport("article12", D(2026, 8, 1), D(2026, 8, 31), None),
                           DueReport("article12", D(2026, 9, 1), D(2026, 9, 30), None)]),
    ("monthly per tenant", [MONTHLY_T], {("ll-2026-04", "monthly", "acme"): D(2026, 10, 31)},
     at(2026, 11, 1, 3), ("globex", "acme"), [DueReport("ll-2026-04", D(2026, 10, 1), D(2026, 10, 31), "globex")]),
    ("per tenant without tenants: nothing", [MONTHLY_T], {}, at(2026, 11, 1), (), []),
    ("weekly on a Monday: the previous Mon-Sun", [WEEKLY], {}, at(2026, 11, 2),
     (), [DueReport("article12", D(2026, 10, 26), D(2026, 11, 1), None)]),
    ("weekly mid-week, ran last week: nothing", [WEEKLY], {("article12", "weekly", None): D(2026, 11, 1)},
     at(2026, 11, 5), (), []),
    ("daily just after midnight: yesterday", [DAILY], {("article12", "daily", None): D(2026, 10, 30)},
     at(2026, 11, 1, 0), (), [DueReport("article12", D(2026, 10, 31), D(2026, 10, 31), None)]),
    ("daily gap of two days", [DAILY], {("article12", "daily", None): D(2026, 10, 29)},
     at(2026, 11, 1, 9), (), [DueReport("article12", D(2026, 10, 30), D(2026, 10, 30), None),
                              DueReport("article12", D(2026, 10, 31), D(2026, 10, 31), None)]),
    ("same period from two schedules is listed once", [MONTHLY, MONTHLY], {}, at(2026, 11, 1),
     (), [DueReport("article12", D(2026, 10, 1), D(2026, 10, 31), None)]),
    ("now in another time zone is taken in UTC", [DAILY], {},
     dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # 2026-10-31T22:30Z
     (), [DueReport("article12", D(2026, 10, 30), D(2026, 10, 30), None)]),
]


@pytest.mark.parametrize("name, schedules, last, now, tenants, expected", CASES, ids=[c[0] for c in CASES])
def test_due_reports(name: str, schedules: Any, last: dict, now: dt.datetime, tenants: tuple[str, ...],
                     expected: list[DueReport]) -> None:
    assert due_reports(schedules, last, now, tenants=tenants) == expected


def test_catch_up_is_capped() -> None:
    due = due_reports([DAILY], {("article12", "daily", None): D(2026, 1, 1)}, at(2026, 11, 1), max_catch_up=5)
    assert [d.period_from for d in due] == [D(2026, 10, 27), D(2026, 10, 28), D(2026, 10, 29),
                                            D(2026, 10, 30), D(2026, 10, 31)]


def test_last_runs_from_report_records() -> None:
    rows = [("article12", "2026-09-01", "2026-09-30", None), ("article12", "2026-10-01", "2026-10-31", None),
            ("article12", "2026-10-26", "2026-11-01", "acme"), ("article12", "2026-10-03", "2026-10-17", None)]
    assert last_runs_from_reports(rows) == {("article12", "monthly", None): D(2026, 10, 31),
                                            ("article12", "weekly", "acme"): D(2026, 11, 1)}
    assert infer_every(D(2026, 10, 5), D(2026, 10, 5)) == "daily"
    assert infer_every(D(2026, 10, 3), D(2026, 10, 17)) is None


def test_bad_input() -> None:
    with pytest.raises(ReportError, match="time-zone-aware"):
        due_reports([MONTHLY], {}, dt.datetime(2026, 11, 1))
    with pytest.raises(ReportError, match="YYYY-MM-DD"):
        last_runs_from_reports([("article12", "October", "2026-10-31", None)])
    with pytest.raises(ReportError, match="max_catch_up 0"):
        due_reports([MONTHLY], {}, at(2026, 11, 1), max_catch_up=0)
