"""Gathering report facts from the ledger: SQL in, plain JSON-able dicts out.

The report code never opens the ledger itself: it is handed a :class:`Query`,
any callable that runs one SQL statement with positional ``?`` parameters and
returns the rows. :class:`DuckDBQuery` wraps a direct read-only DuckDB
connection; the lead's service adapter runs the same SQL through the running
ledger service (DuckDB lets one process hold the file read-write, so a report
over a live ledger must go through that process).

Every aggregate is computed in SQL (GROUP BY over the period's rows); Python
only reshapes the small grouped results. Every figure carries the id of the
query that produced it (``q``) and, where it counts records, the seq range it
covers, so an auditor can re-run the footnoted SQL and trace each number back
to signed records.

Periods are whole UTC days, both ends inclusive: ``[from 00:00Z, to+1 00:00Z)``
on ``recorded_at_us`` (an integer column, so no session time zone can shift a
record into the wrong period).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from .context import ReportContext
from .errors import ReportError

Progress = Callable[[str, float], None]

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
# Art. 19(1) / 26(6): logs are kept "for a period ... of at least six months".
SIX_MONTHS_DAYS = 183
# LL-2026-04: safeguards are reviewed at least annually; security events are
# notified within 36 hours of detection.
REVIEW_WINDOW_DAYS = 365
NOTIFY_WINDOW_HOURS = 36
# Gaps longer than this between refused-unavailable responses start a new outage.
OUTAGE_GAP_US = 5 * 60 * 1_000_000
# Long lists are capped in the facts; the cap and the full count are stated.
MAX_EVENTS = 500
MAX_OUTAGES = 200
MAX_LOAN_SEQS = 20
MAX_CHECKPOINTS_LISTED = 1000

DECISION_OUTCOMES = ("allow", "redact", "block")
RESPONSE_OUTCOMES = ("forwarded", "refused-policy", "refused-timeout",
                     "refused-unavailable", "upstream-error")

LL_TITLE = 'Fannie Mae Lender Letter LL-2026-04, "Governance Framework for AI and Machine Learning Use"'
LL_ISSUED = dt.date(2026, 4, 8)
LL_EFFECTIVE = dt.date(2026, 8, 6)


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
    def open(cls, path: str | Path) -> "DuckDBQuery":
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

    def __enter__(self) -> "DuckDBQuery":
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
    def parse(cls, start: str | dt.date, end: str | dt.date) -> "Period":
        """Build a period from ``YYYY-MM-DD`` strings (or dates)."""
        return cls(_parse_date("from", start), _parse_date("to", end))

    @property
    def start_us(self) -> int:
        return _day_number(self.start) * US_PER_DAY

    @property
    def end_us(self) -> int:
        """Exclusive end: midnight UTC after ``end``."""
        return (_day_number(self.end) + 1) * US_PER_DAY

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def facts(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "days": self.days,
                "start_us": self.start_us, "end_us_exclusive": self.end_us, "time_zone": "UTC"}


def _parse_date(name: str, v: str | dt.date) -> dt.date:
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise ReportError(f"period {name} {v!r} is not a date: expected YYYY-MM-DD, e.g. 2026-10-01")


_EPOCH = dt.date(1970, 1, 1)


def _day_number(d: dt.date) -> int:
    return (d - _EPOCH).days


def iso_us(us: int | None) -> str | None:
    """ISO 8601 UTC text of a microsecond timestamp (``None`` stays ``None``)."""
    if us is None:
        return None
    t = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc_now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ReportError(f"now {now.isoformat()} has no time zone: pass an aware datetime, "
                          "e.g. datetime.now(timezone.utc)")
    return now.astimezone(dt.timezone.utc)


def _us_of(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _jsonable(v: Any) -> Any:
    """Turn a DuckDB value into plain JSON: bytes as hex, times as ISO text."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def _int(v: Any) -> int:
    return 0 if v is None else int(v)


def _num(v: Any) -> float | None:
    return None if v is None else round(float(v), 3)


# --------------------------------------------------------------------------- running queries

class _Runner:
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
            raise ReportError(f"ledger query failed: {exc}. SQL: {_compact(sql)}") from exc

    def __call__(self, purpose: str, sql: str, params: Sequence[Any] = ()) -> tuple[str, list[tuple[Any, ...]]]:
        """Run a footnoted query; return its id (Q1, Q2, ...) and rows."""
        self.step(purpose)
        qid = f"Q{len(self.queries) + 1}"
        self.queries.append({"id": qid, "purpose": purpose, "sql": _compact(sql),
                             "params": [_jsonable(p) for p in params]})
        try:
            rows = self._q(sql, params)
        except ReportError:
            raise
        except Exception as exc:  # any Query implementation: name the query that failed
            raise ReportError(f"ledger query {qid} ({purpose}) failed: {exc}. SQL: {_compact(sql)}") from exc
        return qid, rows


