"""Human facts in the reports: detections and their triage, incidents against the 36-hour clock,
overrides, suspensions, notifications, and requests refused at the gate.

Human facts are ledger records of kind ``governance`` (one per GovernanceEvent:
the actor is the record's principal, the action its ``outcome``, the fact's
fields are in ``metadata``). Every figure here is computed from those records
and names its query; :func:`clock` is the one pure rule for the 36-hour
notification window.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .base import US_PER_HOUR, Runner, Scope, as_int, iso_us
from .figures import GATE_OUTCOMES

# LL-2026-04 Information Security Supplement: notice of a cyber incident within 36 hours of detection.
NOTIFY_WINDOW_HOURS = 36
MAX_LISTED = 500
SECURITY_CATEGORIES = ("PROMPT_INJECTION", "SECRET")
TRIAGE_LABELS = {"not-triaged": "detection, not triaged",
                 "not-incident": "detection, triaged: not an incident",
                 "incident": "incident"}

_META = "json_extract_string(metadata, '$.{}')"
_INCIDENT_OF = _META.format("incident_id")
# detections named by incident.open (record seqs), one row per (incident, seq)
_CONCERNS = f"""SELECT {_INCIDENT_OF} AS incident_id,
                       TRY_CAST(unnest(string_split({_META.format('concerns')}, ',')) AS BIGINT) AS seq
                FROM records WHERE kind = 'governance' AND outcome = 'incident.open'"""
# the latest triage of each incident
_TRIAGE = f"""SELECT {_INCIDENT_OF} AS incident_id, arg_max({_META.format('classification')}, seq) AS classification
              FROM records WHERE kind = 'governance' AND outcome = 'incident.triage' GROUP BY 1"""


def clock(detected_us: int | None, classification: str | None, notified_us: int | None,
          now_us: int, window_hours: int = NOTIFY_WINDOW_HOURS) -> dict[str, Any]:
    """The notification clock of one incident: met, missed or open (pure).

    Runs only for incidents triaged as ``incident``: from detection to the
    first recorded notification. Not notified and past the window is missed;
    not notified within it is open.
    """
    if classification != "incident" or detected_us is None:
        return {"status": "not applicable", "hours": None, "notify_by": None}
    window = window_hours * US_PER_HOUR
    deadline = detected_us + window
    if notified_us is not None:
        hours = round((notified_us - detected_us) / US_PER_HOUR, 1)
        return {"status": "met" if notified_us <= deadline else "missed", "hours": hours,
                "notify_by": iso_us(deadline)}
    hours = round((now_us - detected_us) / US_PER_HOUR, 1)
    return {"status": "missed" if now_us > deadline else "open", "hours": hours, "notify_by": iso_us(deadline)}


def security_where(scope: Scope, alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    cats = " OR ".join(f"list_contains({a}categories, '{c}')" for c in SECURITY_CATEGORIES)
    where = scope.where if not alias else " AND ".join(
        f"{a}{part.strip()}" for part in scope.where.split(" AND "))
    return f"{where} AND {a}kind = 'decision' AND ({cats})"


class DetectionRow(NamedTuple):
    seq: int
    detected_us: int
    tenant: str | None
    person: str | None
    route_id: str | None
    mode: str | None
    outcome: str | None
    rule_id: str | None
    categories: list[str] | None
    incidents: list[str] | None
    state: str


def _detections_sql(scope: Scope, select: str, tail: str) -> str:
    return f"""
        WITH c AS ({_CONCERNS}), t AS ({_TRIAGE}),
        d AS (SELECT r.seq, r.recorded_at_us, r.tenant, r.person, r.route_id, r.mode, r.outcome, r.rule_id,
                     r.categories, list(DISTINCT c.incident_id) FILTER (WHERE c.incident_id IS NOT NULL) AS incidents,
                     CASE WHEN bool_or(t.classification = 'incident') THEN 'incident'
                          WHEN bool_or(t.classification = 'not-incident') THEN 'not-incident'
                          ELSE 'not-triaged' END AS state
              FROM records r LEFT JOIN c ON c.seq = r.seq LEFT JOIN t ON t.incident_id = c.incident_id
              WHERE {security_where(scope, 'r')}
              GROUP BY r.seq, r.recorded_at_us, r.tenant, r.person, r.route_id, r.mode, r.outcome, r.rule_id,
                       r.categories)
        SELECT {select} FROM d {tail}"""


def detections(run: Runner, scope: Scope) -> dict[str, Any]:
    """Security detections in scope with their triage state, counted by state and listed."""
    qs, states = run("security detections by triage state", _detections_sql(
        scope, "state, count(*), min(seq), max(seq)", "GROUP BY state ORDER BY state"), scope.params)
    ql, rows = run.rows(DetectionRow, "security detections with their incidents, most recent first", _detections_sql(
        scope, "*", f"ORDER BY seq DESC LIMIT {MAX_LISTED}"), scope.params)
    by_state = {s: {"records": 0, "seq_first": None, "seq_last": None} for s in TRIAGE_LABELS}
    for s, n, first, last in states:
        by_state[s] = {"records": as_int(n), "seq_first": first, "seq_last": last}
    listed = [{"seq": r.seq, "detected_at": iso_us(r.detected_us), "tenant": r.tenant, "person": r.person,
               "route_id": r.route_id, "mode": r.mode, "outcome": r.outcome, "rule_id": r.rule_id,
               "categories": list(r.categories or []), "incidents": sorted(r.incidents or []),
               "triage": r.state, "triage_label": TRIAGE_LABELS[r.state]} for r in rows]
    n = sum(v["records"] for v in by_state.values())
    return {"q_states": qs, "q_listed": ql, "total": n, "by_state": by_state,
            "labels": TRIAGE_LABELS, "listed": listed, "truncated": n > len(listed)}


class IncidentRow(NamedTuple):
    incident_id: str
    opened_us: int | None
    opened_by: str | None
    reason: str | None
    declared_detected_us: int | None
    concerns: str | None
    first_detection_us: int | None
    classification: str | None
    triaged_us: int | None
    triaged_by: str | None
    notified_us: int | None
    notified_to: str | None
    notified_by: str | None
    closed_us: int | None
    steps: int
    seq_first: int
    seq_last: int


def _when(action: str) -> str:
    return f"FILTER (WHERE action = '{action}')"


_INCIDENTS_SQL = f"""
    WITH g AS (SELECT seq, person, outcome AS action, {_INCIDENT_OF} AS incident_id,
                      TRY_CAST({_META.format('at_us')} AS BIGINT) AS at_us,
                      TRY_CAST({_META.format('detected_at_us')} AS BIGINT) AS detected_us,
                      {_META.format('concerns')} AS concerns, {_META.format('classification')} AS classification,
                      {_META.format('notified_to')} AS notified_to, {_META.format('reason')} AS reason
               FROM records WHERE kind = 'governance' AND outcome LIKE 'incident.%'),
    first_det AS (SELECT c.incident_id, min(r.recorded_at_us) AS first_us
                  FROM ({_CONCERNS}) c JOIN records r ON r.seq = c.seq GROUP BY 1),
    i AS (SELECT incident_id,
                 min(at_us) {_when('incident.open')} AS opened_us,
                 arg_min(person, seq) {_when('incident.open')} AS opened_by,
                 arg_min(reason, seq) {_when('incident.open')} AS reason,
                 min(detected_us) {_when('incident.open')} AS declared_detected_us,
                 arg_min(concerns, seq) {_when('incident.open')} AS concerns,
                 arg_max(classification, seq) {_when('incident.triage')} AS classification,
                 max(at_us) {_when('incident.triage')} AS triaged_us,
                 arg_max(person, seq) {_when('incident.triage')} AS triaged_by,
                 min(at_us) {_when('incident.notify')} AS notified_us,
                 arg_min(notified_to, at_us) {_when('incident.notify')} AS notified_to,
                 arg_min(person, at_us) {_when('incident.notify')} AS notified_by,
                 max(at_us) {_when('incident.close')} AS closed_us,
                 count(*) AS steps, min(seq) AS seq_first, max(seq) AS seq_last
          FROM g WHERE incident_id IS NOT NULL GROUP BY 1),
    d AS (SELECT i.*, first_det.first_us,
                 coalesce(least(declared_detected_us, first_det.first_us), declared_detected_us,
                          first_det.first_us, opened_us) AS detected_us
          FROM i LEFT JOIN first_det ON first_det.incident_id = i.incident_id)
    SELECT incident_id, opened_us, opened_by, reason, declared_detected_us, concerns, first_us,
           classification, triaged_us, triaged_by, notified_us, notified_to, notified_by, closed_us,
           steps, seq_first, seq_last
    FROM d WHERE detected_us >= ? AND detected_us < ?
    ORDER BY detected_us, incident_id"""


def incidents(run: Runner, scope: Scope, now_us: int) -> dict[str, Any]:
    """Incidents detected in the period, their triage and the 36-hour notification clock.

    Detection time is the earliest of the detections the incident concerns and
    the detection time its opener declared. All of an incident's steps count,
    whenever they were recorded (a notification may follow after the period).
    """
    qid, rows = run.rows(IncidentRow, "incidents detected in the period with triage and notification",
                         _INCIDENTS_SQL, [scope.period.start_us, scope.period.end_us])
    out = []
    for r in rows:
        detected = min(x for x in (r.declared_detected_us, r.first_detection_us, r.opened_us) if x is not None)
        c = clock(detected, r.classification, r.notified_us, now_us)
        out.append({"incident_id": r.incident_id, "opened_at": iso_us(r.opened_us), "opened_by": r.opened_by,
                    "reason": r.reason, "detected_at": iso_us(detected),
                    "concerns": [int(x) for x in (r.concerns or "").split(",") if x.strip().isdigit()],
                    "classification": r.classification or "not triaged",
                    "triaged_at": iso_us(r.triaged_us), "triaged_by": r.triaged_by,
                    "notified_at": iso_us(r.notified_us), "notified_to": r.notified_to,
                    "notified_by": r.notified_by, "closed_at": iso_us(r.closed_us),
                    "clock": c["status"], "hours_to_notice": c["hours"], "notify_by": c["notify_by"],
                    "steps": as_int(r.steps), "seq_first": r.seq_first, "seq_last": r.seq_last})
    clocks = [i for i in out if i["classification"] == "incident"]
    return {"q": qid, "window_hours": NOTIFY_WINDOW_HOURS, "listed": out,
            "count": len(out), "incidents": len(clocks),
            "not_incidents": sum(1 for i in out if i["classification"] == "not-incident"),
            "untriaged": sum(1 for i in out if i["classification"] == "not triaged"),
            "met": sum(1 for i in clocks if i["clock"] == "met"),
            "missed": sum(1 for i in clocks if i["clock"] == "missed"),
            "open": sum(1 for i in clocks if i["clock"] == "open")}


class FactRow(NamedTuple):
    seq: int
    recorded_us: int
    action: str
    person: str | None
    tenant: str | None
    route_id: str | None
    reason: str | None
    meta: str | None


def _facts(run: Runner, scope: Scope, purpose: str, actions: tuple[str, ...]) -> tuple[str, list[dict[str, Any]]]:
    import json

    marks = ", ".join("?" for _ in actions)
    qid, rows = run.rows(FactRow, purpose, f"""
        SELECT seq, recorded_at_us, outcome, person, tenant, route_id,
               json_extract_string(metadata, '$.reason'), metadata
        FROM records WHERE {scope.where} AND kind = 'governance' AND outcome IN ({marks})
        ORDER BY seq LIMIT {MAX_LISTED}""", [*scope.params, *actions])
    out = []
    for r in rows:
        m = json.loads(r.meta or "{}")
        at = int(m["at_us"]) if m.get("at_us") else r.recorded_us
        out.append({"seq": r.seq, "event_id": m.get("event_id"), "action": r.action, "by": r.person,
                    "by_tenant": r.tenant, "route_id": r.route_id, "reason": r.reason,
                    "at": iso_us(at), "recorded_at": iso_us(r.recorded_us),
                    "back_dated": r.recorded_us - at > 5 * 60 * 1_000_000,
                    "decision_id": m.get("decision_id"), "subject": m.get("subject_person"),
                    "allow_until": iso_us(int(m["allow_until_us"])) if m.get("allow_until_us") else None,
                    "incident_id": m.get("incident_id"), "notified_to": m.get("notified_to")})
    return qid, out


class AllowedRow(NamedTuple):
    override_id: str
    decisions: int
    seq_first: int
    seq_last: int


def human_oversight(run: Runner, scope: Scope) -> dict[str, Any]:
    """Overrides, the decisions they allowed, route suspensions and incident notifications (Art. 14, 26(5))."""
    qo, overrides = _facts(run, scope, "human overrides of decisions", ("override",))
    qa, allowed = run.rows(AllowedRow, "decisions allowed by an override window", f"""
        SELECT json_extract_string(metadata, '$."lg.override_id"') AS override_id, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'decision' AND rule_id = 'human-override'
          AND json_extract_string(metadata, '$."lg.override_id"') IS NOT NULL
        GROUP BY 1 ORDER BY min(seq)""", scope.params)
    qs, suspensions = _facts(run, scope, "route suspensions and resumptions", ("route.suspend", "route.resume"))
    qn, notices = _facts(run, scope, "incident notifications given", ("incident.notify",))
    return {"provision": "Art. 12(2)(c), Art. 14, Art. 26(5)",
            "overrides": {"q": qo, "count": len(overrides), "listed": overrides},
            "allowed_by_override": {"q": qa, "decisions": sum(as_int(a.decisions) for a in allowed),
                                    "rows": [{**a._asdict(), "decisions": as_int(a.decisions)} for a in allowed]},
            "suspensions": {"q": qs, "count": sum(1 for s in suspensions if s["action"] == "route.suspend"),
                            "resumptions": sum(1 for s in suspensions if s["action"] == "route.resume"),
                            "listed": suspensions},
            "notifications": {"q": qn, "count": len(notices), "listed": notices}}




class RefusalRow(NamedTuple):
    route_id: str | None
    outcome: str
    reason: str | None
    status: int | None
    records: int
    seq_first: int
    seq_last: int


def gate_refusals(run: Runner, scope: Scope, columns: set[str]) -> dict[str, Any]:
    """Requests refused before any policy ran (authentication, authorisation, bad input, suspension)."""
    # engineer audit's refusal code travels as metadata "lg.reason" (a column, if a ledger adds one)
    reason = "reason" if "reason" in columns else "json_extract_string(metadata, '$.\"lg.reason\"')"
    marks = ", ".join("?" for _ in GATE_OUTCOMES)
    qid, rows = run.rows(RefusalRow, "requests refused at the gate by route, outcome and reason", f"""
        SELECT route_id, outcome, {reason}, status, count(*), min(seq), max(seq)
        FROM records WHERE {scope.where} AND kind = 'response' AND outcome IN ({marks})
        GROUP BY route_id, outcome, {reason}, status
        ORDER BY route_id NULLS LAST, outcome, count(*) DESC""", [*scope.params, *GATE_OUTCOMES])
    listed = [{**r._asdict(), "records": as_int(r.records)} for r in rows]
    return {"q": qid, "outcomes": list(GATE_OUTCOMES), "records": sum(r["records"] for r in listed),
            "by_outcome": {o: sum(r["records"] for r in listed if r["outcome"] == o) for o in GATE_OUTCOMES},
            "rows": listed}
