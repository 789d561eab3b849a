"""The Article 12 (Regulation (EU) 2024/1689) record-keeping report: gathering its facts.

One function per section; :func:`gather_article12` runs them in order. A
period without records still yields a report: it attests "no activity" and
carries the integrity result, and the caller signs it into the ledger like
any other report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import figures as fig
from . import governance as gov
from .base import (
    US_PER_DAY,
    Period,
    Progress,
    Query,
    Runner,
    Scope,
    as_int,
    as_num,
    check_period,
    check_scope,
    iso_us,
    jsonable,
    tables,
    us_of,
    utc_now,
)
from .context import ReportContext
from .integrity import normalise_integrity

# Gaps longer than this between refused-unavailable responses start a new outage.
OUTAGE_GAP_US = 5 * 60 * 1_000_000
MAX_OUTAGES = 200
# Art. 19(1) / 26(6): logs are kept "for a period ... of at least six months".
SIX_MONTHS_DAYS = 183


class SourceRow(NamedTuple):
    source: str | None
    records: int
    seq_first: int
    seq_last: int


def _recording(run: Runner, scope: Scope, coverage: dict[str, Any], timeline: dict[str, Any],
               columns: set[str]) -> dict[str, Any]:
    qs, sources = run.rows(SourceRow, "records by source", f"""
        SELECT source, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY source ORDER BY source NULLS LAST""", scope.params)
    qp, pairing = run("requests with a decision but no response, and the reverse", f"""
        SELECT count(*) FILTER (WHERE d AND NOT r), count(*) FILTER (WHERE r AND NOT d)
        FROM (SELECT request_id, bool_or(kind = 'decision') AS d, bool_or(kind = 'response') AS r
              FROM records WHERE {scope.where} AND request_id IS NOT NULL
              GROUP BY request_id)""", scope.params)
    return {"provision": "Art. 12(1)",
            "by_kind": coverage["by_kind"], "q_kinds": coverage["q_kinds"],
            "by_source": {"q": qs, "rows": [{**r._asdict(), "records": as_int(r.records)} for r in sources]},
            "requests": coverage["requests"], "q_requests": coverage["q"],
            "pairing": {"q": qp, "decision_without_response": as_int(pairing[0][0]),
                        "response_without_decision": as_int(pairing[0][1])},
            "gate_refusals": gov.gate_refusals(run, scope, columns),
            "timeline": timeline}


class BlockRow(NamedTuple):
    rule_id: str | None
    route_id: str | None
    mode: str | None
    records: int
    seq_first: int
    seq_last: int


def _risk(run: Runner, scope: Scope, matrix_q: str, matrix: list[dict[str, Any]], cat_q: str,
          cats: list[dict[str, Any]], policies: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
    qb, blocks = run.rows(BlockRow, "blocked decisions by rule and route", f"""
        SELECT rule_id, route_id, mode, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'decision' AND outcome = 'block'
        GROUP BY rule_id, route_id, mode ORDER BY count(*) DESC, rule_id, route_id""", scope.params)
    return {
        "provision": "Art. 12(2)(a)",
        "q_matrix": matrix_q, "q_categories": cat_q, "q_blocks": qb,
        "blocks": {**fig.total(matrix, kind="decision", outcome="block"),
                   "observed_only": fig.total(matrix, kind="decision", outcome="block", mode="observe")["records"],
                   "by_rule": [{**r._asdict(), "records": as_int(r.records)} for r in blocks]},
        "refusals": [{"outcome": o, **fig.total(matrix, kind="response", outcome=o)}
                     for o in fig.RESPONSE_OUTCOMES if o != "forwarded"],
        "injection": fig.category_total(cats, "PROMPT_INJECTION"),
        "secrets": fig.category_total(cats, "SECRET"),
        "phi": fig.category_total(cats, "PHI"),
        "policy_changes": policies["changes"], "q_policies": policies["q"],
        "model_changes": models["changes"], "q_models": models["q"],
    }


class PerfRow(NamedTuple):
    route_id: str | None
    responses: int
    prompt_tokens: int | None
    completion_tokens: int | None
    total_tokens: int | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    hold_p50_ms: float | None
    hold_p95_ms: float | None
    hold_max_ms: float | None


def _perf(run: Runner, scope: Scope) -> tuple[str, dict[str | None, PerfRow]]:
    qr, perf = run.rows(PerfRow, "response volumes, tokens, latency and hold time by route", f"""
        SELECT route_id, count(*), sum(prompt_tokens), sum(completion_tokens), sum(total_tokens),
               quantile_cont(latency_ms, 0.5), quantile_cont(latency_ms, 0.95),
               quantile_cont(hold_ms, 0.5), quantile_cont(hold_ms, 0.95), max(hold_ms)
        FROM records WHERE {scope.where} AND kind = 'response'
        GROUP BY route_id ORDER BY route_id NULLS LAST""", scope.params)
    return qr, {r.route_id: r for r in perf}


def _monitoring(run: Runner, scope: Scope, matrix_q: str, matrix: list[dict[str, Any]], cat_q: str,
                cats: list[dict[str, Any]], timeline: dict[str, Any]) -> dict[str, Any]:
    qr, perf_by = _perf(run, scope)
    route_ids = sorted({m["route_id"] for m in matrix}, key=lambda x: (x is None, x or ""))
    rows = fig.by_route(matrix, route_ids)
    for row in rows:
        p = perf_by.get(row["route_id"])
        row.update({k: as_int(getattr(p, k)) if p else 0 for k in ("prompt_tokens", "completion_tokens",
                                                                    "total_tokens")})
        row.update({k: as_num(getattr(p, k)) if p else None for k in (
            "latency_p50_ms", "latency_p95_ms", "hold_p50_ms", "hold_p95_ms", "hold_max_ms")})
    unit, key = fig.bucket(scope.period)
    qc, cat_time = run("detected categories over time", f"""
        SELECT {key} AS bucket, category, count(*)
        FROM (SELECT recorded_at_us, unnest(categories) AS category
              FROM records WHERE {scope.where} AND kind = 'decision')
        GROUP BY bucket, category ORDER BY bucket, category""", scope.params)
    return {
        "provision": "Art. 12(2)(b), Art. 72",
        "q_matrix": matrix_q, "q_perf": qr, "q_categories": cat_q,
        "by_route": rows, "categories_by_route": cats, "timeline": timeline,
        "categories_over_time": {"q": qc, "unit": unit,
                                 "rows": [{"bucket": fig.bucket_start(unit, int(b)).isoformat(),
                                           "category": c, "decisions": as_int(n)} for b, c, n in cat_time]},
        "matrix": matrix,
    }


class OutageRow(NamedTuple):
    episode: int
    records: int
    from_us: int
    to_us: int
    seq_first: int
    seq_last: int


def _outages(run: Runner, scope: Scope) -> dict[str, Any]:
    qo, outages = run.rows(OutageRow, "broker outages: runs of refused-unavailable responses", f"""
        WITH u AS (SELECT seq, recorded_at_us AS us FROM records
                   WHERE {scope.where} AND kind = 'response' AND outcome = 'refused-unavailable'),
             g AS (SELECT *, CASE WHEN us - lag(us) OVER (ORDER BY us, seq) <= {OUTAGE_GAP_US}
                                  THEN 0 ELSE 1 END AS brk FROM u),
             e AS (SELECT *, sum(brk) OVER (ORDER BY us, seq ROWS UNBOUNDED PRECEDING) AS episode FROM g)
        SELECT episode, count(*), min(us), max(us), min(seq), max(seq)
        FROM e GROUP BY episode ORDER BY episode""", scope.params)
    return {"q": qo, "gap_seconds": OUTAGE_GAP_US // 1_000_000, "count": len(outages),
            "episodes": [{"records": as_int(r.records), "from": iso_us(r.from_us), "to": iso_us(r.to_us),
                          "seq_first": r.seq_first, "seq_last": r.seq_last} for r in outages[:MAX_OUTAGES]],
            "truncated": len(outages) > MAX_OUTAGES}


def _operation(run: Runner, scope: Scope, matrix_q: str, matrix: list[dict[str, Any]],
               perf_q: str) -> dict[str, Any]:
    route_ids = sorted({m["route_id"] for m in matrix}, key=lambda x: (x is None, x or ""))

    def per_route(outcome: str) -> dict[str, Any]:
        return {**fig.total(matrix, kind="response", outcome=outcome),
                "by_route": [{"route_id": r, **fig.total(matrix, route_id=r, kind="response", outcome=outcome)}
                             for r in route_ids]}

    return {
        "provision": "Art. 12(2)(c), Art. 14, Art. 26(5)",
        "q_matrix": matrix_q, "q_perf": perf_q,
        "hold_timeouts": per_route("refused-timeout"),
        "unavailable": fig.total(matrix, kind="response", outcome="refused-unavailable"),
        "upstream_errors": per_route("upstream-error"),
        "outages": _outages(run, scope),
        "oversight": gov.human_oversight(run, scope),
    }


class PersonRow(NamedTuple):
    tenant: str | None
    person: str | None
    route_id: str | None
    decisions: int
    allow: int
    redact: int
    block: int
    responses: int
    forwarded: int
    refused: int
    upstream_error: int
    first_us: int | None
    last_us: int | None
    seq_first: int
    seq_last: int


def _attribution(run: Runner, scope: Scope) -> dict[str, Any]:
    qa, people = run.rows(PersonRow, "per-person use of each route and outcomes", f"""
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
    counts = ("decisions", "allow", "redact", "block", "responses", "forwarded", "refused", "upstream_error")
    return {"provision": "Art. 12(2)(c), Art. 26(5)", "q": qa, "people": len({(r.tenant, r.person) for r in people}),
            "rows": [{"tenant": r.tenant, "person": r.person, "route_id": r.route_id,
                      **{c: as_int(getattr(r, c)) for c in counts},
                      "first_at": iso_us(r.first_us), "last_at": iso_us(r.last_us),
                      "seq_first": r.seq_first, "seq_last": r.seq_last} for r in people]}


