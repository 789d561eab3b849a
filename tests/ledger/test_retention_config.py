"""Retention as the ledger service applies it: config retention_days and legal holds."""

from __future__ import annotations

import time
from pathlib import Path

from ledgergate.config import LegalHold, default_settings
from ledgergate.ledger import keys
from ledgergate.ledger.entries import from_decision
from ledgergate.ledger.ops import LedgerOps
from ledgergate.ledger.service import apply_retention
from ledgergate.ledger.store import LedgerReader, LedgerWriter, connect

DAY = 86_400_000_000


def _decision(i: int, tenant: str) -> dict:
    return {"decision_id": f"d{i}", "request_id": f"r{i}", "decided_at_us": 1, "received_at_us": 1,
            "outcome": "allow", "rule_id": "allow-rest", "explanation": "ok",
            "policy": {"id": "default", "version": 1, "hash": "h"}, "categories": [], "findings": [],
            "principal": {"person": "p", "tenant": tenant, "roles": ["analyst"], "auth_method": "jwt"},
            "source": "proxy", "route_id": "assistant", "mode": "enforce"}


def test_old_records_pruned_except_under_hold_and_ledger_still_verifies(tmp_path: Path) -> None:
    settings = default_settings(tmp_path, overrides={})
    settings = settings.model_copy(update={"ledger": settings.ledger.model_copy(update={
        "retention_days": 200,
        "legal_holds": (LegalHold(tenant="globex", reason="litigation"),),
    })})
    keys.generate(settings.ledger.keys_dir)
    con = connect(str(settings.ledger.path))
    w = LedgerWriter(con, keys.load_dir(settings.ledger.keys_dir), ledger_id="t", checkpoint_every=10)
    now = time.time_ns() // 1000
    old, new = now - 300 * DAY, now - 10 * DAY
    entries = ([from_decision(_decision(i, "acme"), recorded_at_us=old) for i in range(20)]
               + [from_decision(_decision(100 + i, "globex"), recorded_at_us=old) for i in range(5)]
               + [from_decision(_decision(200 + i, "acme"), recorded_at_us=new) for i in range(10)])
    w.append_batch(entries, now=now)
    w.checkpoint(now)
    pruned = apply_retention(settings, w, LedgerReader(con), now)
    assert [(p.from_seq, p.to_seq) for p in pruned] == [(0, 19)]
    left = LedgerReader(con).list(limit=None)
    assert {r["tenant"] for r in left if r["recorded_at_us"] == old} == {"globex"}
    assert len(left) == 16 and [r["kind"] for r in left].count("retention") == 1  # + the signed fact
    v = LedgerOps(con, settings.ledger.keys_dir).verify()
    assert v["ok"], v["problems"]
    # one summary line for the signed retention record: range, rule, holds in force
    (line,) = [p["message"] for p in v["info"] if p["kind"] == "pruned"]
    assert "20 records in seq 0..19 (1 range)" in line and "rule 200 days" in line
    assert "1 legal hold in force" in line
    con.close()
