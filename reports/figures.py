"""Figures both reports share: coverage, time buckets, outcome matrix, categories, versions, checkpoints.

Each function runs its footnoted queries through a :class:`~.base.Runner` and
returns plain JSON-able facts carrying the query id (``q``) and seq ranges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .base import US_PER_DAY, Period, Runner, Scope, as_int, day_number, day_of, iso_us, jsonable
from .context import ReportContext

DECISION_OUTCOMES = ("allow", "redact", "block")
RESPONSE_OUTCOMES = ("forwarded", "refused-policy", "refused-timeout",
                     "refused-unavailable", "upstream-error")
# refused before any upstream was chosen (engineer audit's outcomes): no model was used
GATE_OUTCOMES = ("refused-auth", "refused-forbidden", "refused-invalid", "refused-suspended")
USED_AI = f"coalesce(outcome, '') NOT IN ({', '.join(repr(o) for o in GATE_OUTCOMES)})"
MAX_CHECKPOINTS_LISTED = 1000
_MAXSEQ = 9223372036854775807


# --------------------------------------------------------------------------- time buckets

def bucket(period: Period) -> tuple[str, str]:
    """Time bucket unit and its SQL key over ``recorded_at_us`` (integer math: no time zone)."""
    if period.days <= 62:
        return "day", f"recorded_at_us // {US_PER_DAY}"
    if period.days <= 731:
        # ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday
        return "week", f"(recorded_at_us // {US_PER_DAY} + 3) // 7"
    return "month", ("year(make_timestamp(recorded_at_us)) * 12 + month(make_timestamp(recorded_at_us)) - 1")


def bucket_start(unit: str, key: int) -> dt.date:
    if unit == "day":
        return day_of(key)
    if unit == "week":
        return day_of(key * 7 - 3)
    return dt.date(key // 12, key % 12 + 1, 1)


def bucket_keys(unit: str, period: Period) -> list[int]:
    """Every bucket of the period, so a quiet day shows as zero rather than missing."""
    a, b = day_number(period.start), day_number(period.end)
    if unit == "day":
        return list(range(a, b + 1))
    if unit == "week":
        return list(range((a + 3) // 7, (b + 3) // 7 + 1))
    s, e = period.start, period.end
    return list(range(s.year * 12 + s.month - 1, e.year * 12 + e.month))


class TimelineRow(NamedTuple):
    bucket: int
    decisions: int
    allow: int
    redact: int
    block: int
    responses: int
    refused_or_failed: int
    records: int
    seq_first: int | None
    seq_last: int | None


_ZERO_TIMELINE = {"decisions": 0, "allow": 0, "redact": 0, "block": 0, "responses": 0,
                  "refused_or_failed": 0, "records": 0, "seq_first": None, "seq_last": None}


def timeline(run: Runner, scope: Scope) -> dict[str, Any]:
    unit, key = bucket(scope.period)
    qid, rows = run.rows(TimelineRow, "volume and outcomes over time", f"""
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
    by = {int(r.bucket): r for r in rows}
    out = []
    for k in bucket_keys(unit, scope.period):
        r = by.get(k)
        vals = ({f: (as_int(getattr(r, f)) if f not in ("seq_first", "seq_last") else getattr(r, f))
                 for f in _ZERO_TIMELINE} if r else dict(_ZERO_TIMELINE))
        out.append({"bucket": bucket_start(unit, k).isoformat(), **vals})
    return {"q": qid, "unit": unit, "buckets": out}


# --------------------------------------------------------------------------- outcomes

class MatrixRow(NamedTuple):
    route_id: str | None
    kind: str
    mode: str | None
    outcome: str | None
    records: int
    seq_first: int | None
    seq_last: int | None


def outcome_matrix(run: Runner, scope: Scope) -> tuple[str, list[dict[str, Any]]]:
    """Records by route, kind, mode and outcome: the base of most outcome figures."""
    qid, rows = run.rows(MatrixRow, "records by route, kind, mode and outcome", f"""
        SELECT route_id, kind, mode, outcome, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
        GROUP BY route_id, kind, mode, outcome
        ORDER BY route_id NULLS LAST, kind, mode NULLS LAST, outcome NULLS LAST""", scope.params)
    return qid, [{**r._asdict(), "records": as_int(r.records)} for r in rows]


def seq_span(rows: Iterable[Mapping[str, Any]]) -> tuple[int | None, int | None]:
    rows = list(rows)
    firsts = [r["seq_first"] for r in rows if r.get("seq_first") is not None]
    lasts = [r["seq_last"] for r in rows if r.get("seq_last") is not None]
    return (min(firsts) if firsts else None), (max(lasts) if lasts else None)


def total(rows: Iterable[Mapping[str, Any]], **where: Any) -> dict[str, Any]:
    """Total of matrix rows matching ``where``, with the seq range they span."""
    sel = [r for r in rows if all(r[k] == v for k, v in where.items())]
    first, last = seq_span(sel)
    return {"records": sum(r["records"] for r in sel), "seq_first": first, "seq_last": last}


