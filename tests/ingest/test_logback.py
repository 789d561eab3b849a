"""`mlflow log-metrics`: governance metrics by SQL over a ledger, logged to a real MLflow server."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledgergate.ingest import LogBackError, MetricsPeriod, governance_metrics, log_metrics
from ledgergate.ledger.store import SCHEMA_SQL

DAY = dt.date(2026, 10, 1)
T0 = MetricsPeriod.days(DAY).start_us

# kind, request_id, offset µs, route, outcome, categories, hold_ms, source
ROWS: list[tuple[str, str, int, str, str | None, list[str], float | None, str]] = [
    ("decision", "r1", 1, "telemetry", "allow", [], None, "mlflow"),
    ("decision", "r2", 2, "telemetry", "redact", ["PII"], None, "mlflow"),
    ("decision", "r3", 3, "assistant", "block", ["SECRET", "PII"], None, "proxy"),
    ("decision", "r4", 4, "assistant", "allow", [], None, "proxy"),
    ("response", "r1", 5, "telemetry", "forwarded", [], None, "mlflow"),
    ("response", "r2", 6, "telemetry", "forwarded", [], None, "mlflow"),
    ("response", "r3", 7, "assistant", "refused-policy", [], 10.0, "proxy"),
    ("response", "r4", 8, "assistant", "forwarded", [], 20.0, "proxy"),
    ("response", "r6", 9, "assistant", "forwarded", [], 30.0, "proxy"),
    ("response", "r7", 10, "assistant", "forwarded", [], 40.0, "proxy"),
    # the next day: outside the period
    ("decision", "r9", 86_400_000_000, "assistant", "block", ["SECRET"], None, "proxy"),
    ("response", "r9", 86_400_000_001, "assistant", "refused-policy", [], 99.0, "proxy"),
]

EXPECTED = {
    "requests": 4.0, "allowed": 2.0, "redacted": 1.0, "blocked": 1.0,
    "hold_ms_p50": 25.0, "hold_ms_p95": 38.5,
    "route.assistant.requests": 2.0, "route.assistant.allowed": 1.0, "route.assistant.redacted": 0.0,
    "route.assistant.blocked": 1.0, "route.assistant.hold_ms_p50": 25.0, "route.assistant.hold_ms_p95": 38.5,
    "route.telemetry.requests": 2.0, "route.telemetry.allowed": 1.0, "route.telemetry.redacted": 1.0,
    "route.telemetry.blocked": 0.0,
    "category.PII.requests": 2.0, "category.PII.allowed": 0.0, "category.PII.redacted": 1.0,
    "category.PII.blocked": 1.0,
    "category.SECRET.requests": 1.0, "category.SECRET.allowed": 0.0, "category.SECRET.redacted": 0.0,
    "category.SECRET.blocked": 1.0,
}


@pytest.fixture
def query(tmp_path: Path) -> Any:
    """A ledger-shaped DuckDB (the real records DDL) with ROWS, behind a query callable."""
    con = duckdb.connect(str(tmp_path / "ledger.duckdb"))
    con.execute(SCHEMA_SQL)
    for seq, (kind, rid, off, route, outcome, cats, hold, source) in enumerate(ROWS):
        con.execute("INSERT INTO records (seq, record_id, kind, request_id, recorded_at_us, tenant, person, "
                    "route_id, outcome, categories, hold_ms, latency_ms, source) "
                    "VALUES (?, ?, ?, ?, ?, 'acme', 'alice', ?, ?, ?, ?, NULL, ?)",
                    [seq, f"rec{seq}", kind, rid, T0 + off, route, outcome, cats, hold, source])

    def q(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return con.execute(sql, list(params)).fetchall()

    yield q
    con.close()


def test_governance_metrics_by_sql(query: Any) -> None:
    m = governance_metrics(query, MetricsPeriod.days(DAY))
    assert m.as_mlflow_metrics() == EXPECTED
    only = governance_metrics(query, MetricsPeriod.days(DAY), source="mlflow")
    assert (only.total.requests, only.total.redacted, only.total.hold_ms_p50) == (2, 1, None)
    assert set(only.by_route) == {"telemetry"}


def test_log_metrics_creates_one_run_per_period(query: Any, mlflow_server: str) -> None:
    from mlflow import MlflowClient

    experiment = f"lg-gov-{uuid.uuid4().hex[:8]}"
    period = MetricsPeriod.parse("2026-10-01")
    run_id = log_metrics(query, mlflow_server, experiment, period)
    run = MlflowClient(mlflow_server).get_run(run_id)
    assert run.data.metrics == EXPECTED
    assert {k: v for k, v in run.data.tags.items() if k.startswith("ledgergate.")} == {
        "ledgergate.kind": "governance-metrics",
        "ledgergate.period": "2026-10-01T00:00:00Z/2026-10-02T00:00:00Z",
        "ledgergate.period_from": "2026-10-01T00:00:00Z", "ledgergate.period_to": "2026-10-02T00:00:00Z",
        "ledgergate.source": "all"}
    assert run.info.status == "FINISHED"
    # the schedule running twice for one period reuses the run
    assert log_metrics(query, mlflow_server, experiment, period) == run_id
    assert MlflowClient(mlflow_server).get_run(run_id).data.metrics == EXPECTED
    other = log_metrics(query, mlflow_server, experiment, MetricsPeriod.parse("2026-10-02"))
    assert other != run_id
    assert MlflowClient(mlflow_server).get_run(other).data.metrics["blocked"] == 1.0


def test_periods() -> None:
    assert MetricsPeriod.parse("2026-10-01..2026-10-31").label == "2026-10-01T00:00:00Z/2026-11-01T00:00:00Z"
    now = MetricsPeriod.days(dt.date(2026, 10, 8)).start_us + 5 * 3_600_000_000 + 17  # Thu 05:00:00.000017
    assert MetricsPeriod.previous("hourly", now).label == "2026-10-08T04:00:00Z/2026-10-08T05:00:00Z"
    assert MetricsPeriod.previous("daily", now) == MetricsPeriod.days(dt.date(2026, 10, 7))
    assert MetricsPeriod.previous("weekly", now) == MetricsPeriod.days(dt.date(2026, 9, 28), dt.date(2026, 10, 4))
    with pytest.raises(LogBackError, match=r"period '2026-13-01' is not a date.*YYYY-MM-DD"):
        MetricsPeriod.parse("2026-13-01")
    with pytest.raises(LogBackError, match=r"is after to"):
        MetricsPeriod.parse("2026-10-02..2026-10-01")


def test_bad_ledger_query_is_a_logback_error() -> None:
    def broken(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise RuntimeError("no such table: records")

    with pytest.raises(LogBackError, match=r"query over the ledger failed: no such table"):
        governance_metrics(broken, MetricsPeriod.days(DAY))
