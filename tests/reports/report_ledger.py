"""A real signed ledger for the report tests, written by the real LedgerWriter.

The scenario covers October 2026 (plus a few records before and after, which a
report for October must not count): three routes (one in observe mode), two
tenants, four people, every decision and response outcome, prompt injection,
secrets and PHI, a policy version change, an upstream model change, a broker
outage, loan-tagged requests, one report record, requests refused at the gate
and human facts built by the real governance and ledger-entry code: incidents
notified after 40 h (missed) and 10 h (met), one triaged as not an incident,
one never notified (missed), one still within its window (open), an override
whose window allowed a re-sent request, and a route suspended and resumed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ledgergate.config import Settings, settings_from_mapping
from ledgergate.governance import facts as gfacts
from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.entries import from_governance
from ledgergate.ledger.store import LedgerReader, LedgerWriter, connect
from ledgergate.ledger.verify import verify
from ledgergate.reports.context import ReportContext
from ledgergate.reports.queries import DuckDBQuery, Period

LEDGER_ID = "reports-test"
OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
HASH_V1 = "a1" * 32
HASH_V2 = "b2" * 32


def us(t: dt.datetime) -> int:
    return int(t.timestamp()) * 1_000_000 + t.microsecond


SETTINGS_DATA: dict[str, Any] = {
    "ledger": {"ledger_id": LEDGER_ID, "retention_days": 400},
    "identity": {"api_keys": [{"id": "batch", "sha256": "0" * 64, "person": "svc-batch",
                               "tenant": "initech", "roles": ["engineer"]}]},
    "upstreams": [
        {"id": "openai", "base_url": "https://api.openai.com/v1", "vendor": "OpenAI"},
        {"id": "mlflow", "kind": "mlflow-gateway", "base_url": "http://mlflow:5000/gateway/mlflow/v1",
         "vendor": "in-house MLflow <Gateway>"},
    ],
    "routes": [
        {"id": "assistant", "upstream": "openai", "policy": "default", "allowed_roles": ["analyst"],
         "purpose": "internal assistant for analysts", "models": ["gpt-4o"]},
        {"id": "telemetry", "upstream": "openai", "policy": "default", "allowed_roles": ["analyst"],
         "mode": "observe", "purpose": "low-risk drafting, observed not held"},
        {"id": "underwriting", "upstream": "mlflow", "policy": "underwriting",
         "allowed_roles": ["underwriter"], "purpose": "summarise loan file documents for underwriters"},
    ],
    "policies": [
        {"id": "default", "bundle": {"id": "default", "version": 2, "owner": "governance@acme.example",
                                     "reviewed": "2026-06-01",
                                     "rules": [{"id": "allow-rest", "action": "allow", "match": {"always": True}}]}},
        {"id": "underwriting", "bundle": {"id": "underwriting", "version": 1, "owner": "credit-risk@acme.example",
                                          "reviewed": "2025-05-01",
                                          "rules": [{"id": "allow-rest", "action": "allow",
                                                     "match": {"always": True}}]}},
    ],
    "reports": {"provider": "Acme Lending AI platform", "deployer": "Acme Lending <Ops> & Co",
                "regime": "Regulation (EU) 2024/1689 (AI Act)", "application_date": "2027-12-02",
                "loan_field": "loan_id"},
}

PEOPLE = [("alice", "acme", ["analyst"]), ("bob", "acme", ["analyst", "underwriter"]),
          ("carol", "globex", ["underwriter"]), ("svc-batch", "initech", ["engineer"])]


def scenario() -> list[dict[str, Any]]:
    """Ledger entries in recording order (deterministic)."""
    rnd = random.Random(7)
    out: list[dict[str, Any]] = []
    start = dt.datetime(2026, 9, 29, tzinfo=dt.UTC)
    t = start
    i = 0
    while t < dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC):
        t += dt.timedelta(minutes=rnd.randint(40, 100))
        i += 1
        person, tenant, roles = PEOPLE[i % len(PEOPLE)]
        route = ("assistant", "telemetry", "underwriting")[i % 3]
        mode = "observe" if route == "telemetry" else "enforce"
        upstream = "mlflow" if route == "underwriting" else "openai"
        model = ("gpt-4o" if route != "underwriting" else
                 ("uw-llm-1" if t < dt.datetime(2026, 10, 20, tzinfo=dt.UTC) else "uw-llm-2"))
        pol_id = "underwriting" if route == "underwriting" else "default"
        if pol_id == "default" and t < dt.datetime(2026, 10, 15, tzinfo=dt.UTC):
            policy = {"id": "default", "version": 1, "hash": HASH_V1}
        else:
            policy = {"id": pol_id, "version": 2 if pol_id == "default" else 1, "hash": HASH_V2}
        cats: list[str] = []
        r = i % 17
        if r == 3:
            cats = ["PROMPT_INJECTION"]
        elif r == 5:
            cats = ["SECRET"]
        elif r in (7, 11):
            cats = ["PII"]
        elif r == 13:
            cats = ["PHI", "PII"]
        outcome = "block" if {"PROMPT_INJECTION", "SECRET"} & set(cats) else "redact" if cats else "allow"
        meta: dict[str, str] = {}
        if route == "underwriting":
            meta["loan_id"] = f"LN-{1000 + i % 9}"
        principal = {"person": person, "tenant": tenant, "roles": roles, "auth_method":
                     "api_key" if person == "svc-batch" else "jwt"}
        base = {"request_id": f"req-{i:05d}", "principal": principal, "source": "proxy",
                "route_id": route, "mode": mode, "upstream_id": upstream, "model": model,
                "endpoint": "chat.completions", "metadata": meta}
        at = us(t)
        outage = dt.datetime(2026, 10, 10, 9, tzinfo=dt.UTC) <= t < \
            dt.datetime(2026, 10, 10, 14, tzinfo=dt.UTC)
        if outage:
            # the broker is down: the proxy refuses without a decision
            out.append({**base, "kind": "response", "recorded_at_us": at, "received_at_us": at,
                        "answered_at_us": at, "outcome": "refused-unavailable", "forwarded": "none",
                        "status": 503, "hold_ms": 2.0})
            continue
        ex = {"decision_id": f"dec-{i:05d}", "received_at_us": at - 5000}
        out.append({**base, **ex, "kind": "decision", "recorded_at_us": at, "decided_at_us": at,
                    "policy": policy, "rule_id": {"block": "block-sensitive", "redact": "redact-personal",
                                                  "allow": "allow-rest"}[outcome],
                    "explanation": "test", "categories": cats,
                    "findings": [{"entity_type": "PERSON" if c == "PII" else "SECRET" if c == "SECRET"
                                  else "MEDICAL_RECORD_NUMBER" if c == "PHI" else "PERSON",
                                  "category": c, "part": 0, "start": 0, "end": 5, "score": 0.9,
                                  "recognizer": "test"} for c in cats],
                    "outcome": outcome})
        if outcome == "block" and mode == "enforce":
            resp, fwd, status = "refused-policy", "none", 403
        elif i % 23 == 0:
            resp, fwd, status = "refused-timeout", "none", 504
        elif i % 29 == 0:
            resp, fwd, status = "upstream-error", "original", 502
        else:
            resp, fwd, status = "forwarded", "redacted" if outcome == "redact" else "original", 200
        out.append({**base, **ex, "kind": "response", "recorded_at_us": at + 800_000,
                    "answered_at_us": at + 800_000, "outcome": resp, "forwarded": fwd, "status": status,
                    "latency_ms": 700.0 + (i % 10) * 10 if resp in ("forwarded", "upstream-error") else None,
                    "hold_ms": 5000.0 if resp == "refused-timeout" else 12.0 + i % 5,
                    "prompt_tokens": 100 if resp == "forwarded" else None,
                    "completion_tokens": 50 if resp == "forwarded" else None,
                    "total_tokens": 150 if resp == "forwarded" else None})
    # a report generated mid-period is itself a ledger record
    out.append({"kind": "report", "recorded_at_us": us(dt.datetime(2026, 10, 1, 0, 5, tzinfo=dt.UTC)),
                "report": {"kind": "article12", "period_from": "2026-09-01", "period_to": "2026-09-30",
                           "tenant": None, "route_id": None, "sha256": "c3" * 32, "filename": "sept.html"},
                "metadata": {}, "worker_id": "w1"})
    out += gate_refusals()
    out.sort(key=lambda e: e["recorded_at_us"])
    facts = human_facts(out)
    out += facts
    out.sort(key=lambda e: e["recorded_at_us"])
    for f in facts:  # incident.open names its detections by seq: the position once sorted
        if f["metadata"].get("concerns"):
            f["metadata"]["concerns"] = str(next(k for k, e in enumerate(out) if e is f["_concerns"]))
    for f in facts:
        f.pop("_concerns", None)
    return out


H = 3_600_000_000
RITA = gfacts.actor("rita", "acme", ["reviewer"], "jwt")
SEC = gfacts.actor("sam", "acme", ["security"], "jwt")


def gate_refusals() -> list[dict[str, Any]]:
    """Requests refused before any policy ran (engineer audit's outcomes)."""
    out = []
    for k, (route, outcome, status) in enumerate([("-", "refused-auth", 401), ("-", "refused-auth", 401),
                                                   ("assistant", "refused-forbidden", 403),
                                                   ("telemetry", "refused-suspended", 503)]):
        t = us(dt.datetime(2026, 10, 21, 10 + k, tzinfo=dt.UTC))
        out.append({"kind": "response", "request_id": f"gate-{k}", "recorded_at_us": t, "received_at_us": t,
                    "answered_at_us": t, "principal": {"person": "anonymous", "tenant": "unknown", "roles": [],
                                                       "auth_method": "none"},
                    "source": "proxy", "route_id": route, "mode": "none", "endpoint": "chat.completions",
                    "outcome": outcome, "forwarded": "none", "status": status,
                    "metadata": {"lg.reason": {401: "invalid_token", 403: "role_not_allowed",
                                               503: "route_suspended"}[status]}})
    return out


def _gov(ev: dict[str, Any], concerns: dict[str, Any] | None = None) -> dict[str, Any]:
    e = from_governance(ev, recorded_at_us=ev["entered_at_us"])
    e["_concerns"] = concerns
    return e


def human_facts(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Incidents, an override and a suspension over the scenario's detections (real builders)."""
    det = [e for e in out if e["kind"] == "decision" and e["outcome"] == "block"
           and OCTOBER.start_us <= e["recorded_at_us"] < OCTOBER.end_us]
    facts: list[dict[str, Any]] = []
    plans = [(det[2], "incident", 40), (det[10], "incident", 10), (det[20], "not-incident", None),
             (det[-8], "incident", None), (det[-1], "incident", None)]
    for k, (d, cls, notify_h) in enumerate(plans):
        t = d["recorded_at_us"]
        op = gfacts.incident_open(SEC, t + H, t + H, concerns=["0"], detected_at_us=None, reason=f"case {k}",
                                  event_id=f"gov_open{k}")
        facts.append(_gov(op, d))
        inc = op["incident_id"]
        facts.append(_gov(gfacts.incident_triage(SEC, t + 2 * H, t + 2 * H, incident_id=inc, classification=cls,
                                                 reason="triaged", event_id=f"gov_triage{k}")))
        if notify_h is not None:
            # the notice is entered later and back-dated to when it was given: both times are kept
            facts.append(_gov(gfacts.incident_notify(SEC, t + notify_h * H, t + (notify_h + 3) * H, incident_id=inc,
                                                     notified_to="Fannie Mae information security",
                                                     event_id=f"gov_notify{k}")))
    blocked = det[5]
    ov = gfacts.override(RITA, blocked["recorded_at_us"] + H, blocked["recorded_at_us"] + H,
                         decision={**blocked, "metadata": {**blocked["metadata"], "lg.request_hash": "ab" * 32}},
                         reason="false positive: documentation sample", allow_for_s=900, max_allow_for_s=3600,
                         event_id="gov_override0")
    facts.append(_gov(ov))
    t = ov["entered_at_us"] + 60_000_000
    resent = {**blocked, "request_id": "req-resent", "decision_id": "dec-resent", "recorded_at_us": t,
              "decided_at_us": t, "received_at_us": t, "rule_id": "human-override", "outcome": "allow",
              "metadata": {**blocked["metadata"], "lg.override_id": ov["event_id"], "lg.request_hash": "ab" * 32},
              "explanation": f"allowed by human override {ov['event_id']}"}
    resent["_concerns"] = None
    facts.append(resent)
    sus = us(dt.datetime(2026, 10, 21, 9, tzinfo=dt.UTC))
    for k, action in enumerate(("route.suspend", "route.resume")):
        facts.append(_gov(gfacts.route_change(action, RITA, sus + k * 24 * H, sus + k * 24 * H,
                                              route_id="telemetry", known_routes=["telemetry"],
                                              reason="risk identified", event_id=f"gov_route{k}")))
    return facts


@dataclass
class Ledger:
    path: Path
    keydir: Path
    settings: Settings

    @property
    def context(self) -> ReportContext:
        return ReportContext.from_settings(self.settings)

    def query(self) -> DuckDBQuery:
        return DuckDBQuery.open(self.path)

    def verify(self) -> dict[str, Any]:
        """ledger.verify over the whole file, as the caller of a report does."""
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            rd = LedgerReader(con)
            rep = verify(rd.iter_signed(), rd.leaves(), rd.checkpoints(), lkeys.load_dir(self.keydir),
                         rd.pruned_ranges(), rd.iter_columns(), ledger_id=LEDGER_ID)
        finally:
            con.close()
        d = rep.to_dict()
        return {"ok": d["ok"], "problems": d["problems"], "checked_records": d["records_checked"],
                "checkpoints": d["checkpoints_checked"]}


def build_ledger(tmp: Path, *, entries: list[dict[str, Any]] | None = None) -> Ledger:
    keydir = tmp / "keys"
    lkeys.generate(keydir)
    path = tmp / "ledger.duckdb"
    con = connect(str(path))
    try:
        w = LedgerWriter(con, lkeys.load_dir(keydir), ledger_id=LEDGER_ID, checkpoint_every=200,
                         checkpoint_interval_s=10**6)
        ents = scenario() if entries is None else entries
        for k in range(0, len(ents), 100):
            batch = ents[k:k + 100]
            w.append_batch(batch, now=batch[-1]["recorded_at_us"])
        w.checkpoint(ents[-1]["recorded_at_us"] + 1)
    finally:
        con.close()
    settings = settings_from_mapping(SETTINGS_DATA, source="test", base_dir=tmp, environ={})
    return Ledger(path, keydir, settings)
