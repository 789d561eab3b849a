"""What the recorded human facts mean right now, for a worker or a proxy. Pure.

:class:`GovernanceBook` folds GovernanceEvents in topic order (the governance
topic has one partition, so every reader sees the same order).
:func:`override_for` answers "does an override allow this request now?" and
:func:`apply_override` turns a block into an allow that cites the override.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .facts import OVERRIDE_ID_KEY, REQUEST_HASH_KEY


@dataclass(frozen=True, slots=True)
class Override:
    """An active override window: the same caller's identical request is allowed until ``until_us``."""

    override_id: str
    decision_id: str
    by: str
    reason: str
    request_hash: str
    person: str
    tenant: str
    route_id: str
    until_us: int


@dataclass(frozen=True, slots=True)
class Suspension:
    """A suspended route: who suspended it, when, and why."""

    event_id: str
    route_id: str
    by: str
    reason: str
    at_us: int


class GovernanceBook:
    """Overrides with a window, and suspended routes, as of the events offered so far."""

    def __init__(self) -> None:
        self.overrides: dict[str, list[Override]] = {}
        self.suspended: dict[str, Suspension] = {}
        self.seen = 0

    def offer(self, ev: Mapping[str, Any]) -> None:
        """Fold one GovernanceEvent in (events that change neither are counted and ignored)."""
        self.seen += 1
        action = ev.get("action")
        by = (ev.get("actor") or {}).get("person", "")
        if action == "override" and ev.get("allow_until_us") and ev.get("request_hash"):
            subj = ev.get("subject") or {}
            ov = Override(ev["event_id"], ev.get("decision_id") or "", by, ev.get("reason") or "",
                          ev["request_hash"], subj.get("person", ""), subj.get("tenant", ""),
                          ev.get("route_id") or "", int(ev["allow_until_us"]))
            self.overrides.setdefault(ov.request_hash, []).append(ov)
        elif action == "route.suspend" and ev.get("route_id"):
            self.suspended[ev["route_id"]] = Suspension(ev["event_id"], ev["route_id"], by,
                                                        ev.get("reason") or "", int(ev["at_us"]))
        elif action == "route.resume" and ev.get("route_id"):
            self.suspended.pop(ev["route_id"], None)

    def prune(self, now_us: int) -> None:
        """Forget windows that have closed (they can never apply again)."""
        for key in [k for k, ovs in self.overrides.items() if all(o.until_us <= now_us for o in ovs)]:
            del self.overrides[key]


def request_hash(req: Mapping[str, Any], key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, hex) of who asked what, where: the identity of a request for overrides.

    Covers tenant, person, route, model, endpoint and every part's role, path
    and text, so only the same caller's identical request matches; keyed, so
    the ledger can hold it without revealing the text.
    """
    p = req.get("principal") or {}
    parts = [[x.get("role"), x.get("path"), x.get("text")] for x in req.get("parts") or []]
    canon = json.dumps([p.get("tenant"), p.get("person"), req.get("route_id"), req.get("model"),
                        req.get("endpoint"), parts], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canon.encode("utf-8"), hashlib.sha256).hexdigest()


def override_for(book: GovernanceBook, req: Mapping[str, Any], req_hash: str, now_us: int) -> Override | None:
    """The override whose window allows this request now, if any (the latest-ending one)."""
    p = req.get("principal") or {}
    live = [o for o in book.overrides.get(req_hash, ())
            if o.until_us > now_us and o.person == p.get("person") and o.tenant == p.get("tenant")
            and o.route_id == req.get("route_id")]
    return max(live, key=lambda o: o.until_us) if live else None


def stamp(decision: Mapping[str, Any], req_hash: str) -> dict[str, Any]:
    """The decision with its request hash in metadata, and no caller-sent override id."""
    meta = {k: v for k, v in (decision.get("metadata") or {}).items() if k != OVERRIDE_ID_KEY}
    meta[REQUEST_HASH_KEY] = req_hash
    return {**decision, "metadata": meta}


def apply_override(decision: Mapping[str, Any], ov: Override) -> dict[str, Any]:
    """A blocked decision turned into an allow that cites the override; other outcomes unchanged."""
    if decision.get("outcome") != "block":
        return dict(decision)
    meta = {**(decision.get("metadata") or {}), OVERRIDE_ID_KEY: ov.override_id}
    return {**decision, "outcome": "allow", "rule_id": "human-override",
            "redacted_parts": [], "metadata": meta,
            "explanation": (f"allowed by human override {ov.override_id} of decision {ov.decision_id} "
                            f"by {ov.by} (reason: {ov.reason}); the policy alone would have blocked "
                            f"(rule {decision.get('rule_id')}: {decision.get('explanation')})")}


def suspended_route(book: GovernanceBook, route_id: str) -> Suspension | None:
    """The suspension of ``route_id`` in force, if any."""
    return book.suspended.get(route_id)


