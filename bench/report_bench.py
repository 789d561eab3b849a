"""Report speed over a 1,000,000-record ledger table.

The table has the real ``records`` layout (``ledgergate.ledger.store.SCHEMA_SQL``)
but is bulk-generated with DuckDB's ``range()``: the rows are NOT signed and
carry no payload. What is measured is gathering (SQL) and rendering, which
never touch signatures; verification has its own benchmark.

Usage: python bench/report_bench.py [--records N] [--keep PATH]
Prints seconds per step next to a baseline (one ``SELECT count(*)`` over the
same table) as a ratio. Goal: Article 12 gather + HTML render < 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from ledgergate.ledger.store import SCHEMA_SQL
from ledgergate.reports.context import BundleInfo, ReportContext, RouteInfo, UpstreamInfo
from ledgergate.reports.queries import DuckDBQuery, Period, gather_article12, gather_ll202604
from ledgergate.reports.render import render

T = TypeVar("T")
START = dt.date(2026, 10, 1)
DAYS = 30
GOAL_S = 10.0

# One request = a decision (even seq) and its response (odd seq), spread evenly
# over 30 days; outcomes, categories and loans follow fixed residues so the
# report has every section populated.
GENERATE = """
INSERT INTO records
SELECT i AS seq,
       'r' || i AS record_id,
       CASE WHEN i % 2 = 0 THEN 'decision' ELSE 'response' END AS kind,
       'req-' || (i // 2) AS request_id,
       make_timestamptz(t) AS recorded_at, t AS recorded_at_us,
       'tenant-' || (i // 2 % 5) AS tenant,
       'person-' || (i // 2 % 400) AS person,
       ['analyst'] AS roles, 'jwt' AS auth_method,
       ['assistant', 'telemetry', 'underwriting', 'claims'][i // 2 % 4 + 1] AS route_id,
       CASE WHEN i // 2 % 4 = 2 THEN 'mlflow' ELSE 'openai' END AS upstream_id,
       CASE WHEN i // 2 % 4 = 2 AND i > ?/2 THEN 'uw-llm-2'
            WHEN i // 2 % 4 = 2 THEN 'uw-llm-1' ELSE 'gpt-4o' END AS model,
       'proxy' AS source,
       CASE WHEN i // 2 % 4 = 1 THEN 'observe' ELSE 'enforce' END AS mode,
       CASE WHEN i % 2 = 0
            THEN (CASE WHEN c IN (3, 5) THEN 'block' WHEN c IN (7, 11, 13) THEN 'redact' ELSE 'allow' END)
            ELSE (CASE WHEN c IN (3, 5) AND i // 2 % 4 <> 1 THEN 'refused-policy'
                       WHEN i // 2 % 997 = 0 THEN 'refused-unavailable'
                       WHEN i // 2 % 101 = 0 THEN 'refused-timeout'
                       WHEN i // 2 % 211 = 0 THEN 'upstream-error' ELSE 'forwarded' END) END AS outcome,
       NULL AS forwarded,
       CASE WHEN i // 2 % 4 = 2 THEN 'underwriting' ELSE 'default' END AS policy_id,
       CASE WHEN i > ?/3 THEN 2 ELSE 1 END AS policy_version,
       CASE WHEN i > ?/3 THEN 'b2' ELSE 'a1' END AS policy_hash,
       'rule-' || c AS rule_id,
       CASE WHEN c = 3 THEN ['PROMPT_INJECTION'] WHEN c = 5 THEN ['SECRET'] WHEN c IN (7, 11) THEN ['PII']
            WHEN c = 13 THEN ['PHI', 'PII'] ELSE [] END::VARCHAR[] AS categories,
       []::VARCHAR[] AS entity_types,
       200 AS status, 700.0 + i % 100 AS latency_ms, 10.0 + i % 7 AS hold_ms,
       100 AS prompt_tokens, 50 AS completion_tokens, 150 AS total_tokens,
       CASE WHEN i // 2 % 4 = 2 THEN '{"loan_id":"LN-' || (i // 2 % 20000) || '"}' ELSE '{}' END::JSON AS metadata,
       NULL AS payload, NULL AS signature, 'k1' AS key_id, NULL AS leaf_hash
FROM (SELECT range AS i, (range // 2) % 17 AS c,
             ? + (range // 2) * ? AS t FROM range(?))
"""


def build(path: Path, n: int) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(SCHEMA_SQL)
        start_us = int(dt.datetime(START.year, START.month, START.day, tzinfo=dt.UTC).timestamp()) * 1_000_000
        step = max(1, DAYS * 86_400_000_000 // max(n // 2, 1))
        con.execute(GENERATE, [n, n, n, start_us, step, n])
        con.execute("INSERT INTO checkpoints (tree_size, root_hash, at_us, key_id) "
                    "SELECT s, repeat('ab', 32), ? + s * ?, 'k1' FROM range(1000, ? + 1, 1000) t(s)",
                    [start_us, step // 2, n])
        con.execute("INSERT INTO keys VALUES ('k1', ?, ?)", [bytes(32), start_us])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def context() -> ReportContext:
    return ReportContext(
        provider="bench", deployer="bench deployer", regime="Regulation (EU) 2024/1689 (AI Act)",
        application_date=dt.date(2027, 12, 2), application_note="", ledger_id="bench",
        routes=tuple(RouteInfo(r, f"{r} use", "mlflow" if r == "underwriting" else "openai",
                               "observe" if r == "telemetry" else "enforce",
                               "underwriting" if r == "underwriting" else "default")
                     for r in ("assistant", "telemetry", "underwriting", "claims")),
        upstreams=(UpstreamInfo("openai", "OpenAI", "openai", "https://api.openai.com/v1"),
                   UpstreamInfo("mlflow", "in-house", "mlflow-gateway", "http://mlflow:5000")),
        bundles=(BundleInfo("default", 2, "gov", dt.date(2026, 6, 1), "b2"),
                 BundleInfo("underwriting", 1, "risk", dt.date(2025, 1, 1), "b2")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="write the ledger here and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.duckdb"
        if path.exists():
            path.unlink()
        _, t_build = timed(lambda: build(path, args.records))
        print(f"built {args.records:,} UNSIGNED records (bulk range() insert, query/render speed only) "
              f"in {t_build:.1f} s")
        period = Period(START, START + dt.timedelta(days=DAYS - 1))
        now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        integrity = {"ok": True, "problems": [], "checked_records": args.records, "checkpoints": 0}
        ctx = context()
        with DuckDBQuery.open(path) as q:
            q("SELECT count(*) FROM records")  # warm the file cache for both sides alike
            _, base = timed(lambda: q("SELECT count(*) FROM records"))
            # count(*) alone is answered from row-group metadata; counting on a
            # string column has to read it, the fairer unit for ~25 GROUP BYs
            _, scan = timed(lambda: q("SELECT count(*) FROM records WHERE outcome = 'block'"))
            facts, t_gather = timed(lambda: gather_article12(q, period, ctx, integrity=integrity, now=now))
            html, t_html = timed(lambda: render("article12", facts, "html"))
            js, t_json = timed(lambda: render("article12", facts, "json"))
            llf, t_llg = timed(lambda: gather_ll202604(q, period, ctx, integrity=integrity, now=now))
            llh, t_llh = timed(lambda: render("ll-2026-04", llf, "html"))
        rows = [
            ("baseline SELECT count(*)", base, ""),
            ("count(*) WHERE outcome = ... (scan)", scan, ""),
            ("article12 gather (SQL)", t_gather, f"{len(facts['queries'])} queries"),
            ("article12 render html", t_html, f"{len(html) / 1e6:.2f} MB"),
            ("article12 render json", t_json, f"{len(js) / 1e6:.2f} MB"),
            ("article12 total html+json", t_gather + t_html + t_json, ""),
            ("ll-2026-04 gather (SQL)", t_llg, f"{llf['loans']['loans']:,} loans"),
            ("ll-2026-04 render html", t_llh, f"{len(llh) / 1e6:.2f} MB"),
        ]
        print(f"{'step':32} {'seconds':>9} {'× count(*)':>11} {'× scan':>8}")
        for name, secs, note in rows:
            print(f"{name:32} {secs:9.3f} {secs / base:11.0f} {secs / scan:8.1f}  {note}")
        total = t_gather + t_html + t_json
        verdict = "OK" if total < GOAL_S else "OVER GOAL"
        print(f"article12 over {facts['coverage']['records']:,} records: {total:.2f} s "
              f"(goal < {GOAL_S:.0f} s): {verdict}")


if __name__ == "__main__":
    main()
