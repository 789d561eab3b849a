"""Turn decisions and response events into ledger entries (pure).

An entry is the AuditRecord's fields minus those the single sequencer fills
(record id, ledger id, seq, previous leaf hash, key id). No raw prompt text
crosses this boundary: findings carry types, offsets, scores and keyed hashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Finding fields that may be stored: everything but a raw value (there is none
# in the Decision schema; this list keeps it that way if one is ever added).
_FINDING_FIELDS = ("entity_type", "category", "part", "start", "end", "score",
                   "recognizer", "value_hash", "replacement")


def _findings(findings: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{k: f.get(k) for k in _FINDING_FIELDS} for f in findings]


def from_decision(d: Mapping[str, Any], *, recorded_at_us: int) -> dict[str, Any]:
    """The ledger entry for one Decision record."""
    return {
        "kind": "decision",
        "recorded_at_us": recorded_at_us,
        "request_id": d["request_id"],
        "decision_id": d["decision_id"],
        "received_at_us": d["received_at_us"],
        "decided_at_us": d["decided_at_us"],
        "principal": dict(d["principal"]),
        "source": d["source"],
        "route_id": d["route_id"],
        "mode": d["mode"],
        "upstream_id": d.get("upstream_id"),
        "model": d.get("model"),
        "endpoint": d.get("endpoint"),
        "policy": dict(d["policy"]),
        "rule_id": d["rule_id"],
        "explanation": d["explanation"],
        "categories": list(d.get("categories") or []),
        "findings": _findings(d.get("findings") or []),
        "outcome": d["outcome"],
        "forwarded": None,
        "metadata": dict(d.get("metadata") or {}),
        "worker_id": d.get("worker_id"),
    }


def from_response(r: Mapping[str, Any], *, recorded_at_us: int) -> dict[str, Any]:
    """The ledger entry for one ResponseEvent (what was forwarded and what came back)."""
    return {
        "kind": "response",
        "recorded_at_us": recorded_at_us,
        "request_id": r["request_id"],
        "decision_id": r.get("decision_id"),
        "received_at_us": r["received_at_us"],
        "forwarded_at_us": r.get("forwarded_at_us"),
        "answered_at_us": r["answered_at_us"],
        "principal": dict(r["principal"]),
        "source": r["source"],
        "route_id": r["route_id"],
        "mode": r.get("mode"),
        "upstream_id": r.get("upstream_id"),
        "model": r.get("model"),
        "endpoint": r.get("endpoint"),
        "outcome": r["outcome"],
        "forwarded": r["forwarded"],
        "status": r["status"],
        "latency_ms": r.get("latency_ms"),
        "hold_ms": r.get("hold_ms"),
        "prompt_tokens": r.get("prompt_tokens"),
        "completion_tokens": r.get("completion_tokens"),
        "total_tokens": r.get("total_tokens"),
        "error": r.get("error"),
        "metadata": _response_metadata(r),
        "worker_id": r.get("proxy_id"),
    }


def _response_metadata(r: Mapping[str, Any]) -> dict[str, str]:
    # the refusal's machine code travels in the proxy's own "lg." namespace (callers' tags never use it)
    md = dict(r.get("metadata") or {})
    if r.get("reason"):
        md["lg.reason"] = r["reason"]
    return md


def from_report(report: Mapping[str, Any], *, recorded_at_us: int, by: str) -> dict[str, Any]:
    """The ledger entry recording that a report was generated (its hash)."""
    return {
        "kind": "report",
        "recorded_at_us": recorded_at_us,
        "report": dict(report),
        "metadata": {},
        "worker_id": by,
    }


def from_governance(ev: Mapping[str, Any], *, recorded_at_us: int) -> dict[str, Any]:
    """The ledger entry for one GovernanceEvent (a human fact: incident step, override, suspension).

    The actor is the record's principal and the action its outcome; the fact's
    own fields go to ``metadata`` (a derived, queryable column) as strings, so
    reports select them in SQL without a new table.
    """
    subject = ev.get("subject") or {}
    fields = {
        "event_id": ev["event_id"], "action": ev["action"], "at_us": ev["at_us"],
        "entered_at_us": ev["entered_at_us"], "reason": ev.get("reason"),
        "incident_id": ev.get("incident_id"), "classification": ev.get("classification"),
        "detected_at_us": ev.get("detected_at_us"),
        "concerns": ",".join(ev.get("concerns") or []) or None,
        "notified_to": ev.get("notified_to"), "decision_id": ev.get("decision_id"),
        "request_id": ev.get("request_id"), "request_hash": ev.get("request_hash"),
        "subject_person": subject.get("person"), "subject_tenant": subject.get("tenant"),
        "allow_until_us": ev.get("allow_until_us"),
    }
    return {
        "kind": "governance",
        "recorded_at_us": recorded_at_us,
        "decision_id": ev.get("decision_id"),
        "principal": dict(ev["actor"]),
        "source": "governance",
        "route_id": ev.get("route_id"),
        "outcome": ev["action"],
        "explanation": ev.get("reason"),
        "metadata": {k: str(v) for k, v in fields.items() if v is not None},
        "worker_id": "cli",
    }