def _compact(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


@dataclass(frozen=True)
class _Scope:
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


def _check_scope(run: _Runner, ctx: ReportContext, scope: _Scope) -> None:
    """Unknown tenant or route, or a period without records: a clear ReportError."""
    if scope.tenant is not None and scope.tenant not in ctx.tenants:
        hit = run.raw("SELECT 1 FROM records WHERE tenant = ? LIMIT 1", [scope.tenant])
        if not hit:
            known = [r[0] for r in run.raw(
                "SELECT DISTINCT tenant FROM records WHERE tenant IS NOT NULL ORDER BY 1 LIMIT 50")]
            known = sorted(set(known) | set(ctx.tenants))
            raise ReportError(f"unknown tenant {scope.tenant!r}: it is neither in the ledger nor in the "
                              f"configuration; known tenants: {', '.join(known) or '(none)'}. "
                              "Check the spelling, or leave the tenant out to report on all tenants")
    if scope.route is not None and ctx.route(scope.route) is None:
        hit = run.raw("SELECT 1 FROM records WHERE route_id = ? LIMIT 1", [scope.route])
        if not hit:
            known = sorted({r.id for r in ctx.routes} | {r[0] for r in run.raw(
                "SELECT DISTINCT route_id FROM records WHERE route_id IS NOT NULL ORDER BY 1 LIMIT 50")})
            raise ReportError(f"unknown route {scope.route!r}: it is neither configured nor in the ledger; "
                              f"known routes: {', '.join(known) or '(none)'}. "
                              "Check the spelling, or leave the route out to report on all routes")
    n = run.raw(f"SELECT count(*) FROM records WHERE {scope.where}", scope.params)[0][0]
    if not n:
        span = run.raw("SELECT min(recorded_at_us), max(recorded_at_us), count(*) FROM records")[0]
        held = (f"the ledger holds {span[2]} records from {iso_us(span[0])} to {iso_us(span[1])}"
                if span[2] else "the ledger holds no records at all")
        who = "".join([f" for tenant {scope.tenant!r}" if scope.tenant else "",
                       f" on route {scope.route!r}" if scope.route else ""])
        raise ReportError(f"no records{who} between {scope.period.start.isoformat()} and "
                          f"{scope.period.end.isoformat()} (UTC, inclusive): {held}. "
                          "Choose a period that contains records")


def _tables(run: _Runner) -> set[str]:
    rows = run.raw("SELECT table_name FROM information_schema.tables")
    return {str(r[0]) for r in rows}


# --------------------------------------------------------------------------- shared figures

def _bucket(period: Period) -> tuple[str, str]:
    """Time bucket unit and its SQL key over ``recorded_at_us`` (integer math: no time zone)."""
    if period.days <= 62:
        return "day", f"recorded_at_us // {US_PER_DAY}"
    if period.days <= 731:
        # ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday
        return "week", f"(recorded_at_us // {US_PER_DAY} + 3) // 7"
    return "month", ("year(make_timestamp(recorded_at_us)) * 12 + month(make_timestamp(recorded_at_us)) - 1")


def _bucket_start(unit: str, key: int) -> dt.date:
    if unit == "day":
        return _EPOCH + dt.timedelta(days=key)
    if unit == "week":
        return _EPOCH + dt.timedelta(days=key * 7 - 3)
    return dt.date(key // 12, key % 12 + 1, 1)


def _bucket_keys(unit: str, period: Period) -> list[int]:
    """Every bucket of the period, so a quiet day shows as zero rather than missing."""
    a, b = _day_number(period.start), _day_number(period.end)
    if unit == "day":
        return list(range(a, b + 1))
    if unit == "week":
        return list(range((a + 3) // 7, (b + 3) // 7 + 1))
    s, e = period.start, period.end
    return list(range(s.year * 12 + s.month - 1, e.year * 12 + e.month))


def _timeline(run: _Runner, scope: _Scope) -> dict[str, Any]:
    unit, key = _bucket(scope.period)
    qid, rows = run("volume and outcomes over time", f"""
        SELECT {key} AS bucket,
               count(*) FILTER (WHERE kind = 'decision'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'allow'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'redact'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'block'),
               count(*) FILTER (WHERE kind = 'response'),
               count(*) FILTER (WHERE kind = 'response' AND outcome <> 'forwarded'),
               count(*), min(seq), max(seq)
        FROM records WHERE {scope.where}
        GROUP BY bucket ORDER BY bucket""", scope.params)
    by = {int(r[0]): r for r in rows}
    out = []
    for k in _bucket_keys(unit, scope.period):
        r = by.get(k)
        out.append({"bucket": _bucket_start(unit, k).isoformat(),
                    "decisions": _int(r[1]) if r else 0, "allow": _int(r[2]) if r else 0,
                    "redact": _int(r[3]) if r else 0, "block": _int(r[4]) if r else 0,
                    "responses": _int(r[5]) if r else 0, "refused_or_failed": _int(r[6]) if r else 0,
                    "records": _int(r[7]) if r else 0,
                    "seq_first": r[8] if r else None, "seq_last": r[9] if r else None})
    return {"q": qid, "unit": unit, "buckets": out}


def _outcome_matrix(run: _Runner, scope: _Scope) -> tuple[str, list[dict[str, Any]]]:
    """Records by route, kind, mode and outcome: the base of most outcome figures."""
    qid, rows = run("records by route, kind, mode and outcome", f"""
        SELECT route_id, kind, mode, outcome, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
        GROUP BY route_id, kind, mode, outcome
        ORDER BY route_id NULLS LAST, kind, mode NULLS LAST, outcome NULLS LAST""", scope.params)
    return qid, [{"route_id": r[0], "kind": r[1], "mode": r[2], "outcome": r[3], "records": _int(r[4]),
                  "seq_first": r[5], "seq_last": r[6]} for r in rows]


def _sum(rows: Iterable[Mapping[str, Any]], **where: Any) -> dict[str, Any]:
    """Total of matrix rows matching ``where``, with the seq range they span."""
    sel = [r for r in rows if all(r[k] == v for k, v in where.items())]
    firsts = [r["seq_first"] for r in sel if r["seq_first"] is not None]
    lasts = [r["seq_last"] for r in sel if r["seq_last"] is not None]
    return {"records": sum(r["records"] for r in sel),
            "seq_first": min(firsts) if firsts else None, "seq_last": max(lasts) if lasts else None}


def _by_route(matrix: list[dict[str, Any]], routes: Iterable[str | None]) -> list[dict[str, Any]]:
    out = []
    for route in routes:
        row: dict[str, Any] = {"route_id": route}
        for o in DECISION_OUTCOMES:
            row[o] = _sum(matrix, route_id=route, kind="decision", outcome=o)["records"]
        for o in RESPONSE_OUTCOMES:
            row[o] = _sum(matrix, route_id=route, kind="response", outcome=o)["records"]
        d = _sum(matrix, route_id=route, kind="decision")
        r = _sum(matrix, route_id=route, kind="response")
        row.update(decisions=d["records"], responses=r["records"],
                   seq_first=min((x for x in (d["seq_first"], r["seq_first"]) if x is not None), default=None),
                   seq_last=max((x for x in (d["seq_last"], r["seq_last"]) if x is not None), default=None))
        out.append(row)
    return out


def _categories(run: _Runner, scope: _Scope) -> tuple[str, list[dict[str, Any]]]:
    qid, rows = run("decisions by route and detected category", f"""
        SELECT route_id, category, count(*),
               count(*) FILTER (WHERE outcome = 'allow'),
               count(*) FILTER (WHERE outcome = 'redact'),
               count(*) FILTER (WHERE outcome = 'block'),
               count(*) FILTER (WHERE outcome = 'block' AND mode = 'observe'),
               min(seq), max(seq)
        FROM (SELECT route_id, outcome, mode, seq, unnest(categories) AS category
              FROM records WHERE {scope.where} AND kind = 'decision')
        GROUP BY route_id, category ORDER BY route_id NULLS LAST, category""", scope.params)
    return qid, [{"route_id": r[0], "category": r[1], "decisions": _int(r[2]), "allow": _int(r[3]),
                  "redact": _int(r[4]), "block": _int(r[5]), "observed_block": _int(r[6]),
                  "seq_first": r[7], "seq_last": r[8]} for r in rows]


def _category_total(rows: list[dict[str, Any]], category: str) -> dict[str, Any]:
    sel = [r for r in rows if r["category"] == category]
    firsts = [r["seq_first"] for r in sel]
    lasts = [r["seq_last"] for r in sel]
    return {"category": category,
            "decisions": sum(r["decisions"] for r in sel), "block": sum(r["block"] for r in sel),
            "redact": sum(r["redact"] for r in sel), "allow": sum(r["allow"] for r in sel),
            "observed_block": sum(r["observed_block"] for r in sel),
            "by_route": [{"route_id": r["route_id"], "decisions": r["decisions"], "block": r["block"],
                          "redact": r["redact"], "allow": r["allow"]} for r in sel],
            "seq_first": min(firsts) if firsts else None, "seq_last": max(lasts) if lasts else None}


def _policy_versions(run: _Runner, scope: _Scope, ctx: ReportContext) -> dict[str, Any]:
    qid, rows = run("policy bundle versions recorded with decisions", f"""
        SELECT policy_id, policy_version, policy_hash, count(*), min(seq), max(seq),
               min(recorded_at_us), max(recorded_at_us)
        FROM records WHERE {scope.where} AND policy_id IS NOT NULL
        GROUP BY policy_id, policy_version, policy_hash
        ORDER BY policy_id, min(seq)""", scope.params)
    versions = [{"policy_id": r[0], "version": r[1], "hash": r[2], "records": _int(r[3]),
                 "seq_first": r[4], "seq_last": r[5], "first_at": iso_us(r[6]), "last_at": iso_us(r[7])}
                for r in rows]
    changes = []
    for pid in sorted({v["policy_id"] for v in versions}):
        seen = [v for v in versions if v["policy_id"] == pid]
        for before, after in zip(seen, seen[1:]):
            changes.append({"policy_id": pid, "from_version": before["version"], "from_hash": before["hash"],
                            "to_version": after["version"], "to_hash": after["hash"],
                            "first_seq_after": after["seq_first"], "at": after["first_at"]})
    configured = []
    for b in ctx.bundles:
        recorded = [v for v in versions if v["policy_id"] == b.id]
        configured.append({**b.facts(),
                           "recorded_in_period": bool(recorded),
                           "matches_latest_recorded": (recorded[-1]["hash"] == b.content_hash) if recorded else None})
    return {"q": qid, "recorded": versions, "changes": changes, "configured": configured}


def _model_versions(run: _Runner, scope: _Scope) -> dict[str, Any]:
    qid, rows = run("upstreams and models per route", f"""
        SELECT route_id, upstream_id, model, count(*), min(seq), max(seq),
               min(recorded_at_us), max(recorded_at_us)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
        GROUP BY route_id, upstream_id, model
        ORDER BY route_id NULLS LAST, min(seq)""", scope.params)
    used = [{"route_id": r[0], "upstream_id": r[1], "model": r[2], "records": _int(r[3]),
             "seq_first": r[4], "seq_last": r[5], "first_at": iso_us(r[6]), "last_at": iso_us(r[7])}
            for r in rows]
    changes = []
    for route in sorted({u["route_id"] for u in used if u["route_id"] is not None}):
        seen = [u for u in used if u["route_id"] == route]
        for before, after in zip(seen, seen[1:]):
            changes.append({"route_id": route, "from_upstream": before["upstream_id"], "from_model": before["model"],
                            "to_upstream": after["upstream_id"], "to_model": after["model"],
                            "first_seq_after": after["seq_first"], "at": after["first_at"]})
    return {"q": qid, "used": used, "changes": changes}


def _normalise_integrity(integrity: Mapping[str, Any] | None) -> dict[str, Any]:
    """The caller's ledger.verify result, checked for shape; ``None`` means "not verified"."""
    if integrity is None:
        return {"verified": False, "ok": False, "problems": ["the ledger was not verified for this report: "
                                                             "the caller passed no ledger.verify result"],
                "checked_records": 0, "checkpoints": 0}
    if not isinstance(integrity, Mapping) or not isinstance(integrity.get("ok"), bool):
        raise ReportError(f"integrity facts {integrity!r} are not a ledger.verify result: expected a mapping "
                          "with ok (bool), problems (list), checked_records (int), checkpoints (int)")
    problems = integrity.get("problems") or []
    if isinstance(problems, (str, bytes)) or not isinstance(problems, Iterable):
        raise ReportError(f"integrity problems {problems!r} is not a list: expected a list of problem texts")
    problems = [_jsonable(p) for p in problems]
    # ledger.verify's VerifyReport.to_dict() spells the counts records_checked /
    # checkpoints_checked; the report contract says checked_records / checkpoints.
    checked = integrity.get("checked_records", integrity.get("records_checked"))
    cps = integrity.get("checkpoints", integrity.get("checkpoints_checked", 0))
    out = {"verified": True,
           # a result listing problems is never "ok", whatever its flag says
           "ok": bool(integrity["ok"]) and not problems,
           "problems": problems,
           "checked_records": _int(checked),
           "checkpoints": len(cps) if isinstance(cps, (list, tuple)) else _int(cps)}
    used = {"ok", "problems", "checked_records", "records_checked", "checkpoints", "checkpoints_checked"}
    extra = {k: _jsonable(v) for k, v in integrity.items() if k not in used}
    if extra:
        out["details"] = extra
    return out


def _checkpoints(run: _Runner, tables: set[str], seq_first: int, seq_last: int) -> dict[str, Any]:
    if "checkpoints" not in tables:
        return {"q": None, "count": 0, "listed": [], "covering": None, "latest": None, "anchored": False}
    # A checkpoint of tree_size n commits to seqs 0..n-1: the period's records are
    # anchored by the first checkpoint with n > seq_last.
    qid, rows = run("signed checkpoints covering the period's records", f"""
        SELECT tree_size, root_hash, at_us, key_id FROM checkpoints
        WHERE tree_size > ? AND tree_size <= coalesce(
            (SELECT min(tree_size) FROM checkpoints WHERE tree_size > ?), 9223372036854775807)
        ORDER BY tree_size LIMIT {MAX_CHECKPOINTS_LISTED + 1}""", [seq_first, seq_last])
    listed = [{"tree_size": _int(r[0]), "root_hash": _jsonable(r[1]), "at": iso_us(r[2]), "key_id": r[3]}
              for r in rows]
    qid2, cnt = run("number of checkpoints in the period's range", """
        SELECT count(*) FROM checkpoints WHERE tree_size > ? AND tree_size <= coalesce(
            (SELECT min(tree_size) FROM checkpoints WHERE tree_size > ?), 9223372036854775807)""",
                    [seq_first, seq_last])
    qid3, latest = run("latest signed checkpoint", """
        SELECT tree_size, root_hash, at_us, key_id FROM checkpoints ORDER BY tree_size DESC LIMIT 1""")
    covering = next((c for c in listed if c["tree_size"] > seq_last), None)
    return {"q": qid, "q_count": qid2, "q_latest": qid3, "count": _int(cnt[0][0]),
            "listed": listed[:MAX_CHECKPOINTS_LISTED], "truncated": len(listed) > MAX_CHECKPOINTS_LISTED,
            "covering": covering, "anchored": covering is not None,
            "latest": ({"tree_size": _int(latest[0][0]), "root_hash": _jsonable(latest[0][1]),
                        "at": iso_us(latest[0][2]), "key_id": latest[0][3]} if latest else None)}


def _coverage(run: _Runner, scope: _Scope) -> dict[str, Any]:
    qid, rows = run("records in the period", f"""
        SELECT count(*), min(seq), max(seq), min(recorded_at_us), max(recorded_at_us),
               count(DISTINCT request_id)
        FROM records WHERE {scope.where}""", scope.params)
    r = rows[0]
    qk, kinds = run("records by kind", f"""
        SELECT kind, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY kind ORDER BY kind""", scope.params)
    return {"q": qid, "records": _int(r[0]), "seq_first": r[1], "seq_last": r[2],
            "first_at": iso_us(r[3]), "last_at": iso_us(r[4]), "requests": _int(r[5]),
            "q_kinds": qk, "by_kind": [{"kind": k[0], "records": _int(k[1]), "seq_first": k[2],
                                        "seq_last": k[3]} for k in kinds]}


def _header(ctx: ReportContext, now: dt.datetime, scope: _Scope) -> dict[str, Any]:
    return {"provider": ctx.provider, "deployer": ctx.deployer, "regime": ctx.regime,
            "application_date": ctx.application_date.isoformat(), "application_note": ctx.application_note,
            "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "ledger_id": ctx.ledger_id,
            "ledgergate_version": ctx.version, **scope.facts()}


# --------------------------------------------------------------------------- Article 12

def gather_article12(q: Query, period: Period, context: ReportContext, *,
                     tenant: str | None = None, route: str | None = None,
                     integrity: Mapping[str, Any] | None = None,
                     now: dt.datetime | None = None,
                     progress: Progress | None = None) -> dict[str, Any]:
    """Facts of the Article 12 (Regulation (EU) 2024/1689) record-keeping report.

    ``integrity`` is the result of ``ledger.verify`` run by the caller just
    before (``{ok, problems, checked_records, checkpoints}``); ``None`` makes
    the report say the ledger was not verified. ``now`` fixes the generation
    time (tests, reproducible reports). Raises :class:`ReportError` for an
    unknown tenant or route or a period without records.
    """
    if not isinstance(period, Period):
        raise ReportError(f"period {period!r} is not a Period: build one with Period.parse('2026-10-01', '2026-10-31')")
    at = _utc_now(now)
    scope = _Scope(period, tenant, route)
    run = _Runner(q, progress, steps=22)
    run.step("checking scope")
    _check_scope(run, context, scope)
    tables = _tables(run)

    coverage = _coverage(run, scope)
    checkpoints = _checkpoints(run, tables, coverage["seq_first"], coverage["seq_last"])
    matrix_q, matrix = _outcome_matrix(run, scope)
    cat_q, cats = _categories(run, scope)
    timeline = _timeline(run, scope)
    policies = _policy_versions(run, scope, context)
    models = _model_versions(run, scope)

    qs, sources = run("records by source", f"""
        SELECT source, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY source ORDER BY source NULLS LAST""", scope.params)
    qp, pairing = run("requests with a decision but no response, and the reverse", f"""
        SELECT count(*) FILTER (WHERE d AND NOT r), count(*) FILTER (WHERE r AND NOT d)
        FROM (SELECT request_id, bool_or(kind = 'decision') AS d, bool_or(kind = 'response') AS r
              FROM records WHERE {scope.where} AND request_id IS NOT NULL
              GROUP BY request_id)""", scope.params)
    recording = {
        "provision": "Art. 12(1)",
        "by_kind": coverage["by_kind"], "q_kinds": coverage["q_kinds"],
        "by_source": {"q": qs, "rows": [{"source": r[0], "records": _int(r[1]), "seq_first": r[2],
                                         "seq_last": r[3]} for r in sources]},
        "requests": coverage["requests"], "q_requests": coverage["q"],
        "pairing": {"q": qp, "decision_without_response": _int(pairing[0][0]),
                    "response_without_decision": _int(pairing[0][1])},
        "timeline": timeline,
    }

    qb, blocks = run("blocked decisions by rule and route", f"""
        SELECT rule_id, route_id, mode, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'decision' AND outcome = 'block'
        GROUP BY rule_id, route_id, mode ORDER BY count(*) DESC, rule_id, route_id""", scope.params)
    risk = {
        "provision": "Art. 12(2)(a)",
        "q_matrix": matrix_q, "q_categories": cat_q, "q_blocks": qb,
        "blocks": {**_sum(matrix, kind="decision", outcome="block"),
                   "observed_only": _sum(matrix, kind="decision", outcome="block", mode="observe")["records"],
                   "by_rule": [{"rule_id": r[0], "route_id": r[1], "mode": r[2], "records": _int(r[3]),
                                "seq_first": r[4], "seq_last": r[5]} for r in blocks]},
        "refusals": [{"outcome": o, **_sum(matrix, kind="response", outcome=o)}
                     for o in RESPONSE_OUTCOMES if o != "forwarded"],
        "injection": _category_total(cats, "PROMPT_INJECTION"),
        "secrets": _category_total(cats, "SECRET"),
        "phi": _category_total(cats, "PHI"),
        "policy_changes": policies["changes"], "q_policies": policies["q"],
        "model_changes": models["changes"], "q_models": models["q"],
    }

    qr, perf = run("response volumes, tokens, latency and hold time by route", f"""
        SELECT route_id, count(*), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),
               quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95),
               quantile_cont(hold_ms, 0.5), quantile_cont(hold_ms, 0.95), max(hold_ms)
        FROM records WHERE {scope.where} AND kind = 'response'
        GROUP BY route_id ORDER BY route_id NULLS LAST""", scope.params)
    route_ids = sorted({m["route_id"] for m in matrix}, key=lambda x: (x is None, x or ""))
    perf_by = {r[0]: r for r in perf}
    by_route = _by_route(matrix, route_ids)
    for row in by_route:
        p = perf_by.get(row["route_id"])
        row.update(prompt_tokens=_int(p[2]) if p else 0, completion_tokens=_int(p[3]) if p else 0,
                   total_tokens=_int(p[4]) if p else 0,
                   latency_p50_ms=_num(p[5]) if p else None, latency_p95_ms=_num(p[6]) if p else None,
                   hold_p50_ms=_num(p[7]) if p else None, hold_p95_ms=_num(p[8]) if p else None,
                   hold_max_ms=_num(p[9]) if p else None)
    unit, key = _bucket(period)
    qc, cat_time = run("detected categories over time", f"""
        SELECT {key} AS bucket, category, count(*)
        FROM (SELECT recorded_at_us, unnest(categories) AS category
              FROM records WHERE {scope.where} AND kind = 'decision')
        GROUP BY bucket, category ORDER BY bucket, category""", scope.params)
    monitoring = {
        "provision": "Art. 12(2)(b), Art. 72",
        "q_matrix": matrix_q, "q_perf": qr, "q_categories": cat_q,
        "by_route": by_route, "categories_by_route": cats, "timeline": timeline,
        "categories_over_time": {"q": qc, "unit": unit,
                                 "rows": [{"bucket": _bucket_start(unit, int(r[0])).isoformat(),
                                           "category": r[1], "decisions": _int(r[2])} for r in cat_time]},
        "matrix": matrix,
    }

    qo, outages = run("broker outages: runs of refused-unavailable responses", f"""
        WITH u AS (SELECT seq, recorded_at_us AS us FROM records
                   WHERE {scope.where} AND kind = 'response' AND outcome = 'refused-unavailable'),
             g AS (SELECT *, CASE WHEN us - lag(us) OVER (ORDER BY us, seq) <= {OUTAGE_GAP_US}
                                  THEN 0 ELSE 1 END AS brk FROM u),
             e AS (SELECT *, sum(brk) OVER (ORDER BY us, seq ROWS UNBOUNDED PRECEDING) AS episode FROM g)
        SELECT episode, count(*), min(us), max(us), min(seq), max(seq)
        FROM e GROUP BY episode ORDER BY episode""", scope.params)
    qv, overrides = run("human overrides and who made them", f"""
        SELECT coalesce(json_extract_string(metadata, '$.override_by'), person) AS who,
               route_id, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where}
          AND (source = 'override' OR json_extract_string(metadata, '$.override_by') IS NOT NULL)
        GROUP BY who, route_id ORDER BY who NULLS LAST, route_id""", scope.params)
    operation = {
        "provision": "Art. 12(2)(c), Art. 26(5)",
        "q_matrix": matrix_q, "q_perf": qr,
        "hold_timeouts": {**_sum(matrix, kind="response", outcome="refused-timeout"),
                          "by_route": [{"route_id": r, **_sum(matrix, route_id=r, kind="response",
                                                              outcome="refused-timeout")} for r in route_ids]},
        "unavailable": _sum(matrix, kind="response", outcome="refused-unavailable"),
        "upstream_errors": {**_sum(matrix, kind="response", outcome="upstream-error"),
                            "by_route": [{"route_id": r, **_sum(matrix, route_id=r, kind="response",
                                                                outcome="upstream-error")} for r in route_ids]},
        "outages": {"q": qo, "gap_seconds": OUTAGE_GAP_US // 1_000_000, "count": len(outages),
                    "episodes": [{"records": _int(r[1]), "from": iso_us(r[2]), "to": iso_us(r[3]),
                                  "seq_first": r[4], "seq_last": r[5]} for r in outages[:MAX_OUTAGES]],
                    "truncated": len(outages) > MAX_OUTAGES},
        "overrides": {"q": qv, "records": sum(_int(r[2]) for r in overrides),
                      "by_person": [{"person": r[0], "route_id": r[1], "records": _int(r[2]),
                                     "seq_first": r[3], "seq_last": r[4]} for r in overrides]},
    }

    qa, people = run("per-person use of each route and outcomes", f"""
        SELECT tenant, person, route_id,
               count(*) FILTER (WHERE kind = 'decision'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'allow'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'redact'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'block'),
               count(*) FILTER (WHERE kind = 'response'),
               count(*) FILTER (WHERE kind = 'response' AND outcome = 'forwarded'),
               count(*) FILTER (WHERE kind = 'response' AND outcome LIKE 'refused-%'),
               count(*) FILTER (WHERE kind = 'response' AND outcome = 'upstream-error'),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
        GROUP BY tenant, person, route_id
        ORDER BY tenant NULLS LAST, person NULLS LAST, route_id NULLS LAST""", scope.params)
    attribution = {
        "provision": "Art. 12(2)(c), Art. 26(5)",
        "q": qa, "people": len({(r[0], r[1]) for r in people}),
        "rows": [{"tenant": r[0], "person": r[1], "route_id": r[2], "decisions": _int(r[3]),
                  "allow": _int(r[4]), "redact": _int(r[5]), "block": _int(r[6]), "responses": _int(r[7]),
                  "forwarded": _int(r[8]), "refused": _int(r[9]), "upstream_error": _int(r[10]),
                  "first_at": iso_us(r[11]), "last_at": iso_us(r[12]), "seq_first": r[13], "seq_last": r[14]}
                 for r in people],
    }

    retention = _retention(run, tables, context, at)
    appendix = _integrity_appendix(run, tables, scope, checkpoints)

    identity = {
        "provision": "Art. 12(1); Annex IV(1)",
        "provider": context.provider, "deployer": context.deployer,
        "routes": [{**r.facts(),
                    "vendor": (context.upstream(r.upstream).vendor if context.upstream(r.upstream) else "")}
                   for r in context.routes if route is None or r.id == route],
        "upstreams": [u.facts() for u in context.upstreams],
        "ledgergate_version": context.version,
        "policy_bundles": policies["configured"],
        "policy_versions_recorded": policies["recorded"], "q_policies": policies["q"],
        "models_recorded": models["used"], "q_models": models["q"],
    }
    run.step("done")
    return {
        "kind": "article12", "schema": 1,
        "title": "Record-keeping report (Article 12)",
        "header": _header(context, at, scope),
        "identity": identity,
        "coverage": {"provision": "Art. 12(1), Art. 19(1)", **coverage, "checkpoints": checkpoints,
                     "integrity": _normalise_integrity(integrity)},
        "recording": recording,
        "risk": risk,
        "monitoring": monitoring,
        "operation": operation,
        "attribution": attribution,
        "retention": retention,
        "integrity": appendix,
        "queries": run.queries,
    }


def _retention(run: _Runner, tables: set[str], ctx: ReportContext, at: dt.datetime) -> dict[str, Any]:
    qid, span = run("whole ledger: oldest and newest record", """
        SELECT count(*), min(seq), max(seq), min(recorded_at_us), max(recorded_at_us) FROM records""")
    s = span[0]
    out: dict[str, Any] = {
        "provision": "Art. 19(1), Art. 26(6)",
        "minimum_days": SIX_MONTHS_DAYS, "retention_days": ctx.retention_days,
        "meets_minimum": ctx.retention_days >= SIX_MONTHS_DAYS,
        "q": qid, "ledger_records": _int(s[0]), "ledger_seq_first": s[1], "ledger_seq_last": s[2],
        "oldest_at": iso_us(s[3]), "newest_at": iso_us(s[4]),
        "oldest_age_days": ((_us_of(at) - s[3]) // US_PER_DAY) if s[3] is not None else None,
        "pruned": [], "q_pruned": None, "legal_holds": {"q": None, "columns": [], "rows": []},
        "legal_holds_configured": list(ctx.legal_holds),
    }
    if "pruned" in tables:
        qp, rows = run("pruned record ranges", "SELECT from_seq, to_seq, pruned_at_us, reason FROM pruned ORDER BY from_seq")
        out["q_pruned"] = qp
        out["pruned"] = [{"from_seq": r[0], "to_seq": r[1], "records": _int(r[1]) - _int(r[0]) + 1,
                          "pruned_at": iso_us(r[2]), "reason": r[3]} for r in rows]
    if "legal_holds" in tables:
        # The legal_holds layout belongs to the ledger; report whatever columns it has.
        cols = [r[0] for r in run.raw("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'legal_holds' ORDER BY ordinal_position")]
        qh, rows = run("legal holds recorded in the ledger", "SELECT * FROM legal_holds")
        # µs columns (from_us, to_us, created_at_us) are shown as UTC times
        out["legal_holds"] = {"q": qh, "columns": [c.removesuffix("_us") for c in cols],
                              "rows": [[iso_us(v) if c.endswith("_us") and isinstance(v, int) else _jsonable(v)
                                        for c, v in zip(cols, r)] for r in rows]}
    return out


def _integrity_appendix(run: _Runner, tables: set[str], scope: _Scope,
                        checkpoints: Mapping[str, Any]) -> dict[str, Any]:
    keys: list[dict[str, Any]] = []
    qk = None
    if "keys" in tables:
        qk, rows = run("key manifest", "SELECT key_id, public_key, added_at_us FROM keys ORDER BY added_at_us, key_id")
        keys = [{"key_id": r[0], "public_key": _jsonable(r[1]), "added_at": iso_us(r[2])} for r in rows]
    qs, signed = run("records in the period by signing key", f"""
        SELECT key_id, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY key_id ORDER BY min(seq)""", scope.params)
    return {
        "provision": "Art. 12(1), Art. 19(1)",
        "method": {"signature": "Ed25519 (RFC 8032) over the canonical Avro single-object-encoded bytes of each record",
                   "tree": "RFC 9162 Merkle tree: leaf = SHA-256(0x00 || record bytes), node = SHA-256(0x01 || left || right)",
                   "checkpoints": "signed tree heads (tree size, root hash, time, key id), each also Ed25519-signed"},
        "q_keys": qk, "keys": keys,
        "q_signed": qs, "signed_by": [{"key_id": r[0], "records": _int(r[1]), "seq_first": r[2],
                                       "seq_last": r[3]} for r in signed],
        "latest_checkpoint": checkpoints.get("latest"), "q_latest": checkpoints.get("q_latest"),
        "reverify": "ledgergate verify --bundle BUNDLE",
    }


# --------------------------------------------------------------------------- LL-2026-04

def gather_ll202604(q: Query, period: Period, context: ReportContext, *,
                    tenant: str | None = None, route: str | None = None,
                    integrity: Mapping[str, Any] | None = None,
                    now: dt.datetime | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
    """Facts of the Fannie Mae LL-2026-04 AI governance report.

    Supports disclosure and post-closing QC: an inventory of AI uses, the
    safeguards in force and their review dates, vendor AI, security events
    against the 36-hour notification window, and per-loan usage records keyed
    by the request metadata field ``context.loan_field``.
    """
    if not isinstance(period, Period):
        raise ReportError(f"period {period!r} is not a Period: build one with Period.parse('2026-10-01', '2026-10-31')")
    at = _utc_now(now)
    at_us = _us_of(at)
    scope = _Scope(period, tenant, route)
    run = _Runner(q, progress, steps=10)
    run.step("checking scope")
    _check_scope(run, context, scope)

    coverage = _coverage(run, scope)
    qi, inv = run("AI use by route and upstream", f"""
        SELECT route_id, upstream_id,
               count(*) FILTER (WHERE kind = 'decision'), count(*) FILTER (WHERE kind = 'response'),
               count(DISTINCT request_id), count(DISTINCT person),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
        GROUP BY route_id, upstream_id ORDER BY route_id NULLS LAST, upstream_id NULLS LAST""", scope.params)
    models = _model_versions(run, scope)
    policies = _policy_versions(run, scope, context)

    inventory = []
    seen_routes = set()
    for r in inv:
        cfg = context.route(r[0]) if r[0] else None
        up = context.upstream(r[1]) if r[1] else None
        seen_routes.add(r[0])
        inventory.append({
            "route_id": r[0], "purpose": cfg.purpose if cfg else "", "mode": cfg.mode if cfg else None,
            "policy": cfg.policy if cfg else None, "configured": cfg is not None,
            "upstream_id": r[1], "vendor": up.vendor if up else "",
            "models": sorted({m["model"] for m in models["used"]
                              if m["route_id"] == r[0] and m["upstream_id"] == r[1] and m["model"]}),
            "decisions": _int(r[2]), "responses": _int(r[3]), "requests": _int(r[4]), "people": _int(r[5]),
            "first_at": iso_us(r[6]), "last_at": iso_us(r[7]), "seq_first": r[8], "seq_last": r[9]})
    unused = [rc.facts() for rc in context.routes if rc.id not in seen_routes and (route is None or rc.id == route)]

    as_of = at.date()
    bundles = []
    for b in policies["configured"]:
        reviewed = dt.date.fromisoformat(b["reviewed"]) if b["reviewed"] else None
        age = (as_of - reviewed).days if reviewed else None
        overdue = reviewed is None or age > REVIEW_WINDOW_DAYS
        bundles.append({**b, "review_age_days": age, "review_overdue": overdue,
                        "routes": [r.id for r in context.routes if r.policy == b["id"]],
                        "flag": ("no review date recorded" if reviewed is None else
                                 f"last reviewed {age} days before the report date (more than 12 months)"
                                 if overdue else "")})
    safeguards = {"as_of": as_of.isoformat(), "review_window_days": REVIEW_WINDOW_DAYS,
                  "bundles": bundles, "overdue": sum(1 for b in bundles if b["review_overdue"]),
                  "recorded": policies["recorded"], "q_policies": policies["q"]}

    qv, vp = run("policies applied to each upstream", f"""
        SELECT upstream_id, policy_id, policy_version, policy_hash, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'decision'
        GROUP BY upstream_id, policy_id, policy_version, policy_hash
        ORDER BY upstream_id NULLS LAST, policy_id NULLS LAST, min(seq)""", scope.params)
    vendors = []
    ups = sorted({i["upstream_id"] for i in inventory if i["upstream_id"]} |
                 {u.id for u in context.upstreams if route is None or
                  any(r.upstream == u.id for r in context.routes if r.id == route)})
    for uid in ups:
        cfg_u = context.upstream(uid)
        rows = [i for i in inventory if i["upstream_id"] == uid]
        vendors.append({
            "upstream_id": uid, "vendor": cfg_u.vendor if cfg_u else "", "kind": cfg_u.kind if cfg_u else None,
            "configured": cfg_u is not None,
            "routes": sorted({i["route_id"] for i in rows if i["route_id"]} |
                             {r.id for r in context.routes if r.upstream == uid and (route is None or r.id == route)}),
            "models": sorted({m for i in rows for m in i["models"]}),
            "requests": sum(i["requests"] for i in rows), "decisions": sum(i["decisions"] for i in rows),
            "policies_applied": [{"policy_id": p[1], "version": p[2], "hash": p[3], "decisions": _int(p[4]),
                                  "seq_first": p[5], "seq_last": p[6]} for p in vp if p[0] == uid]})

    window_us = NOTIFY_WINDOW_HOURS * US_PER_HOUR
    sec_where = (f"{scope.where} AND kind = 'decision' AND (list_contains(categories, 'PROMPT_INJECTION') "
                 "OR list_contains(categories, 'SECRET'))")
    qt, tot = run("security events: prompt injection and secrets", f"""
        SELECT count(*),
               count(*) FILTER (WHERE list_contains(categories, 'PROMPT_INJECTION')),
               count(*) FILTER (WHERE list_contains(categories, 'PROMPT_INJECTION') AND outcome = 'block'),
               count(*) FILTER (WHERE list_contains(categories, 'SECRET')),
               count(*) FILTER (WHERE list_contains(categories, 'SECRET') AND outcome = 'block'),
               count(*) FILTER (WHERE recorded_at_us > ?),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq)
        FROM records WHERE {sec_where}""", [at_us - window_us, *scope.params])
    qe, ev = run("security events, most recent first", f"""
        SELECT seq, recorded_at_us, tenant, person, route_id, mode, outcome, rule_id, categories
        FROM records WHERE {sec_where} ORDER BY seq DESC LIMIT {MAX_EVENTS}""", scope.params)
    t = tot[0]
    events = []
    for e in ev:
        hours = (at_us - e[1]) / US_PER_HOUR
        events.append({"seq": e[0], "detected_at": iso_us(e[1]), "tenant": e[2], "person": e[3],
                       "route_id": e[4], "mode": e[5], "outcome": e[6], "rule_id": e[7],
                       "categories": list(e[8] or []), "hours_since_detection": round(hours, 1),
                       "notify_by": iso_us(e[1] + window_us), "within_window": hours < NOTIFY_WINDOW_HOURS})
    security = {"q": qt, "q_events": qe, "window_hours": NOTIFY_WINDOW_HOURS, "as_of": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "events": _int(t[0]), "injection": _int(t[1]), "injection_blocked": _int(t[2]),
                "secrets": _int(t[3]), "secrets_blocked": _int(t[4]), "within_window": _int(t[5]),
                "first_at": iso_us(t[6]), "last_at": iso_us(t[7]), "seq_first": t[8], "seq_last": t[9],
                "listed": events, "truncated": _int(t[0]) > len(events)}

    path = "$." + json.dumps(context.loan_field)  # quoted: the field name may hold dots or spaces
    ql, loans = run("AI usage per loan (request metadata)", f"""
        SELECT loan, count(*),
               count(*) FILTER (WHERE kind = 'decision'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'allow'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'redact'),
               count(*) FILTER (WHERE kind = 'decision' AND outcome = 'block'),
               count(*) FILTER (WHERE kind = 'response'),
               count(*) FILTER (WHERE kind = 'response' AND outcome = 'forwarded'),
               list(DISTINCT route_id ORDER BY route_id), list(DISTINCT person ORDER BY person),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq),
               list(seq ORDER BY seq)[1:{MAX_LOAN_SEQS}]
        FROM (SELECT json_extract_string(metadata, ?) AS loan, kind, outcome, route_id, person,
                     recorded_at_us, seq
              FROM records WHERE {scope.where} AND kind IN ('decision', 'response'))
        WHERE loan IS NOT NULL
        GROUP BY loan ORDER BY loan""", [path, *scope.params])
    qn, nol = run("records without a loan reference", f"""
        SELECT count(*) FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
          AND json_extract_string(metadata, ?) IS NULL""", [*scope.params, path])
    loan_rows = [{"loan": r[0], "records": _int(r[1]), "decisions": _int(r[2]), "allow": _int(r[3]),
                  "redact": _int(r[4]), "block": _int(r[5]), "responses": _int(r[6]), "forwarded": _int(r[7]),
                  "routes": [x for x in (r[8] or []) if x is not None],
                  "people": [x for x in (r[9] or []) if x is not None],
                  "first_at": iso_us(r[10]), "last_at": iso_us(r[11]), "seq_first": r[12], "seq_last": r[13],
                  "seqs": list(r[14] or []), "seqs_truncated": _int(r[1]) > MAX_LOAN_SEQS} for r in loans]
    loans_f = {"q": ql, "q_without": qn, "field": context.loan_field, "loans": len(loan_rows),
               "records_with_loan": sum(r["records"] for r in loan_rows), "records_without_loan": _int(nol[0][0]),
               "rows": loan_rows}

    run.step("done")
    return {
        "kind": "ll-2026-04", "schema": 1,
        "title": "AI governance report (Fannie Mae LL-2026-04)",
        "header": {**_header(context, at, scope), "letter": LL_TITLE, "letter_issued": LL_ISSUED.isoformat(),
                   "letter_effective": LL_EFFECTIVE.isoformat(),
                   "scope_statement": ("This report supports the lender's disclosure of AI use and post-closing "
                                       "quality control (Selling Guide A2-4.1-01, D1-3-01). It lists what the "
                                       "ledger recorded; it does not certify compliance with the letter and "
                                       "claims nothing beyond the records listed.")},
        "coverage": {**coverage, "integrity": _normalise_integrity(integrity)},
        "inventory": {"q": qi, "q_models": models["q"], "rows": inventory, "unused_routes": unused},
        "safeguards": safeguards,
        "vendors": {"q": qv, "rows": vendors},
        "security": security,
        "loans": loans_f,
        "queries": run.queries,
    }
