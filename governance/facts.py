"""Building and checking human facts (GovernanceEvent dicts). Pure: no I/O, no clock.

Every builder takes the actor (the verified caller), the time the fact
happened (``at_us``, which a person may back-date within limits) and the time
it was entered (``entered_at_us``); both are recorded, so a back-dated entry is
visible as such.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import GovernanceError

US = 1_000_000
# A person's clock may run a little ahead of the gateway's; more is a mistake.
FUTURE_SKEW_US = 5 * 60 * US

INCIDENT_ACTIONS = ("incident.open", "incident.triage", "incident.notify", "incident.close")
ROUTE_ACTIONS = ("route.suspend", "route.resume")
ACTIONS = INCIDENT_ACTIONS + ("override",) + ROUTE_ACTIONS
CLASSIFICATIONS = ("incident", "not-incident")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Decision metadata keys the worker owns, in the gateway's reserved "lg." namespace
# (the proxy drops callers' tags there, and the worker overwrites them): the keyed
# request hash overrides match, and the override that allowed a request. Metadata
# is a derived column, so reports query them in SQL.
REQUEST_HASH_KEY = "lg.request_hash"
OVERRIDE_ID_KEY = "lg.override_id"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


def parse_duration(text: str) -> int:
    """``15m`` / ``2h`` / ``90s`` / ``1d`` → seconds."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", str(text))
    if not m or int(m.group(1)) <= 0:
        raise GovernanceError(f"duration {text!r} is not a positive duration: write e.g. 90s, 15m, 2h or 1d")
    return int(m.group(1)) * _UNITS[m.group(2)]


def actor(person: str, tenant: str, roles: Iterable[str], auth_method: str) -> dict[str, Any]:
    """The Principal record of the person recording a fact."""
    return {"person": person, "tenant": tenant, "roles": sorted(set(roles)), "auth_method": auth_method}


def require_role(who: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    """Deny by default: the actor needs one of ``allowed``."""
    allowed = tuple(allowed)
    if not set(who.get("roles") or ()) & set(allowed):
        raise GovernanceError(
            f"{who.get('person')!r} (roles {', '.join(who.get('roles') or ()) or 'none'}) may not {what}: "
            f"one of the roles {', '.join(allowed) or '(none configured)'} is needed; the governance "
            "section of the config grants them")


def check_times(at_us: int, entered_at_us: int, max_backdate_days: int) -> None:
    """A fact is not dated in the future, nor further back than the config allows."""
    if at_us > entered_at_us + FUTURE_SKEW_US:
        raise GovernanceError(f"--at {_iso(at_us)} is in the future (now {_iso(entered_at_us)}): "
                              "record a fact when it has happened")
    if entered_at_us - at_us > max_backdate_days * 86_400 * US:
        raise GovernanceError(f"--at {_iso(at_us)} is more than {max_backdate_days} days back: "
                              "governance.max_backdate_days limits back-dated entries")


def _iso(us: int) -> str:
    import datetime as dt

    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).isoformat()


def _base(action: str, who: Mapping[str, Any], at_us: int, entered_at_us: int,
          reason: str | None, event_id: str | None) -> dict[str, Any]:
    if action not in ACTIONS:
        raise GovernanceError(f"action {action!r} is not one of {', '.join(ACTIONS)}")
    return {"event_id": event_id or f"gov_{uuid.uuid4().hex}", "action": action, "at_us": int(at_us),
            "entered_at_us": int(entered_at_us), "actor": dict(who), "reason": reason or None,
            "incident_id": None, "classification": None, "detected_at_us": None, "concerns": [],
            "notified_to": None, "decision_id": None, "request_id": None, "request_hash": None,
            "subject": None, "route_id": None, "allow_until_us": None}


def _need(value: str | None, what: str, example: str) -> str:
    if not value or not str(value).strip():
        raise GovernanceError(f"{what} is empty: give it, e.g. {example}")
    return str(value).strip()


def incident_id_ok(incident_id: str) -> str:
    if not _ID.match(incident_id or ""):
        raise GovernanceError(f"incident id {incident_id!r} is not an id: expected letters, digits and ._:- "
                              "(as printed by `ledgergate incident open`), e.g. inc_3f2a")
    return incident_id


def incident_open(who: Mapping[str, Any], at_us: int, entered_at_us: int, *, concerns: Iterable[str],
                  detected_at_us: int | None, reason: str, event_id: str | None = None) -> dict[str, Any]:
    """Open an incident over detections (record ids, decision ids or seqs it concerns)."""
    ev = _base("incident.open", who, at_us, entered_at_us, _need(reason, "--reason", "'injection burst on claims'"),
               event_id)
    ev["concerns"] = sorted({str(c).strip() for c in concerns if str(c).strip()})
    if not ev["concerns"] and detected_at_us is None:
        raise GovernanceError("an incident concerns detections: name them with --concerns SEQ|DECISION_ID ... "
                              "or say when it was detected with --detected-at TIME")
    ev["incident_id"] = "inc_" + ev["event_id"].removeprefix("gov_")[:12]
    ev["detected_at_us"] = detected_at_us
    return ev


