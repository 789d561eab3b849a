"""From a request event to a decision record: classify → decide → redact (pure).

The agent in ``streams/agents.py`` is a thin loop around :class:`Decider`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledgergate.errors import LedgergateError
from ledgergate.schemas.policy import PolicyBundle
from ledgergate.streams.classify.engine import Classification, Classifier
from ledgergate.streams.classify.redact import redact, value_hash
from ledgergate.streams.policy.engine import Caller, RouteGate, Verdict, decide
from ledgergate.streams.policy.registry import PolicyRegistry


class DecideError(LedgergateError):
    """A request event cannot be judged (it goes to the dead-letter topic)."""


@dataclass(frozen=True, slots=True)
class RouteInfo:
    policy_id: str
    gate: RouteGate


class Decider:
    """Judges request events with the current policy bundles.

    Dependencies come in; nothing here does I/O.
    """

    def __init__(self, classifier: Classifier, policies: PolicyRegistry,
                 routes: Mapping[str, RouteInfo], *, hash_key: bytes, worker_id: str,
                 clock_us: Callable[[], int]) -> None:
        self._classifier = classifier
        self._policies = policies
        self._routes = dict(routes)
        self._hash_key = hash_key
        self._worker_id = worker_id
        self._clock_us = clock_us

    def _bundle_for(self, req: Mapping[str, Any]) -> tuple[PolicyBundle, RouteGate | None]:
        route = self._routes.get(req["route_id"])
        policy_id = route.policy_id if route else req.get("policy_id")
        if not policy_id:
            raise DecideError(
                f"route {req['route_id']!r} is unknown to this worker and the event names no "
                "policy_id: add the route to the config or set policy_id on the event")
        bundle = self._policies.get(policy_id)
        if bundle is None:
            raise DecideError(f"policy {policy_id!r} is not loaded: publish it with `ledgergate policy publish`")
        return bundle, (route.gate if route else None)

    def policy_ref_for(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """The PolicyRef a decision of ``req`` would carry; the unresolved marker when none loads."""
        try:
            bundle, _ = self._bundle_for(req)
        except DecideError:
            route = self._routes.get(req["route_id"])
            return unresolved_policy(route.policy_id if route else req.get("policy_id"))
        return dict(self._policies.ref(bundle.id))

    def decide_batch(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | DecideError]:
        """Decisions for a batch of request events (one classifier pass over all their parts)."""
        plans: list[tuple[PolicyBundle, RouteGate | None] | DecideError] = []
        texts: list[str] = []
        needed: set[str] = set()
        for req in requests:
            try:
                plan = self._bundle_for(req)
            except DecideError as exc:
                plans.append(exc)
                continue
            plans.append(plan)
            needed |= plan[0].needed_categories()
            texts.extend(p["text"] for p in req["parts"])
        # one nlp.pipe pass for the whole batch; skip detectors nobody's policy needs
        results = self._classifier.classify_batch(texts, frozenset(needed)) if texts else []
        out: list[dict[str, Any] | DecideError] = []
        pos = 0
        for req, planned in zip(requests, plans, strict=True):
            if isinstance(planned, DecideError):
                out.append(planned)
                continue
            n = len(req["parts"])
            out.append(self._one(req, planned[0], planned[1], results[pos:pos + n]))
            pos += n
        return out

    def _one(self, req: Mapping[str, Any], bundle: PolicyBundle, gate: RouteGate | None,
             classes: Sequence[Classification]) -> dict[str, Any]:
        p = req["principal"]
        caller = Caller(p["person"], p["tenant"], tuple(p.get("roles") or ()), req["route_id"])
        verdict = decide(bundle, caller, gate, classes)
        return build_decision(req, verdict, self._policies.ref(bundle.id), classes, hash_key=self._hash_key,
                              worker_id=self._worker_id, now_us=self._clock_us())


def build_decision(req: Mapping[str, Any], verdict: Verdict, policy_ref: Mapping[str, Any],
                   classes: Sequence[Classification], *, hash_key: bytes, worker_id: str,
                   now_us: int) -> dict[str, Any]:
    """The Decision record (schemas/avro/Decision.avsc) for one verdict.

    ``policy_ref`` is the judging bundle's id, version and content hash.
    """
    parts = req["parts"]
    replaced: dict[tuple[int, int, int, str], str] = {}
    redacted_parts: list[dict[str, Any]] = []
    if verdict.outcome == "redact":
        by_part: dict[int, list[Any]] = {}
        ops: dict[int, dict[str, str]] = {}
        for i, span, op in verdict.redactions:
            by_part.setdefault(i, []).append(span)
            ops.setdefault(i, {})[span.entity_type] = op
        for i, part in enumerate(parts):
            text = part["text"]
            if i in by_part:
                text, reps = redact(text, by_part[i], ops[i], hash_key=hash_key)
                for r in reps:
                    replaced[(i, r.span.start, r.span.end, r.span.entity_type)] = r.text
            redacted_parts.append({"path": part["path"], "role": part.get("role"), "text": text})

    findings = []
    for i, c in enumerate(classes):
        text = parts[i]["text"]
        for s in c.spans:
            findings.append({
                "entity_type": s.entity_type, "category": s.category, "part": i,
                "start": s.start, "end": s.end, "score": round(float(s.score), 4),
                "recognizer": s.recognizer,
                "value_hash": value_hash(text[s.start:s.end], hash_key),
                "replacement": replaced.get((i, s.start, s.end, s.entity_type)),
            })
    return {
        "decision_id": f"dec_{uuid.uuid4().hex}",
        "request_id": req["request_id"],
        "decided_at_us": now_us,
        "received_at_us": req["received_at_us"],
        "outcome": verdict.outcome,
        "rule_id": verdict.rule_id,
        "explanation": verdict.explanation,
        "policy": dict(policy_ref),
        "categories": sorted(verdict.categories),
        "findings": findings,
        "redacted_parts": redacted_parts,
        "principal": dict(req["principal"]),
        "source": req["source"],
        "route_id": req["route_id"],
        "mode": req["mode"],
        "upstream_id": req.get("upstream_id"),
        "model": req.get("model"),
        "endpoint": req.get("endpoint", "chat.completions"),
        "metadata": dict(req.get("metadata") or {}),
        "worker_id": worker_id,
    }


# The PolicyRef.hash of a fail-closed block whose request names no loadable bundle
# (documented in Decision.avsc and the README); version is then 0.
UNRESOLVED_POLICY_HASH = "unresolved"


def unresolved_policy(policy_id: str | None) -> dict[str, Any]:
    """The PolicyRef of a decision no bundle could be found for."""
    return {"id": policy_id or "none", "version": 0, "hash": UNRESOLVED_POLICY_HASH}


def blocked_for_error(req: Mapping[str, Any], error: str, *, worker_id: str, now_us: int,
                      policy_ref: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A fail-closed block for a request that could not be judged (so an enforce caller is not left hanging).

    ``policy_ref`` is the bundle the request would have been judged by (its id,
    version and content hash); without one, the unresolved marker.
    """
    return {
        "decision_id": f"dec_{uuid.uuid4().hex}",
        "request_id": req["request_id"],
        "decided_at_us": now_us,
        "received_at_us": req["received_at_us"],
        "outcome": "block",
        "rule_id": "error-fail-closed",
        "explanation": f"the request could not be judged and is refused: {error}",
        "policy": dict(policy_ref) if policy_ref else unresolved_policy(req.get("policy_id")),
        "categories": [], "findings": [], "redacted_parts": [],
        "principal": dict(req["principal"]),
        "source": req["source"], "route_id": req["route_id"], "mode": req["mode"],
        "upstream_id": req.get("upstream_id"), "model": req.get("model"),
        "endpoint": req.get("endpoint", "chat.completions"),
        "metadata": dict(req.get("metadata") or {}),
        "worker_id": worker_id,
    }
