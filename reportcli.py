"""Glue between a ledger (service or file) and the report renderer.

Reports are built from the ledger only: the facts come from read-only SQL
through the ledger's query endpoint, integrity from verifying the ledger now,
and the generated report's SHA-256 is appended back to the ledger so report
generation is itself audited.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Callable

from ledgergate.config import Settings


def run_report(settings: Settings, led: Any, *, kind: str, from_date: str | dt.date, to_date: str | dt.date,
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
    integrity = {"ok": v["ok"], "problems": [f"{p.get('kind')}: seq {p.get('seq')} {p.get('message')}"
                                             for p in v.get("problems", [])],
                 "checked_records": v.get("records", 0), "checkpoints": v.get("checkpoints", 0)}
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
