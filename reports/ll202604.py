"""The Fannie Mae LL-2026-04 AI governance report: gathering its facts.

Supports disclosure and post-closing QC: an inventory of AI uses, the
safeguards in force and their review dates, vendor AI, security detections
with their triage and (for incidents) the 36-hour notification clock, and
per-loan usage records keyed by the request metadata field ``context.loan_field``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import figures as fig
from . import governance as gov
from .base import Period, Progress, Query, Runner, Scope, as_int, check_period, check_scope, iso_us, us_of, utc_now
from .context import ReportContext
from .integrity import normalise_integrity

# LL-2026-04: safeguards are reviewed at least annually.
REVIEW_WINDOW_DAYS = 365
MAX_LOAN_SEQS = 20
LL_TITLE = 'Fannie Mae Lender Letter LL-2026-04, "Governance Framework for AI and Machine Learning Use"'
LL_ISSUED = dt.date(2026, 4, 8)
LL_EFFECTIVE = dt.date(2026, 8, 6)


class UseRow(NamedTuple):
    route_id: str | None
    upstream_id: str | None
    decisions: int
    responses: int
    requests: int
    people: int
    first_us: int
    last_us: int
    seq_first: int
    seq_last: int


def _inventory(run: Runner, scope: Scope, context: ReportContext, models: dict[str, Any]) -> dict[str, Any]:
    qi, inv = run.rows(UseRow, "AI use by route and upstream", f"""
        SELECT route_id, upstream_id,
               count(*) FILTER (WHERE kind = 'decision'), count(*) FILTER (WHERE kind = 'response'),
               count(DISTINCT request_id), count(DISTINCT person),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind IN ('decision', 'response') AND {fig.USED_AI}
        GROUP BY route_id, upstream_id ORDER BY route_id NULLS LAST, upstream_id NULLS LAST""", scope.params)
    rows = []
    for r in inv:
        cfg = context.route(r.route_id) if r.route_id else None
        up = context.upstream(r.upstream_id) if r.upstream_id else None
        rows.append({
            "route_id": r.route_id, "purpose": cfg.purpose if cfg else "", "mode": cfg.mode if cfg else None,
            "policy": cfg.policy if cfg else None, "configured": cfg is not None,
            "upstream_id": r.upstream_id, "vendor": up.vendor if up else "",
            "models": sorted({m["model"] for m in models["used"] if m["route_id"] == r.route_id
                              and m["upstream_id"] == r.upstream_id and m["model"]}),
            **{k: as_int(getattr(r, k)) for k in ("decisions", "responses", "requests", "people")},
            "first_at": iso_us(r.first_us), "last_at": iso_us(r.last_us),
            "seq_first": r.seq_first, "seq_last": r.seq_last})
    seen = {r["route_id"] for r in rows}
    unused = [rc.facts() for rc in context.routes
              if rc.id not in seen and (scope.route is None or rc.id == scope.route)]
    return {"q": qi, "q_models": models["q"], "rows": rows, "unused_routes": unused}


def _safeguards(policies: dict[str, Any], context: ReportContext, as_of: dt.date) -> dict[str, Any]:
    bundles = []
    for b in policies["configured"]:
        reviewed = dt.date.fromisoformat(b["reviewed"]) if b["reviewed"] else None
        age = (as_of - reviewed).days if reviewed else None
        overdue = age is None or age > REVIEW_WINDOW_DAYS
        bundles.append({**b, "review_age_days": age, "review_overdue": overdue,
                        "routes": [r.id for r in context.routes if r.policy == b["id"]],
                        "flag": ("no review date recorded" if reviewed is None else
                                 f"last reviewed {age} days before the report date (more than 12 months)"
                                 if overdue else "")})
    return {"as_of": as_of.isoformat(), "review_window_days": REVIEW_WINDOW_DAYS,
            "bundles": bundles, "overdue": sum(1 for b in bundles if b["review_overdue"]),
            "recorded": policies["recorded"], "q_policies": policies["q"]}


class AppliedRow(NamedTuple):
    upstream_id: str | None
    policy_id: str | None
    version: int | None
    hash: str | None
    decisions: int
    seq_first: int
    seq_last: int


def _vendors(run: Runner, scope: Scope, context: ReportContext, inventory: list[dict[str, Any]]) -> dict[str, Any]:
    qv, vp = run.rows(AppliedRow, "policies applied to each upstream", f"""
        SELECT upstream_id, policy_id, policy_version, policy_hash, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'decision'
        GROUP BY upstream_id, policy_id, policy_version, policy_hash
        ORDER BY upstream_id NULLS LAST, policy_id NULLS LAST, min(seq)""", scope.params)
    route = scope.route
    ups = sorted({i["upstream_id"] for i in inventory if i["upstream_id"]} |
                 {u.id for u in context.upstreams if route is None or
                  any(r.upstream == u.id for r in context.routes if r.id == route)})
    vendors = []
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
            "policies_applied": [{"policy_id": p.policy_id, "version": p.version, "hash": p.hash,
                                  "decisions": as_int(p.decisions), "seq_first": p.seq_first,
                                  "seq_last": p.seq_last} for p in vp if p.upstream_id == uid]})
    return {"q": qv, "rows": vendors}


class SecurityRow(NamedTuple):
    events: int
    injection: int
    injection_blocked: int
    secrets: int
    secrets_blocked: int
    first_us: int | None
    last_us: int | None
    seq_first: int | None
    seq_last: int | None


def _security(run: Runner, scope: Scope, at: dt.datetime) -> dict[str, Any]:
    qt, tot = run.rows(SecurityRow, "security detections: prompt injection and secrets", f"""
        SELECT count(*),
               count(*) FILTER (WHERE list_contains(categories, 'PROMPT_INJECTION')),
               count(*) FILTER (WHERE list_contains(categories, 'PROMPT_INJECTION') AND outcome = 'block'),
               count(*) FILTER (WHERE list_contains(categories, 'SECRET')),
               count(*) FILTER (WHERE list_contains(categories, 'SECRET') AND outcome = 'block'),
               min(recorded_at_us), max(recorded_at_us), min(seq), max(seq)
        FROM records WHERE {gov.security_where(scope)}""", scope.params)
    t = tot[0]
    return {"q": qt, "window_hours": gov.NOTIFY_WINDOW_HOURS, "as_of": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            **{k: as_int(getattr(t, k)) for k in ("events", "injection", "injection_blocked", "secrets",
                                                  "secrets_blocked")},
            "first_at": iso_us(t.first_us), "last_at": iso_us(t.last_us),
            "seq_first": t.seq_first, "seq_last": t.seq_last,
            "detections": gov.detections(run, scope),
            "incidents": gov.incidents(run, scope, us_of(at))}


class LoanRow(NamedTuple):
    loan: str
    records: int
    decisions: int
    allow: int
    redact: int
    block: int
    responses: int
    forwarded: int
    routes: list[str | None] | None
    people: list[str | None] | None
    first_us: int
    last_us: int
    seq_first: int
    seq_last: int
    seqs: list[int] | None


def _loans(run: Runner, scope: Scope, context: ReportContext) -> dict[str, Any]:
    path = "$." + json.dumps(context.loan_field)  # quoted: the field name may hold dots or spaces
    ql, loans = run.rows(LoanRow, "AI usage per loan (request metadata)", f"""
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
    counts = ("records", "decisions", "allow", "redact", "block", "responses", "forwarded")
    rows = [{"loan": r.loan, **{c: as_int(getattr(r, c)) for c in counts},
             "routes": [x for x in (r.routes or []) if x is not None],
             "people": [x for x in (r.people or []) if x is not None],
             "first_at": iso_us(r.first_us), "last_at": iso_us(r.last_us), "seq_first": r.seq_first,
             "seq_last": r.seq_last, "seqs": list(r.seqs or []),
             "seqs_truncated": as_int(r.records) > MAX_LOAN_SEQS} for r in loans]
    return {"q": ql, "q_without": qn, "field": context.loan_field, "loans": len(rows),
            "records_with_loan": sum(r["records"] for r in rows), "records_without_loan": as_int(nol[0][0]),
            "rows": rows}


