"""Governance metrics from the ledger, logged back to an MLflow experiment.

``governance_metrics`` runs SQL over the ledger's ``records`` table through an
injected ``query(sql, params)`` callable (``open_ledger(...).query`` or
``reports.queries.DuckDBQuery``): every aggregate is a GROUP BY in the ledger,
Python only renames. ``log_metrics`` writes them as one MLflow run per period,
so the governance picture sits next to the experiments it governs.

Counts come from ``decision`` records (one per request): ``requests``,
``allowed``, ``redacted``, ``blocked``, each also per route
(``route.<id>.<count>``) and per category (``category.<name>.<count>``; a
request with two categories counts in both). Hold latency comes from
``response`` records' ``hold_ms`` (time a request was held for its decision):
``hold_ms_p50``/``hold_ms_p95``, overall and per route, left out when no
response in the period was held. Periods are ``[start, end)`` on
``recorded_at_us``.

Re-logging a period reuses its run (found by the ``ledgergate.period`` tag), so
a scheduled job that runs twice does not make two runs; MLflow shows the
latest value of each metric.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

from .errors import LogBackError, SourceError
from .sources import probe_tracking_server

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
OUTCOMES = (("allow", "allowed"), ("redact", "redacted"), ("block", "blocked"))
Every = Literal["hourly", "daily", "weekly"]


class Query(Protocol):
    """Run one SQL statement with positional ``?`` parameters; return all rows."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_us(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) * 1_000_000


@dataclass(frozen=True)
class MetricsPeriod:
    """A period ``[start_us, end_us)`` of ledger time (µs since the epoch, UTC)."""

    start_us: int
    end_us: int

    def __post_init__(self) -> None:
        if not isinstance(self.start_us, int) or not isinstance(self.end_us, int) \
                or self.start_us >= self.end_us:
            raise LogBackError(f"period [{self.start_us}, {self.end_us}) is empty or not integers: "
                               "expected start_us < end_us in µs since the epoch; use "
                               "MetricsPeriod.days(...) or MetricsPeriod.previous(...)")

    @classmethod
    def days(cls, first: dt.date, last: dt.date | None = None) -> MetricsPeriod:
        """Whole UTC days, ``first`` to ``last`` inclusive (one day if ``last`` is omitted)."""
        last = last or first
        if last < first:
            raise LogBackError(f"period from {first} is after to {last}: expected from <= to; swap them")
        return cls(_day_us(first), _day_us(last) + US_PER_DAY)

    @classmethod
    def parse(cls, text: str) -> MetricsPeriod:
        """``YYYY-MM-DD`` or ``YYYY-MM-DD..YYYY-MM-DD`` (days inclusive), for the CLI."""
        first, _, last = text.partition("..")
        try:
            d1 = dt.date.fromisoformat(first.strip())
            d2 = dt.date.fromisoformat(last.strip()) if last else d1
        except ValueError as exc:
            raise LogBackError(f"period {text!r} is not a date or date range: expected YYYY-MM-DD "
                               "or YYYY-MM-DD..YYYY-MM-DD, e.g. 2026-10-01..2026-10-31") from exc
        return cls.days(d1, d2)

    @classmethod
    def previous(cls, every: Every, now_us: int) -> MetricsPeriod:
        """The last complete hour, UTC day or ISO week (Monday first) before ``now_us``."""
        if every == "hourly":
            end = now_us - now_us % US_PER_HOUR
            return cls(end - US_PER_HOUR, end)
        today = dt.datetime.fromtimestamp(now_us / 1e6, dt.UTC).date()
        if every == "daily":
            return cls.days(today - dt.timedelta(days=1))
        if every == "weekly":
            monday = today - dt.timedelta(days=today.weekday())
            return cls.days(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))
        raise LogBackError(f"schedule {every!r} is unknown: expected hourly, daily or weekly")

    @property
    def label(self) -> str:
        """ISO 8601 interval, e.g. ``2026-10-01T00:00:00Z/2026-10-02T00:00:00Z``."""
        return f"{_iso(self.start_us)}/{_iso(self.end_us)}"


@dataclass(frozen=True)
class OutcomeCounts:
    requests: int = 0
    allowed: int = 0
    redacted: int = 0
    blocked: int = 0
    hold_ms_p50: float | None = None
    hold_ms_p95: float | None = None


@dataclass(frozen=True)
class GovernanceMetrics:
    """What :func:`governance_metrics` found in one period."""

    period: MetricsPeriod
    total: OutcomeCounts
    by_route: dict[str, OutcomeCounts] = field(default_factory=dict)
    by_category: dict[str, OutcomeCounts] = field(default_factory=dict)

    def as_mlflow_metrics(self) -> dict[str, float]:
        """Flat MLflow metric names → values."""
        out: dict[str, float] = {}

        def put(prefix: str, c: OutcomeCounts) -> None:
            for name in ("requests", "allowed", "redacted", "blocked", "hold_ms_p50", "hold_ms_p95"):
                v = getattr(c, name)
                if v is not None:
                    out[prefix + name] = float(v)

        put("", self.total)
        for route, c in self.by_route.items():
            put(f"route.{metric_key(route)}.", c)
        for cat, c in self.by_category.items():
            put(f"category.{metric_key(cat)}.", c)
        return out