def by_route(matrix: list[dict[str, Any]], routes: Iterable[str | None]) -> list[dict[str, Any]]:
    out = []
    for route in routes:
        row: dict[str, Any] = {"route_id": route}
        for o in DECISION_OUTCOMES:
            row[o] = total(matrix, route_id=route, kind="decision", outcome=o)["records"]
        for o in RESPONSE_OUTCOMES:
            row[o] = total(matrix, route_id=route, kind="response", outcome=o)["records"]
        d = total(matrix, route_id=route, kind="decision")
        r = total(matrix, route_id=route, kind="response")
        first, last = seq_span([d, r])
        row.update(decisions=d["records"], responses=r["records"], seq_first=first, seq_last=last)
        out.append(row)
    return out


class CategoryRow(NamedTuple):
    route_id: str | None
    category: str
    decisions: int
    allow: int
    redact: int
    block: int
    observed_block: int
    seq_first: int | None
    seq_last: int | None


def categories(run: Runner, scope: Scope) -> tuple[str, list[dict[str, Any]]]:
    qid, rows = run.rows(CategoryRow, "decisions by route and detected category", f"""
        SELECT route_id, category, count(*),
               count(*) FILTER (WHERE outcome = 'allow'),
               count(*) FILTER (WHERE outcome = 'redact'),
               count(*) FILTER (WHERE outcome = 'block'),
               count(*) FILTER (WHERE outcome = 'block' AND mode = 'observe'),
               min(seq), max(seq)
        FROM (SELECT route_id, outcome, mode, seq, unnest(categories) AS category
              FROM records WHERE {scope.where} AND kind = 'decision')
        GROUP BY route_id, category ORDER BY route_id NULLS LAST, category""", scope.params)
    counts = ("decisions", "allow", "redact", "block", "observed_block")
    return qid, [{**r._asdict(), **{c: as_int(getattr(r, c)) for c in counts}} for r in rows]


def category_total(rows: list[dict[str, Any]], category: str) -> dict[str, Any]:
    sel = [r for r in rows if r["category"] == category]
    first, last = seq_span(sel)
    sums = {k: sum(r[k] for r in sel) for k in ("decisions", "block", "redact", "allow", "observed_block")}
    return {"category": category, **sums,
            "by_route": [{k: r[k] for k in ("route_id", "decisions", "block", "redact", "allow")} for r in sel],
            "seq_first": first, "seq_last": last}


# --------------------------------------------------------------------------- versions

class VersionRow(NamedTuple):
    policy_id: str
    version: int
    hash: str
    records: int
    seq_first: int
    seq_last: int
    first_us: int
    last_us: int


