"""Retention: remove old rows, keep their leaves, and sign what was done and why.

One prune is one transaction: the rows go, the ``pruned`` index rows are
written, and a signed ``retention`` record is appended stating the removed seq
ranges, the rule (retention days, the cut-off, the legal holds in force), the
newest recorded_at_us among the removed rows and the time. A crash can never
leave rows removed without the statement, and verify accepts a missing range
only where such a statement covers it (see statements.RetentionRule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from ledgergate.clock import now_us

from .errors import StoreError
from .sign import KEY_ENDORSEMENT, RETENTION
from .statements import DAY_US, RetentionRule, retention_entry
from .tables import LegalHold, PrunedRange

if TYPE_CHECKING:
    from .store import LedgerWriter


def _where(before_us: int, holds: Sequence[LegalHold]) -> tuple[str, list[Any]]:
    # the ledger's own signed statements (key endorsements, retention records) are kept
    # forever: without them no verifier could follow a rotation or accept a pruned range
    cond = ["recorded_at_us < ?", "kind NOT IN (?, ?)"]
    params: list[Any] = [before_us, KEY_ENDORSEMENT, RETENTION]
    for h in holds:
        parts: list[str] = []
        hp: list[Any] = []
        if h.tenant is not None:
            parts.append("tenant IS NOT DISTINCT FROM ?")
            hp.append(h.tenant)
        if h.from_us is not None:
            parts.append("recorded_at_us >= ?")
            hp.append(h.from_us)
        if h.to_us is not None:
            parts.append("recorded_at_us < ?")
            hp.append(h.to_us)
        cond.append("NOT (" + " AND ".join(parts) + ")")
        params.extend(hp)
    return " AND ".join(cond), params


def runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Contiguous inclusive runs of sorted integers."""
    out: list[tuple[int, int]] = []
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


def _hold_json(h: LegalHold) -> dict[str, Any]:
    return {"hold_id": h.hold_id, "tenant": h.tenant, "from_us": h.from_us, "to_us": h.to_us,
            "reason": h.reason}


def prune(writer: LedgerWriter, before_us: int, holds: Sequence[LegalHold] | None = None, *,
          reason: str = "retention", now: int | None = None,
          retention_days: int | None = None) -> list[PrunedRange]:
    """Delete ``records`` rows recorded before ``before_us`` unless under a legal hold.

    ``holds`` defaults to the stored legal holds. ``retention_days`` is the rule
    stated in the signed record (default: derived from ``now - before_us``).
    Leaves, checkpoints and idempotency keys stay.
    """
    from .reader import LedgerReader

    con = writer.connection
    at = now if now is not None else now_us()
    if holds is None:
        holds = LedgerReader(con).holds()
    days = retention_days if retention_days is not None else (at - before_us) / DAY_US
    cutoff = at - round(days * DAY_US)
    if days <= 0 or before_us > cutoff + 1:
        raise StoreError(f"prune before {before_us} at {at} with {days:g} retention days would "
                         f"remove records newer than the cut-off {cutoff}: the retention period "
                         "must be positive and the prune time at least that far past the cut-off")
    where, params = _where(before_us, holds)
    try:
        found = con.execute(f"SELECT seq, recorded_at_us FROM records WHERE {where} ORDER BY seq",
                            params).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"cannot select records to prune before {before_us}: {exc}") from exc
    if not found:
        return []
    seqs = [int(s) for s, _ in found]
    ranges = runs(seqs)
    rule = RetentionRule(tuple(ranges), days, cutoff, max(int(t) for _, t in found), at,
                         tuple(_hold_json(h) for h in holds))

    def delete(c: duckdb.DuckDBPyConnection) -> None:
        c.execute(f"DELETE FROM records WHERE {where}", params)
        c.execute("INSERT INTO pruned VALUES " + ", ".join(["(?, ?, ?, ?)"] * len(ranges)),
                  [v for a, b in ranges for v in (a, b, at, reason)])

    try:
        writer.commit_staged([retention_entry(rule, recorded_at_us=at)], delete)
    except duckdb.Error as exc:
        raise StoreError(f"cannot prune records before {before_us}: {exc}") from exc
    return [PrunedRange(a, b, at, reason) for a, b in ranges]
