"""The ground every report stands on: periods, the query protocol, footnoted queries, scope.

The report code never opens the ledger itself: it is handed a :class:`Query`,
any callable that runs one SQL statement with positional ``?`` parameters and
returns the rows. :class:`DuckDBQuery` wraps a direct read-only DuckDB
connection; the ledger service runs the same SQL through its own connection
(DuckDB lets one process hold the file, so a report over a live ledger must go
through that process).

Every figure carries the id of the query that produced it (``q``) and, where
it counts records, the seq range it covers, so an auditor can re-run the
footnoted SQL and trace each number back to signed records. Rows come back as
named tuples (:meth:`Runner.rows`), so code reads ``r.records``, not ``r[4]``.

Periods are whole UTC days, both ends inclusive: ``[from 00:00Z, to+1 00:00Z)``
on ``recorded_at_us`` (an integer column, so no session time zone can shift a
record into the wrong period).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .errors import ReportError

Progress = Callable[[str, float], None]
R = TypeVar("R", bound=tuple)

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
_EPOCH = dt.date(1970, 1, 1)


class Query(Protocol):
    """Run one SQL statement with positional ``?`` parameters; return all rows."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


class DuckDBQuery:
    """A :class:`Query` over a DuckDB connection.

    Use :meth:`open` for a read-only connection to a ledger file that no other
    process holds open for writing.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    def open(cls, path: str | Path) -> DuckDBQuery:
        """Open ``path`` read-only; raise ReportError if it cannot be opened."""
        import duckdb

        p = Path(path)
        if not p.is_file():
            raise ReportError(f"ledger file {str(p)!r} does not exist: pass the path of ledger.path "
                              "from the config (e.g. ledger.duckdb)")
        try:
            return cls(duckdb.connect(str(p), read_only=True))
        except duckdb.Error as exc:
            raise ReportError(f"cannot open ledger {str(p)!r} read-only: {exc}. If the ledger service "
                              "is running, generate the report through it instead") from exc

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, list(params)).fetchall()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> DuckDBQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Period:
    """A report period: whole UTC days, ``start`` and ``end`` both inclusive."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        for name, v in (("from", self.start), ("to", self.end)):
            # datetime is a date subclass; a time of day would be silently dropped
            if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
                raise ReportError(f"period {name} {v!r} is not a date: pass a datetime.date "
                                  "(e.g. date(2026, 10, 1)) or a string YYYY-MM-DD to Period.parse")
        if self.start > self.end:
            raise ReportError(f"period from {self.start.isoformat()} is after to {self.end.isoformat()}: "
                              "expected from <= to; swap the two dates")

    @classmethod
    def parse(cls, start: str | dt.date, end: str | dt.date) -> Period:
        """Build a period from ``YYYY-MM-DD`` strings (or dates)."""
        return cls(_parse_date("from", start), _parse_date("to", end))

    @property
    def start_us(self) -> int:
        return day_number(self.start) * US_PER_DAY

    @property
    def end_us(self) -> int:
        """Exclusive end: midnight UTC after ``end``."""
        return (day_number(self.end) + 1) * US_PER_DAY

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def facts(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days,
                "start_us": self.start_us, "end_us_exclusive": self.end_us, "time_zone": "UTC"}


def check_period(period: Any) -> Period:
    if not isinstance(period, Period):
        raise ReportError(f"period {period!r} is not a Period: build one with "
                          "Period.parse('2026-10-01', '2026-10-31')")
    return period


def _parse_date(name: str, v: str | dt.date) -> dt.date:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise ReportError(f"period {name} {v!r} is not a date: expected YYYY-MM-DD, e.g. 2026-10-01")


def day_number(d: dt.date) -> int:
    return (d - _EPOCH).days


def day_of(key: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=key)


def iso_us(us: int | None) -> str | None:
    """ISO 8601 UTC text of a microsecond timestamp (``None`` stays ``None``)."""
    if us is None:
        return None
    t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ReportError(f"now {now.isoformat()} has no time zone: pass an aware datetime, "
                          "e.g. datetime.now(timezone.utc)")
    return now.astimezone(dt.UTC)