def _changes(rows: list[dict[str, Any]], key: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Consecutive distinct versions per ``key``: each change and the first seq after it."""
    out = []
    for k in sorted({r[key] for r in rows if r[key] is not None}):
        seen = [r for r in rows if r[key] == k]
        for before, after in zip(seen, seen[1:], strict=False):
            out.append({key: k, **{f"from_{f}": before[f] for f in fields},
                        **{f"to_{f}": after[f] for f in fields},
                        "first_seq_after": after["seq_first"], "at": after["first_at"]})
    return out


def policy_versions(run: Runner, scope: Scope, ctx: ReportContext) -> dict[str, Any]:
    qid, rows = run.rows(VersionRow, "policy bundle versions recorded with decisions", f"""
        SELECT policy_id, policy_version, policy_hash, count(*), min(seq), max(seq),
               min(recorded_at_us), max(recorded_at_us)
        FROM records WHERE {scope.where} AND policy_id IS NOT NULL
        GROUP BY policy_id, policy_version, policy_hash
        ORDER BY policy_id, min(seq)""", scope.params)
    versions = [{"policy_id": r.policy_id, "version": r.version, "hash": r.hash, "records": as_int(r.records),
                 "seq_first": r.seq_first, "seq_last": r.seq_last, "first_at": iso_us(r.first_us),
                 "last_at": iso_us(r.last_us)} for r in rows]
    configured = []
    for b in ctx.bundles:
        recorded = [v for v in versions if v["policy_id"] == b.id]
        configured.append({**b.facts(), "recorded_in_period": bool(recorded),
                           "matches_latest_recorded": (recorded[-1]["hash"] == b.content_hash) if recorded else None})
    return {"q": qid, "recorded": versions, "changes": _changes(versions, "policy_id", ("version", "hash")),
            "configured": configured}


class ModelRow(NamedTuple):
    route_id: str | None
    upstream_id: str | None
    model: str | None
    records: int
    seq_first: int
    seq_last: int
    first_us: int
    last_us: int


def model_versions(run: Runner, scope: Scope) -> dict[str, Any]:
    qid, rows = run.rows(ModelRow, "upstreams and models per route", f"""
        SELECT route_id, upstream_id, model, count(*), min(seq), max(seq),
               min(recorded_at_us), max(recorded_at_us)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response')
          AND {USED_AI}
        GROUP BY route_id, upstream_id, model
        ORDER BY route_id NULLS LAST, min(seq)""", scope.params)
    used = [{"route_id": r.route_id, "upstream_id": r.upstream_id, "model": r.model, "records": as_int(r.records),
             "seq_first": r.seq_first, "seq_last": r.seq_last, "first_at": iso_us(r.first_us),
             "last_at": iso_us(r.last_us)} for r in rows]
    changes = [{"route_id": c["route_id"], "from_upstream": c["from_upstream_id"], "from_model": c["from_model"],
                "to_upstream": c["to_upstream_id"], "to_model": c["to_model"],
                "first_seq_after": c["first_seq_after"], "at": c["at"]}
               for c in _changes(used, "route_id", ("upstream_id", "model"))]
    return {"q": qid, "used": used, "changes": changes}


# --------------------------------------------------------------------------- integrity and coverage

class CheckpointRow(NamedTuple):
    tree_size: int
    root_hash: Any
    at_us: int
    key_id: str


def _checkpoint(r: CheckpointRow) -> dict[str, Any]:
    return {"tree_size": as_int(r.tree_size), "root_hash": jsonable(r.root_hash), "at": iso_us(r.at_us),
            "key_id": r.key_id}


def checkpoints(run: Runner, tables: set[str], seq_first: int | None, seq_last: int | None) -> dict[str, Any]:
    if "checkpoints" not in tables or seq_first is None:
        return {"q": None, "q_count": None, "q_latest": None, "count": 0, "listed": [], "truncated": False,
                "covering": None, "latest": None, "anchored": False}
    # A checkpoint of tree_size n commits to seqs 0..n-1: the period's records are
    # anchored by the first checkpoint with n > seq_last.
    between = f"""tree_size > ? AND tree_size <= coalesce(
            (SELECT min(tree_size) FROM checkpoints WHERE tree_size > ?), {_MAXSEQ})"""
    qid, rows = run.rows(CheckpointRow, "signed checkpoints covering the period's records", f"""
        SELECT tree_size, root_hash, at_us, key_id FROM checkpoints WHERE {between}
        ORDER BY tree_size LIMIT {MAX_CHECKPOINTS_LISTED + 1}""", [seq_first, seq_last])
    listed = [_checkpoint(r) for r in rows]
    qid2, cnt = run("number of checkpoints in the period's range",
                    f"SELECT count(*) FROM checkpoints WHERE {between}", [seq_first, seq_last])
    qid3, latest = run.rows(CheckpointRow, "latest signed checkpoint", """
        SELECT tree_size, root_hash, at_us, key_id FROM checkpoints ORDER BY tree_size DESC LIMIT 1""")
    covering = next((c for c in listed if c["tree_size"] > seq_last), None)
    return {"q": qid, "q_count": qid2, "q_latest": qid3, "count": as_int(cnt[0][0]),
            "listed": listed[:MAX_CHECKPOINTS_LISTED], "truncated": len(listed) > MAX_CHECKPOINTS_LISTED,
            "covering": covering, "anchored": covering is not None,
            "latest": _checkpoint(latest[0]) if latest else None}


class CoverageRow(NamedTuple):
    records: int
    seq_first: int | None
    seq_last: int | None
    first_us: int | None
    last_us: int | None
    requests: int


class KindRow(NamedTuple):
    kind: str
    records: int
    seq_first: int
    seq_last: int


def coverage(run: Runner, scope: Scope) -> dict[str, Any]:
    qid, rows = run.rows(CoverageRow, "records in the period", f"""
        SELECT count(*), min(seq), max(seq), min(recorded_at_us), max(recorded_at_us),
               count(DISTINCT request_id)
        FROM records WHERE {scope.where}""", scope.params)
    r = rows[0]
    qk, kinds = run.rows(KindRow, "records by kind", f"""
        SELECT kind, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY kind ORDER BY kind""", scope.params)
    return {"q": qid, "records": as_int(r.records), "seq_first": r.seq_first, "seq_last": r.seq_last,
            "first_at": iso_us(r.first_us), "last_at": iso_us(r.last_us), "requests": as_int(r.requests),
            "q_kinds": qk, "by_kind": [{**k._asdict(), "records": as_int(k.records)} for k in kinds]}


def header(ctx: ReportContext, now: dt.datetime, scope: Scope) -> dict[str, Any]:
    return {"provider": ctx.provider, "deployer": ctx.deployer, "regime": ctx.regime,
            "application_date": ctx.application_date.isoformat(), "application_note": ctx.application_note,
            "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "ledger_id": ctx.ledger_id,
            "ledgergate_version": ctx.version, **scope.facts()}


def no_activity(scope: Scope, held: int) -> dict[str, Any]:
    """The attestation of a period without records (the report is still generated and signed)."""
    who = "".join([f" for tenant {scope.tenant!r}" if scope.tenant else "",
                   f" on route {scope.route!r}" if scope.route else ""])
    return {"empty": True, "statement": (
        f"No activity: the ledger holds no records{who} between {scope.period.start.isoformat()} and "
        f"{scope.period.end.isoformat()} (UTC, inclusive). The ledger held {held} records in all when this "
        "report was generated; its integrity result below covers them.")}
