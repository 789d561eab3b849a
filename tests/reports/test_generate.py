"""Scheduled and on-demand report generation: written from the ledger, hash appended back."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from ledgergate.config import ReportSchedule
from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.local import LocalLedger
from ledgergate.ledger.ops import LedgerOps
from ledgergate.ledger.sign import decode_record
from ledgergate.ledger.store import LedgerWriter, connect
from ledgergate.reports.errors import ReportError
from ledgergate.reports.generate import run_due_reports, run_report

from report_ledger import LEDGER_ID, build_ledger  # tests/reports helper


@pytest.fixture
def live(tmp_path: Path):
    """A real signed ledger opened read-write, as the ledger service holds it."""
    ledger = build_ledger(tmp_path)
    con = connect(str(ledger.path))
    writer = LedgerWriter(con, lkeys.load_dir(ledger.keydir), ledger_id=LEDGER_ID)
    writer.load()
    yield ledger, LocalLedger(LedgerOps(con, ledger.keydir), writer), con
    con.close()


def _reports(con) -> list[dict]:
    return [decode_record(bytes(p))["report"] for (p,) in
            con.execute("SELECT payload FROM records WHERE kind = 'report' ORDER BY seq").fetchall()]


def test_on_demand_report_hash_is_appended(live, tmp_path: Path) -> None:
    ledger, led, con = live
    before = len(_reports(con))
    out = run_report(ledger.settings, led, kind="article12", from_date="2026-10-01", to_date="2026-10-31",
                     tenant=None, route=None, out=tmp_path / "a12.json", progress=None)
    rec = _reports(con)[-1]
    assert len(_reports(con)) == before + 1
    assert rec["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (rec["kind"], rec["period_from"], rec["period_to"]) == ("article12", "2026-10-01", "2026-10-31")
    assert led.verify()["ok"]


def test_bad_extension_fails_before_any_work(live, tmp_path: Path) -> None:
    ledger, led, con = live
    before = len(_reports(con))
    with pytest.raises(ReportError, match="'.pdf'"):
        run_report(ledger.settings, led, kind="article12", from_date="2026-10-01", to_date="2026-10-31",
                   tenant=None, route=None, out=tmp_path / "a12.pdf", progress=None)
    assert len(_reports(con)) == before


def test_schedule_generates_due_reports_once(live, tmp_path: Path) -> None:
    ledger, led, con = live
    sched = {"kind": "article12", "every": "monthly", "per_tenant": False, "format": "json",
             "out_dir": str(tmp_path / "scheduled")}
    settings = ledger.settings.model_copy(update={
        "reports": ledger.settings.reports.model_copy(update={"schedules": (ReportSchedule(**sched),)})})
    now = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.UTC)
    written = run_due_reports(settings, led, now)
    assert [p.name for p in written] == ["article12-all-2026-10-01_2026-10-31.json"]
    assert _reports(con)[-1]["sha256"] == hashlib.sha256(written[0].read_bytes()).hexdigest()
    assert run_due_reports(settings, led, now) == []  # its hash in the ledger marks it done