def us_of(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def jsonable(v: Any) -> Any:
    """Turn a DuckDB value into plain JSON: bytes as hex, times as ISO text."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    return v


def as_int(v: Any) -> int:
    return 0 if v is None else int(v)


def as_num(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


def compact(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


class Runner:
    """Runs and footnotes the queries of one report; reports progress."""

    def __init__(self, q: Query, progress: Progress | None, steps: int) -> None:
        self._q = q
        self._progress = progress
        self._steps = max(steps, 1)
        self.queries: list[dict[str, Any]] = []

    def step(self, label: str) -> None:
        if self._progress is not None:
            self._progress(label, min(len(self.queries) / self._steps, 1.0))

    def raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query that produces no figure (scope checks): not footnoted."""
        try:
            return self._q(sql, params)
        except ReportError:
            raise
        except Exception as exc:  # any Query implementation: name what failed
            raise ReportError(f"ledger query failed: {exc}. SQL: {compact(sql)}") from exc

    def __call__(self, purpose: str, sql: str, params: Sequence[Any] = ()) -> tuple[str, list[tuple[Any, ...]]]:
        """Run a footnoted query; return its id (Q1, Q2, ...) and rows."""
        self.step(purpose)
        qid = f"Q{len(self.queries) + 1}"
        self.queries.append({"id": qid, "purpose": purpose, "sql": compact(sql),
                             "params": [jsonable(p) for p in params]})
        try:
            rows = self._q(sql, params)
        except ReportError:
            raise
        except Exception as exc:  # any Query implementation: name the query that failed
            raise ReportError(f"ledger query {qid} ({purpose}) failed: {exc}. SQL: {compact(sql)}") from exc
        return qid, rows

    def rows(self, row: type[R], purpose: str, sql: str, params: Sequence[Any] = ()) -> tuple[str, list[R]]:
        """A footnoted query whose rows come back as ``row`` named tuples (one field per column)."""
        qid, raw = self(purpose, sql, params)
        make = row._make  # type: ignore[attr-defined]
        return qid, [make(r) for r in raw]


@dataclass(frozen=True)
class Scope:
    """The WHERE clause selecting a report's records, with its parameters."""

    period: Period
    tenant: str | None
    route: str | None

    @property
    def where(self) -> str:
        w = "recorded_at_us >= ? AND recorded_at_us < ?"
        if self.tenant is not None:
            w += " AND tenant = ?"
        if self.route is not None:
            w += " AND route_id = ?"
        return w

    @property
    def params(self) -> list[Any]:
        p: list[Any] = [self.period.start_us, self.period.end_us]
        if self.tenant is not None:
            p.append(self.tenant)
        if self.route is not None:
            p.append(self.route)
        return p

    def facts(self) -> dict[str, Any]:
        return {"period": self.period.facts(), "tenant": self.tenant, "route": self.route}


def check_scope(run: Runner, tenant_names: Sequence[str], route_names: Sequence[str], scope: Scope) -> int:
    """Unknown tenant or route: a clear ReportError. Returns the records in scope (0: no activity)."""
    if scope.tenant is not None and scope.tenant not in tenant_names:
        if not run.raw("SELECT 1 FROM records WHERE tenant = ? LIMIT 1", [scope.tenant]):
            known = sorted({r[0] for r in run.raw(
                "SELECT DISTINCT tenant FROM records WHERE tenant IS NOT NULL ORDER BY 1 LIMIT 50")}
                | set(tenant_names))
            raise ReportError(f"unknown tenant {scope.tenant!r}: it is neither in the ledger nor in the "
                              f"configuration; known tenants: {', '.join(known) or '(none)'}. "
                              "Check the spelling, or leave the tenant out to report on all tenants")
    if scope.route is not None and scope.route not in route_names:
        if not run.raw("SELECT 1 FROM records WHERE route_id = ? LIMIT 1", [scope.route]):
            known = sorted(set(route_names) | {r[0] for r in run.raw(
                "SELECT DISTINCT route_id FROM records WHERE route_id IS NOT NULL ORDER BY 1 LIMIT 50")})
            raise ReportError(f"unknown route {scope.route!r}: it is neither configured nor in the ledger; "
                              f"known routes: {', '.join(known) or '(none)'}. "
                              "Check the spelling, or leave the route out to report on all routes")
    return as_int(run.raw(f"SELECT count(*) FROM records WHERE {scope.where}", scope.params)[0][0])


def tables(run: Runner) -> set[str]:
    return {str(r[0]) for r in run.raw("SELECT table_name FROM information_schema.tables")}