def incident_triage(who: Mapping[str, Any], at_us: int, entered_at_us: int, *, incident_id: str,
                    classification: str, reason: str, event_id: str | None = None) -> dict[str, Any]:
    """Classify an incident: ``incident`` (notifiable) or ``not-incident`` (a detection only)."""
    if classification not in CLASSIFICATIONS:
        raise GovernanceError(f"classification {classification!r} is not one of {', '.join(CLASSIFICATIONS)}")
    ev = _base("incident.triage", who, at_us, entered_at_us, _need(reason, "--reason", "'credential exfiltration'"),
               event_id)
    ev.update(incident_id=incident_id_ok(incident_id), classification=classification)
    return ev


def incident_notify(who: Mapping[str, Any], at_us: int, entered_at_us: int, *, incident_id: str,
                    notified_to: str, reason: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """Record that notice of an incident was given, to whom and when (``at_us``)."""
    ev = _base("incident.notify", who, at_us, entered_at_us, reason, event_id)
    ev.update(incident_id=incident_id_ok(incident_id),
              notified_to=_need(notified_to, "--to", "'Fannie Mae information security'"))
    return ev


def incident_close(who: Mapping[str, Any], at_us: int, entered_at_us: int, *, incident_id: str,
                   reason: str, event_id: str | None = None) -> dict[str, Any]:
    ev = _base("incident.close", who, at_us, entered_at_us, _need(reason, "--reason", "'keys rotated'"), event_id)
    ev["incident_id"] = incident_id_ok(incident_id)
    return ev


def override(who: Mapping[str, Any], at_us: int, entered_at_us: int, *, decision: Mapping[str, Any],
             reason: str, allow_for_s: int | None, max_allow_for_s: int,
             event_id: str | None = None) -> dict[str, Any]:
    """Override a blocked decision (its decoded ledger record); optionally allow its re-send for a window."""
    if decision.get("kind") not in (None, "decision") or not decision.get("decision_id"):
        raise GovernanceError(f"record {decision.get('record_id')!r} is not a decision: override a decision id "
                              "(dec_...) as printed in the 403 answer or by `ledgergate events list`")
    if decision.get("outcome") != "block":
        raise GovernanceError(f"decision {decision['decision_id']} was {decision.get('outcome')!r}, not 'block': "
                              "only a blocked request can be overridden")
    if allow_for_s is not None and not 0 < allow_for_s <= max_allow_for_s:
        raise GovernanceError(f"--allow-for {allow_for_s}s is outside 1s..{max_allow_for_s}s: "
                              "governance.max_allow_for_seconds sets the longest window")
    req_hash = (decision.get("metadata") or {}).get(REQUEST_HASH_KEY)
    if allow_for_s is not None and not req_hash:
        raise GovernanceError(f"decision {decision['decision_id']} carries no request hash (it predates "
                              "overrides): it can be overridden as a record, but without --allow-for")
    ev = _base("override", who, at_us, entered_at_us, _need(reason, "--reason", "'false positive: test key'"),
               event_id)
    p = decision.get("principal") or {}
    ev.update(decision_id=decision["decision_id"], request_id=decision.get("request_id"),
              request_hash=req_hash, route_id=decision.get("route_id"),
              subject=actor(p.get("person", ""), p.get("tenant", ""), p.get("roles") or (),
                            p.get("auth_method", "")) if p else None,
              allow_until_us=entered_at_us + allow_for_s * US if allow_for_s else None)
    return ev


def route_change(action: str, who: Mapping[str, Any], at_us: int, entered_at_us: int, *, route_id: str,
                 known_routes: Iterable[str], reason: str, event_id: str | None = None) -> dict[str, Any]:
    """Suspend or resume a configured route."""
    if action not in ROUTE_ACTIONS:
        raise GovernanceError(f"route action {action!r} is not one of {', '.join(ROUTE_ACTIONS)}")
    known = sorted(known_routes)
    if route_id not in known:
        raise GovernanceError(f"unknown route {route_id!r}: configured routes are {', '.join(known)}")
    ev = _base(action, who, at_us, entered_at_us, _need(reason, "--reason", "'risk identified, Art. 26(5)'"),
               event_id)
    ev["route_id"] = route_id
    return ev
