"""The policy engine: a pure function from (bundle, caller, classification) to a verdict.

Fail closed everywhere: a caller outside the route's roles or tenants is
blocked, a request no rule matches is blocked, and an error while deciding is
the caller's problem to turn into a block (see ``streams/agents.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ledgergate.schemas.policy import ACTION_RANK, PolicyBundle, Rule
from ledgergate.schemas.taxonomy import ENTITY_TYPES

_ENTITY_SET = frozenset(ENTITY_TYPES)


class SpanLike(Protocol):
    """A detected span as the engine reads it (read-only, so frozen dataclasses fit)."""

    @property
    def entity_type(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def recognizer(self) -> str: ...


class ClassificationLike(Protocol):
    """One prompt part's classification as the engine reads it."""

    @property
    def categories(self) -> frozenset[str]: ...
    @property
    def spans(self) -> Sequence[SpanLike]: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """What the policy may know about the caller."""

    person: str
    tenant: str
    roles: tuple[str, ...]
    route_id: str


@dataclass(frozen=True, slots=True)
class RouteGate:
    """RBAC of the route: callers need one of ``roles`` (and a listed tenant, if any)."""

    roles: tuple[str, ...]
    tenants: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one decision and why."""

    outcome: str                      # allow | redact | block
    rule_id: str
    explanation: str
    categories: frozenset[str]
    # (part index, span) of every entity to replace, with the operator to use
    redactions: tuple[tuple[int, SpanLike, str], ...] = field(default=())


DEFAULT_DENY = "default-deny"
RBAC_DENY = "rbac-deny"


def _effective(spans: Sequence[SpanLike], threshold: float) -> list[SpanLike]:
    return [s for s in spans if s.score >= threshold]


def _rule_matches(rule: Rule, caller: Caller, categories: frozenset[str],
                  spans: Sequence[SpanLike]) -> bool:
    m = rule.match
    if m.roles and not set(m.roles) & set(caller.roles):
        return False
    if m.not_roles and set(m.not_roles) & set(caller.roles):
        return False
    if m.tenants and caller.tenant not in m.tenants:
        return False
    if m.routes and caller.route_id not in m.routes:
        return False
    if m.categories:
        hit = categories if m.min_score == 0 else {s.category for s in spans if s.score >= m.min_score}
        if not hit & set(m.categories):
            return False
    if m.entity_types:
        if not any(s.entity_type in m.entity_types and s.score >= m.min_score for s in spans):
            return False
    return True


def _redaction_targets(rule: Rule, span: SpanLike) -> bool:
    """Whether a matching redact rule covers this entity span."""
    m = rule.match
    if m.entity_types:
        return span.entity_type in m.entity_types and span.score >= m.min_score
    if m.categories:
        return span.category in m.categories and span.score >= m.min_score
    return True  # e.g. a role-based redact-everything rule


def decide(bundle: PolicyBundle, caller: Caller, gate: RouteGate | None,
           parts: Sequence[ClassificationLike]) -> Verdict:
    """Judge one request.

    ``parts`` holds one classification per prompt part, in the request's
    order; the redactions refer to those part indexes.
    """
    if gate is not None:
        if not set(gate.roles) & set(caller.roles):
            return Verdict("block", RBAC_DENY,
                           f"caller roles {sorted(caller.roles) or '[]'} are not among the route's "
                           f"allowed roles {sorted(gate.roles)}", frozenset())
        if gate.tenants and caller.tenant not in gate.tenants:
            return Verdict("block", RBAC_DENY,
                           f"tenant {caller.tenant!r} may not use route {caller.route_id!r}", frozenset())

    threshold = bundle.score_threshold
    indexed = [(i, s) for i, c in enumerate(parts) for s in _effective(c.spans, threshold)]
    spans = [s for _, s in indexed]
    # the classifier's own category judgement counts too: leaning towards the
    # stricter reading is the fail-closed choice
    categories = frozenset(s.category for s in spans).union(*(c.categories for c in parts))

    matched = [r for r in bundle.rules if _rule_matches(r, caller, categories, spans)]
    if not matched:
        return Verdict("block", DEFAULT_DENY,
                       f"no rule of policy {bundle.id} v{bundle.version} matched: denied by default",
                       categories)
    top = max(ACTION_RANK[r.action] for r in matched)
    winner = next(r for r in matched if ACTION_RANK[r.action] == top)
    if winner.action != "redact":
        return Verdict(winner.action, winner.id, winner.explain or winner.id, categories)

    redact_rules = [r for r in matched if r.action == "redact"]
    out: list[tuple[int, SpanLike, str]] = []
    for i, s in indexed:
        if s.entity_type not in _ENTITY_SET:
            continue  # document-level findings (MNPI, injection, ...) have nothing to replace
        rule = next((r for r in redact_rules if _redaction_targets(r, s)), None)
        if rule is None:
            continue
        op = (rule.operators.get(s.entity_type)
              or bundle.redaction.operators.get(s.entity_type)
              or bundle.redaction.default_operator)
        out.append((i, s, op))
    return Verdict("redact", winner.id, winner.explain or winner.id, categories, tuple(out))