def metric_key(name: str) -> str:
    """``name`` with only the characters MLflow allows in metric names."""
    return re.sub(r"[^A-Za-z0-9_\-. ]", "_", name) or "_"


def _num(v: Any) -> float | None:
    if v is None:
        return None
    return float(v) if isinstance(v, (int, float, Decimal)) else float(str(v))


def _counts(row: Sequence[Any], with_hold: bool) -> OutcomeCounts:
    hold = (_num(row[4]), _num(row[5])) if with_hold else (None, None)
    return OutcomeCounts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), *hold)


_COUNTS = ("count(*) FILTER (WHERE kind = 'decision'), "
           + ", ".join(f"count(*) FILTER (WHERE kind = 'decision' AND outcome = '{o}')" for o, _ in OUTCOMES))
_HOLD = ("quantile_cont(hold_ms, 0.5) FILTER (WHERE kind = 'response'), "
         "quantile_cont(hold_ms, 0.95) FILTER (WHERE kind = 'response')")


def governance_metrics(query: Query, period: MetricsPeriod, *, source: str | None = None) -> GovernanceMetrics:
    """Counts and hold latency of ``period``, optionally only requests from ``source`` (e.g. ``mlflow``)."""
    where = "recorded_at_us >= ? AND recorded_at_us < ?"
    params: list[Any] = [period.start_us, period.end_us]
    if source is not None:
        where += " AND source = ?"
        params.append(source)
    try:
        total = query(f"SELECT {_COUNTS}, {_HOLD} FROM records WHERE {where}", params)
        routes = query(f"SELECT coalesce(route_id, '(none)') AS r, {_COUNTS}, {_HOLD} FROM records "
                       f"WHERE {where} GROUP BY r ORDER BY r", params)
        cats = query(
            "SELECT category, count(*), "
            + ", ".join(f"count(*) FILTER (WHERE outcome = '{o}')" for o, _ in OUTCOMES)
            + f" FROM (SELECT outcome, unnest(list_distinct(categories)) AS category FROM records "
              f"WHERE {where} AND kind = 'decision') GROUP BY category ORDER BY category", params)
    except LogBackError:
        raise
    except Exception as exc:  # the callable is the ledger's: its error types are not ours to know
        raise LogBackError(f"the governance metrics query over the ledger failed: {exc}; expected a "
                           "ledger with the records table (ledgergate ledger) reachable through "
                           "open_ledger(...).query") from exc
    return GovernanceMetrics(
        period=period,
        total=_counts(total[0], True) if total else OutcomeCounts(),
        by_route={str(r[0]): _counts(r[1:], True) for r in routes},
        by_category={str(r[0]): _counts(r[1:], False) for r in cats},
    )


def _tags(period: MetricsPeriod, source: str | None) -> dict[str, str]:
    return {"ledgergate.kind": "governance-metrics", "ledgergate.period": period.label,
            "ledgergate.period_from": _iso(period.start_us), "ledgergate.period_to": _iso(period.end_us),
            "ledgergate.source": source or "all"}


def log_metrics(query: Query, tracking_uri: str, experiment: str, period: MetricsPeriod, *,
                source: str | None = None, client: Any = None) -> str:
    """Compute the period's governance metrics and log them as one MLflow run; return its run id.

    The experiment is created if missing. A run already logged for the same
    period and source is reused.
    """
    metrics = governance_metrics(query, period, source=source)
    try:
        from mlflow import MlflowClient
        from mlflow.entities import Metric, RunTag
        from mlflow.exceptions import MlflowException
    except ImportError as exc:
        raise LogBackError("logging metrics to MLflow needs mlflow: pip install 'ledgergate[mlflow]'") from exc
    if client is None:
        try:
            probe_tracking_server(tracking_uri)
        except SourceError as exc:
            raise LogBackError(str(exc)) from exc
    c = client or MlflowClient(tracking_uri=tracking_uri)
    tags = _tags(period, source)
    try:
        exp = c.get_experiment_by_name(experiment)
        exp_id = exp.experiment_id if exp is not None else c.create_experiment(experiment)
        found = c.search_runs(
            [exp_id], max_results=1,
            filter_string=(f"tags.`ledgergate.period` = '{tags['ledgergate.period']}' AND "
                           f"tags.`ledgergate.source` = '{tags['ledgergate.source']}'"))
        if found:
            run_id = found[0].info.run_id
        else:
            run_id = c.create_run(exp_id, run_name=f"governance {period.label}",
                                  tags={"mlflow.user": "ledgergate", **tags}).info.run_id
        # timestamps at the period's end so charts line periods up in order
        ts_ms = period.end_us // 1000
        c.log_batch(run_id, metrics=[Metric(k, v, ts_ms, 0) for k, v in metrics.as_mlflow_metrics().items()],
                    tags=[RunTag(k, v) for k, v in tags.items()])
        c.set_terminated(run_id)
    except MlflowException as exc:
        raise LogBackError(f"cannot log governance metrics to experiment {experiment!r} on "
                           f"{tracking_uri!r}: {exc}; check the tracking URI and that the server "
                           "accepts writes") from exc
    return run_id
