"""Which scheduled reports are due: a pure function of schedules, last runs and now.

Periods are whole UTC days (both ends inclusive), the same as report periods:

* ``daily``: yesterday; due from 00:00 UTC;
* ``weekly``: the previous ISO week, Monday to Sunday; due from Monday 00:00 UTC;
* ``monthly``: the previous calendar month; due from the 1st, 00:00 UTC.

``last_runs`` maps ``(kind, every, tenant)`` to the ``period_to`` of the last
report generated for that schedule (the worker reads it back from the ledger's
``report`` records with :func:`last_runs_from_reports`). Periods missed while
the worker was down are caught up, oldest first, up to ``max_catch_up`` per
schedule; a schedule that never ran produces only its latest complete period,
so switching on a schedule does not backfill the ledger's whole history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple, Protocol

from .errors import ReportError

Every = Literal["daily", "weekly", "monthly"]
EVERY: tuple[str, ...] = ("daily", "weekly", "monthly")
DEFAULT_MAX_CATCH_UP = 31


class ScheduleLike(Protocol):
    """The fields of :class:`ledgergate.config.ReportSchedule` that scheduling reads."""

    @property
    def kind(self) -> str: ...

    @property
    def every(self) -> str: ...

    @property
    def per_tenant(self) -> bool: ...


class DueReport(NamedTuple):
    """One report to generate now."""

    kind: str
    period_from: dt.date
    period_to: dt.date
    tenant: str | None


LastRuns = Mapping[tuple[str, str, "str | None"], dt.date]


def _first_of_month(d: dt.date) -> dt.date:
    return d.replace(day=1)


def period_containing(every: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The ``every`` period (from, to inclusive) that contains ``day``."""
    if every == "daily":
        return day, day
    if every == "weekly":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    if every == "monthly":
        first = _first_of_month(day)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return first, nxt - dt.timedelta(days=1)
    raise ReportError(f"unknown schedule interval {every!r}: expected one of {', '.join(EVERY)}")


def latest_complete(every: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The most recent ``every`` period that ended before ``today`` (UTC date)."""
    start, _ = period_containing(every, today)
    return period_containing(every, start - dt.timedelta(days=1))


def infer_every(period_from: dt.date, period_to: dt.date) -> str | None:
    """The interval a period is one whole instance of, or None (an ad-hoc period)."""
    for every in EVERY:
        if period_containing(every, period_from) == (period_from, period_to):
            return every
    return None


def last_runs_from_reports(reports: Iterable[tuple[str, str | dt.date, str | dt.date, str | None]]
                           ) -> dict[tuple[str, str, str | None], dt.date]:
    """Build ``last_runs`` from the ledger's report records (kind, period_from, period_to, tenant).

    Ad-hoc reports (periods that are not a whole day, ISO week or month) do not
    count as scheduled runs.
    """
    out: dict[tuple[str, str, str | None], dt.date] = {}
    for kind, pf, pt, tenant in reports:
        try:
            a = pf if isinstance(pf, dt.date) else dt.date.fromisoformat(pf)
            b = pt if isinstance(pt, dt.date) else dt.date.fromisoformat(pt)
        except ValueError as exc:
            raise ReportError(f"report record for {kind!r} has period {pf!r}..{pt!r}: expected "
                              "YYYY-MM-DD dates as written by the report worker") from exc
        every = infer_every(a, b)
        if every is None:
            continue
        key = (kind, every, tenant)
        if key not in out or b > out[key]:
            out[key] = b
    return out


def due_reports(schedules: Sequence[ScheduleLike], last_runs: LastRuns, now: dt.datetime, *,
                tenants: Sequence[str] = (), max_catch_up: int = DEFAULT_MAX_CATCH_UP) -> list[DueReport]:
    """Reports due at ``now``, oldest period first, without duplicates.

    ``tenants`` are the tenants to report on for schedules with ``per_tenant``
    (the worker passes the tenants present in the ledger); a schedule without
    ``per_tenant`` yields one report over all tenants (``tenant=None``).
    """
    if not isinstance(now, dt.datetime) or now.tzinfo is None:
        raise ReportError(f"now {now!r} is not a time-zone-aware datetime: pass e.g. "
                          "datetime.now(timezone.utc)")
    if max_catch_up < 1:
        raise ReportError(f"max_catch_up {max_catch_up} is below 1: expected a positive number of periods")
    today = now.astimezone(dt.UTC).date()
    seen: set[DueReport] = set()
    out: list[DueReport] = []
    for s in schedules:
        if s.every not in EVERY:
            raise ReportError(f"schedule for {s.kind!r} has interval {s.every!r}: expected one of {', '.join(EVERY)}")
        latest_from, latest_to = latest_complete(s.every, today)
        for tenant in (sorted(set(tenants)) if s.per_tenant else [None]):
            last = last_runs.get((s.kind, s.every, tenant))
            if last is None:
                periods = [(latest_from, latest_to)]
            else:
                periods = []
                pf, pt = latest_from, latest_to
                # walk back from the latest complete period to the one after the last run
                while pt > last and len(periods) < max_catch_up:
                    periods.append((pf, pt))
                    pf, pt = period_containing(s.every, pf - dt.timedelta(days=1))
                periods.reverse()
            for pf, pt in periods:
                d = DueReport(s.kind, pf, pt, tenant)
                if d not in seen:
                    seen.add(d)
                    out.append(d)
    out.sort(key=lambda d: (d.period_from, d.period_to, d.kind, d.tenant or ""))
    return out
