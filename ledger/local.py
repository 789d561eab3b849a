"""The ledger service's own view of its ledger, in the shape report generation reads.

Scheduled reports run inside the ledger service (it owns the DuckDB file); this
adapter gives them the service's operations and its writer through the methods of
``ledgergate.reports.generate.ScheduleLedger``, so the reports package never imports
the ledger package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgergate.clock import now_us
from ledgergate.ledger.entries import from_report
from ledgergate.ledger.ops import LedgerOps
from ledgergate.ledger.sign import decode_record
from ledgergate.ledger.store import LedgerWriter


class LocalLedger:
    """Reads through the service's ``LedgerOps``, appends report records through its writer."""

    def __init__(self, ops: LedgerOps, writer: LedgerWriter) -> None:
        self._ops = ops
        self._writer = writer

    def verify(self) -> dict[str, Any]:
        return self._ops.verify()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._ops.query(sql, params)

    def append_report(self, report: dict[str, Any], *, by: str) -> None:
        self._writer.append_batch([from_report(report, recorded_at_us=now_us(), by=by)])

    def reports_done(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT payload FROM records WHERE kind = 'report' ORDER BY seq")
        return [decode_record(bytes(payload)).get("report") or {} for (payload,) in rows]
