"""Generate a report from a ledger (service or file): on demand and on a schedule.

Reports are built from the ledger only: the facts come from read-only SQL
through the ledger's query endpoint, integrity from verifying the ledger now,
and the generated report's SHA-256 is appended back to the ledger so report
generation is itself audited. The ledger is reached only through the
:class:`ReportLedger` protocol, so this package never imports the ledger package.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ledgergate.clock import wait_unless_stopped
from ledgergate.config import Settings

log = logging.getLogger("ledgergate.reports")


class ReportLedger(Protocol):
    """What report generation needs of a ledger (the service client, a file, or the service itself)."""

    def verify(self) -> dict[str, Any]: ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def append_report(self, report: dict[str, Any], *, by: str) -> None: ...


class ScheduleLedger(ReportLedger, Protocol):
    """A ledger scheduled reports run against: it also lists the reports already generated."""

    def reports_done(self) -> list[dict[str, Any]]:
        """The ``report`` part of every report record, in ledger order."""
        ...


def run_report(settings: Settings, led: ReportLedger, *, kind: str, from_date: str | dt.date, to_date: str | dt.date,
               tenant: str | None, route: str | None, out: Path,
               progress: Callable[[str, float], None] | None, by: str = "cli") -> Path:
    """Render report ``kind`` for the period into ``out`` (format from its extension)."""
    from ledgergate.reports import registry
    from ledgergate.reports.context import ReportContext
    from ledgergate.reports.queries import Period
    from ledgergate.reports.render import render_to

    rk = registry.get(kind)
    period = Period.parse(from_date, to_date)
    # validate the output path before any expensive work
    from ledgergate.reports.render import format_for_path

    format_for_path(out)
    if progress:
        progress("verifying the ledger", 0.0)
    v = led.verify()
    problems = [f"{p.get('kind')}: seq {p.get('seq')} {p.get('message')}" for p in v.get("problems", [])]
    integrity: dict[str, Any] = {
        "ok": v["ok"], "problems": problems,
        "checked_records": v.get("records", 0), "checkpoints": v.get("checkpoints", 0),
        # what the verification establishes, in the ledger's own sentences (ledger/findings.py)
        **{k: v[k] for k in ("assurance", "signature_mode", "signature_mode_text") if k in v}}
    facts = rk.gather(led.query, period, ReportContext.from_settings(settings), tenant=tenant, route=route,
                      integrity=integrity, progress=progress)
    data, sha = render_to(kind, facts, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    led.append_report({"kind": kind, "period_from": period.start.isoformat(),
                       "period_to": period.end.isoformat(), "tenant": tenant, "route_id": route,
                       "sha256": sha, "filename": out.name}, by=by)
    if progress:
        progress("done", 1.0)
    return out


def run_due_reports(settings: Settings, led: ScheduleLedger, now: dt.datetime) -> list[Path]:
    """Generate every scheduled report that is due; returns the files written."""
    from ledgergate.reports.errors import ReportError
    from ledgergate.reports.schedule import due_reports, last_runs_from_reports

    schedules = settings.reports.schedules
    if not schedules:
        return []
    done: list[tuple[Any, Any, Any, Any]] = [
        (rep.get("kind"), rep.get("period_from"), rep.get("period_to"), rep.get("tenant"))
        for rep in led.reports_done()]
    tenants = [t for (t,) in led.query("SELECT DISTINCT tenant FROM records WHERE tenant IS NOT NULL ORDER BY 1")]
    written = []
    by_kind: dict[str, Any] = {s.kind: s for s in schedules}
    for due in due_reports(schedules, last_runs_from_reports(done), now, tenants=tenants):
        sched = by_kind[due.kind]
        name = f"{due.kind}-{due.tenant or 'all'}-{due.period_from}_{due.period_to}.{sched.format}"
        try:
            written.append(run_report(settings, led, kind=due.kind, from_date=due.period_from,
                                      to_date=due.period_to, tenant=due.tenant, route=None,
                                      out=Path(sched.out_dir) / name, progress=None, by="schedule"))
            log.warning("scheduled report written: %s", written[-1])
        except ReportError as exc:
            log.warning("scheduled report %s not generated: %s", name, exc)
    return written


async def report_schedule(settings: Settings, led: ScheduleLedger, stop: asyncio.Event,
                          every_s: float = 60.0) -> None:
    """Background task of the ledger service: generate due reports once a minute."""
    while not stop.is_set():
        try:
            run_due_reports(settings, led, dt.datetime.now(dt.UTC))
        except Exception:  # a report must never take the ledger down
            log.exception("scheduled report run failed")
        await wait_unless_stopped(stop, every_s)