class SpanRow(NamedTuple):
    records: int
    seq_first: int | None
    seq_last: int | None
    oldest_us: int | None
    newest_us: int | None


def _retention(run: Runner, tabs: set[str], ctx: ReportContext, at: dt.datetime) -> dict[str, Any]:
    qid, span = run.rows(SpanRow, "whole ledger: oldest and newest record", """
        SELECT count(*), min(seq), max(seq), min(recorded_at_us), max(recorded_at_us) FROM records""")
    s = span[0]
    out: dict[str, Any] = {
        "provision": "Art. 19(1), Art. 26(6)",
        "minimum_days": SIX_MONTHS_DAYS, "retention_days": ctx.retention_days,
        "meets_minimum": ctx.retention_days >= SIX_MONTHS_DAYS,
        "q": qid, "ledger_records": as_int(s.records), "ledger_seq_first": s.seq_first, "ledger_seq_last": s.seq_last,
        "oldest_at": iso_us(s.oldest_us), "newest_at": iso_us(s.newest_us),
        "oldest_age_days": ((us_of(at) - s.oldest_us) // US_PER_DAY) if s.oldest_us is not None else None,
        "pruned": [], "q_pruned": None, "legal_holds": {"q": None, "columns": [], "rows": []},
        "legal_holds_configured": list(ctx.legal_holds),
    }
    if "pruned" in tabs:
        qp, rows = run("pruned record ranges",
                       "SELECT from_seq, to_seq, pruned_at_us, reason FROM pruned ORDER BY from_seq")
        out["q_pruned"] = qp
        out["pruned"] = [{"from_seq": a, "to_seq": b, "records": as_int(b) - as_int(a) + 1,
                          "pruned_at": iso_us(t), "reason": why} for a, b, t, why in rows]
    if "legal_holds" in tabs:
        # The legal_holds layout belongs to the ledger; report whatever columns it has.
        cols = [r[0] for r in run.raw("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'legal_holds' ORDER BY ordinal_position")]
        qh, rows = run("legal holds recorded in the ledger", "SELECT * FROM legal_holds")
        # µs columns (from_us, to_us, created_at_us) are shown as UTC times
        out["legal_holds"] = {"q": qh, "columns": [c.removesuffix("_us") for c in cols],
                              "rows": [[iso_us(v) if c.endswith("_us") and isinstance(v, int) else jsonable(v)
                                        for c, v in zip(cols, r, strict=True)] for r in rows]}
    return out


def _integrity_appendix(run: Runner, tabs: set[str], scope: Scope, checkpoints: Mapping[str, Any],
                        integrity: Mapping[str, Any]) -> dict[str, Any]:
    keys: list[dict[str, Any]] = []
    qk = None
    if "keys" in tabs:
        qk, rows = run("key manifest", "SELECT key_id, public_key, added_at_us FROM keys ORDER BY added_at_us, key_id")
        keys = [{"key_id": k, "public_key": jsonable(pk), "added_at": iso_us(t)} for k, pk, t in rows]
    qs, signed = run("records in the period by signing key", f"""
        SELECT key_id, count(*), min(seq), max(seq) FROM records WHERE {scope.where}
        GROUP BY key_id ORDER BY min(seq)""", scope.params)
    return {
        "provision": "Art. 12(1), Art. 19(1)",
        "method": {"signature": "Ed25519 (RFC 8032) over the canonical Avro single-object-encoded bytes of each record",
                   "tree": ("RFC 9162 Merkle tree: leaf = SHA-256(0x00 || record bytes), "
                            "node = SHA-256(0x01 || left || right)"),
                   "checkpoints": "signed tree heads (tree size, root hash, time, key id), each also Ed25519-signed"},
        "establishes": integrity["establishes"],
        "q_keys": qk, "keys": keys,
        "q_signed": qs, "signed_by": [{"key_id": k, "records": as_int(n), "seq_first": a, "seq_last": b}
                                      for k, n, a, b in signed],
        "latest_checkpoint": checkpoints.get("latest"), "q_latest": checkpoints.get("q_latest"),
        "reverify": "ledgergate verify --bundle BUNDLE",
    }


def _identity(context: ReportContext, route: str | None, policies: dict[str, Any],
              models: dict[str, Any]) -> dict[str, Any]:
    routes = []
    for r in context.routes:
        if route is None or r.id == route:
            up = context.upstream(r.upstream)
            routes.append({**r.facts(), "vendor": up.vendor if up else ""})
    return {
        "provision": "Art. 12(1); Art. 6(2), Annex III; Annex IV(1)",
        "provider": context.provider, "deployer": context.deployer,
        "routes": routes,
        "annex_iii_unassessed": [r["id"] for r in routes if not r["annex_iii"]],
        "upstreams": [u.facts() for u in context.upstreams],
        "ledgergate_version": context.version,
        "policy_bundles": policies["configured"],
        "policy_versions_recorded": policies["recorded"], "q_policies": policies["q"],
        "models_recorded": models["used"], "q_models": models["q"],
    }


def _columns(run: Runner) -> set[str]:
    return {str(r[0]) for r in run.raw(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'records'")}


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
    unknown tenant or route; a period without records gives a "no activity" report.
    """
    scope = Scope(check_period(period), tenant, route)
    at = utc_now(now)
    run = Runner(q, progress, steps=26)
    run.step("checking scope")
    in_scope = check_scope(run, context.tenants, [r.id for r in context.routes], scope)
    tabs = tables(run)
    checked = normalise_integrity(integrity)
    coverage = fig.coverage(run, scope)
    checkpoints = fig.checkpoints(run, tabs, coverage["seq_first"], coverage["seq_last"])
    matrix_q, matrix = fig.outcome_matrix(run, scope)
    cat_q, cats = fig.categories(run, scope)
    timeline = fig.timeline(run, scope)
    policies = fig.policy_versions(run, scope, context)
    models = fig.model_versions(run, scope)
    monitoring = _monitoring(run, scope, matrix_q, matrix, cat_q, cats, timeline)
    facts = {
        "kind": "article12", "schema": 2, "title": "Record-keeping report (Article 12)",
        "header": fig.header(context, at, scope),
        "activity": (fig.no_activity(scope, as_int(run.raw("SELECT count(*) FROM records")[0][0]))
                     if not in_scope else {"empty": False, "statement": ""}),
        "identity": _identity(context, route, policies, models),
        "coverage": {"provision": "Art. 12(1), Art. 19(1)", **coverage, "checkpoints": checkpoints,
                     "integrity": checked},
        "recording": _recording(run, scope, coverage, timeline, _columns(run)),
        "risk": _risk(run, scope, matrix_q, matrix, cat_q, cats, policies, models),
        "monitoring": monitoring,
        "operation": _operation(run, scope, matrix_q, matrix, monitoring["q_perf"]),
        "attribution": _attribution(run, scope),
        "retention": _retention(run, tabs, context, at),
        "integrity": _integrity_appendix(run, tabs, scope, checkpoints, checked),
    }
    run.step("done")
    return {**facts, "queries": run.queries}
