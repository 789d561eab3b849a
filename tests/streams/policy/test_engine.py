"""The policy engine: precedence, default deny, RBAC, redaction targets (table-driven)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from ledgergate.schemas.policy import PolicyBundle
from ledgergate.streams.policy.engine import Caller, RouteGate, decide
from ledgergate.streams.policy.registry import PolicyRegistry, PolicyUpdateError


@dataclass(frozen=True)
class S:
    entity_type: str
    category: str
    score: float = 0.9
    start: int = 0
    end: int = 4
    recognizer: str = "t"


@dataclass(frozen=True)
class C:
    categories: frozenset
    spans: tuple


def cls(*spans: S) -> C:
    # like the classifier: a category is claimed from spans at or above 0.5
    return C(frozenset(s.category for s in spans if s.score >= 0.5), tuple(spans))


BUNDLE = PolicyBundle.model_validate({
    "id": "p", "version": 3,
    "redaction": {"default_operator": "type_tag", "operators": {"PERSON": "pseudonym"}},
    "rules": [
        {"id": "block-secrets", "action": "block", "match": {"categories": ["SECRET"]}},
        {"id": "block-injection-strong", "action": "block",
         "match": {"categories": ["PROMPT_INJECTION"], "min_score": 0.8}},
        {"id": "admins-see-pii", "action": "allow", "match": {"categories": ["PII"], "roles": ["admin"]}},
        {"id": "redact-pii", "action": "redact", "match": {"categories": ["PII", "PHI"], "not_roles": ["admin"]},
         "operators": {"EMAIL_ADDRESS": "mask"}},
        {"id": "allow-acme", "action": "allow", "match": {"tenants": ["acme"]}},
    ],
})
ALICE = Caller("alice", "acme", ("analyst",), "r")
ADMIN = Caller("root", "acme", ("admin",), "r")
OTHER = Caller("olga", "globex", ("analyst",), "r")
GATE = RouteGate(("analyst", "admin"))


@pytest.mark.parametrize("caller, parts, outcome, rule", [
    (ALICE, [cls()], "allow", "allow-acme"),
    (OTHER, [cls()], "block", "default-deny"),                                   # nothing matched
    (ALICE, [cls(S("SECRET", "SECRET"))], "block", "block-secrets"),
    (ALICE, [cls(S("EMAIL_ADDRESS", "PII"), S("SECRET", "SECRET"))], "block", "block-secrets"),  # block > redact
    (ALICE, [cls(S("EMAIL_ADDRESS", "PII"))], "redact", "redact-pii"),           # redact > allow
    (ADMIN, [cls(S("EMAIL_ADDRESS", "PII"))], "allow", "admins-see-pii"),
    (ALICE, [cls(S("PROMPT_INJECTION", "PROMPT_INJECTION", 0.6))], "allow", "allow-acme"),  # under min_score
    (ALICE, [cls(S("PROMPT_INJECTION", "PROMPT_INJECTION", 0.95))], "block", "block-injection-strong"),
    (ALICE, [cls(S("EMAIL_ADDRESS", "PII", 0.3))], "allow", "allow-acme"),      # under the bundle threshold
    (ALICE, [cls(), cls(S("SECRET", "SECRET"))], "block", "block-secrets"),      # any part counts
    (Caller("x", "acme", ("intern",), "r"), [cls()], "block", "rbac-deny"),
])
def test_decide(caller: Caller, parts: list, outcome: str, rule: str) -> None:
    v = decide(BUNDLE, caller, GATE, parts)
    assert (v.outcome, v.rule_id) == (outcome, rule)


def test_tenant_gate() -> None:
    v = decide(BUNDLE, OTHER, RouteGate(("analyst",), ("acme",)), [cls()])
    assert (v.outcome, v.rule_id) == ("block", "rbac-deny")
    assert "globex" in v.explanation


def test_redactions_choose_operators_and_skip_document_level_spans() -> None:
    parts = [cls(S("EMAIL_ADDRESS", "PII"), S("PERSON", "PII", start=5, end=9)),
             cls(S("MNPI", "MNPI"), S("MEDICAL_RECORD_NUMBER", "PHI"))]
    v = decide(BUNDLE, ALICE, GATE, parts)
    got = sorted((i, s.entity_type, op) for i, s, op in v.redactions)
    assert got == [(0, "EMAIL_ADDRESS", "mask"), (0, "PERSON", "pseudonym"),
                   (1, "MEDICAL_RECORD_NUMBER", "type_tag")]
    assert v.categories == frozenset({"PII", "MNPI", "PHI"})


@pytest.mark.parametrize("bundle, message", [
    ({"id": "p", "version": 1, "rules": []}, "at least 1"),
    ({"id": "p", "version": 1, "rules": [{"id": "a", "action": "allow", "match": {}}]}, "empty match"),
    ({"id": "p", "version": 1, "rules": [{"id": "a", "action": "allow", "match": {"categories": ["PIIX"]}}]},
     "unknown category 'PIIX'"),
    ({"id": "p", "version": 1, "rules": [{"id": "a", "action": "permit", "match": {"always": True}}]}, "action"),
    ({"id": "p", "version": 1, "rules": [{"id": "a", "action": "allow", "match": {"always": True}},
                                         {"id": "a", "action": "block", "match": {"always": True}}]},
     "duplicate rule id 'a'"),
])
def test_invalid_bundles_fail_closed_at_load(bundle: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PolicyBundle.model_validate(bundle)


def test_content_hash_is_stable_and_sensitive() -> None:
    again = PolicyBundle.model_validate(BUNDLE.model_dump(mode="json"))
    assert again.content_hash == BUNDLE.content_hash
    changed = BUNDLE.model_copy(update={"version": 4})
    assert changed.content_hash != BUNDLE.content_hash


def test_registry_newest_version_wins() -> None:
    reg = PolicyRegistry([BUNDLE])
    older = BUNDLE.model_copy(update={"version": 2})
    assert not reg.offer(older)
    newer = PolicyBundle.model_validate({**BUNDLE.model_dump(mode="json"), "version": 4})
    assert reg.offer_json(newer.canonical_json())
    assert reg.get("p").version == 4
    assert reg.ref("p") == {"id": "p", "version": 4, "hash": newer.content_hash}
    with pytest.raises(PolicyUpdateError, match="rules"):
        reg.offer_json(b'{"id": "p", "version": 9, "rules": []}')
    assert reg.get("p").version == 4


def test_needed_categories() -> None:
    assert BUNDLE.needed_categories() == frozenset({"SECRET", "PROMPT_INJECTION", "PII", "PHI"})