def _ll_header(context: ReportContext, at: dt.datetime, scope: Scope) -> dict[str, Any]:
    return {**fig.header(context, at, scope), "letter": LL_TITLE, "letter_issued": LL_ISSUED.isoformat(),
            "letter_effective": LL_EFFECTIVE.isoformat(),
            "scope_statement": ("This report supports the lender's disclosure of AI use and post-closing "
                                "quality control (Selling Guide A2-4.1-01, D1-3-01). It lists what the "
                                "ledger recorded; it does not certify compliance with the letter and "
                                "claims nothing beyond the records listed.")}


def gather_ll202604(q: Query, period: Period, context: ReportContext, *,
                    tenant: str | None = None, route: str | None = None,
                    integrity: Mapping[str, Any] | None = None,
                    now: dt.datetime | None = None,
                    progress: Progress | None = None) -> dict[str, Any]:
    """Facts of the Fannie Mae LL-2026-04 AI governance report (see the module docstring)."""
    scope = Scope(check_period(period), tenant, route)
    at = utc_now(now)
    run = Runner(q, progress, steps=14)
    run.step("checking scope")
    in_scope = check_scope(run, context.tenants, [r.id for r in context.routes], scope)
    coverage = fig.coverage(run, scope)
    models = fig.model_versions(run, scope)
    policies = fig.policy_versions(run, scope, context)
    inventory = _inventory(run, scope, context, models)
    facts = {
        "kind": "ll-2026-04", "schema": 2,
        "title": "AI governance report (Fannie Mae LL-2026-04)",
        "header": _ll_header(context, at, scope),
        "activity": (fig.no_activity(scope, as_int(run.raw("SELECT count(*) FROM records")[0][0]))
                     if not in_scope else {"empty": False, "statement": ""}),
        "coverage": {**coverage, "integrity": normalise_integrity(integrity)},
        "inventory": inventory,
        "safeguards": _safeguards(policies, context, at.date()),
        "vendors": _vendors(run, scope, context, inventory["rows"]),
        "security": _security(run, scope, at),
        "loans": _loans(run, scope, context),
    }
    run.step("done")
    return {**facts, "queries": run.queries}
