"""The pure judge: request events → Decision records, no broker, no spaCy.

The classifier is a stand-in that returns scripted spans (the detectors have their own
tests); the policy engine, the registry, redaction, value hashes and the Avro codec are
the real ones, so every decision here is also checked against the Decision schema.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from hashlib import sha256
from typing import Any

import pytest

from ledgergate.schemas.codec import decode, default_codec, encode
from ledgergate.schemas.policy import PolicyBundle
from ledgergate.streams.classify.engine import Classification, Span
from ledgergate.streams.decide import DecideError, Decider, RouteInfo, blocked_for_error, build_decision
from ledgergate.streams.policy.engine import RouteGate, Verdict
from ledgergate.streams.policy.registry import PolicyRegistry

KEY = b"k" * 32
NOW = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs
EMAIL = "ana@example.com"

BUNDLE = PolicyBundle.model_validate({
    "id": "p", "version": 3, "score_threshold": 0.5,
    "redaction": {"default_operator": "type_tag", "operators": {"US_SSN": "mask"}},
    "rules": [
        {"id": "secrets-block", "action": "block", "match": {"categories": ["SECRET"]}, "explain": "no secrets"},
        {"id": "pii-redact", "action": "redact", "match": {"categories": ["PII"]}, "explain": "PII redacted"},
        {"id": "analysts-allow", "action": "allow", "match": {"roles": ["analyst"]}},
    ],
})


def _span(text: str, value: str, entity: str, category: str, score: float = 0.9) -> Span:
    start = text.index(value)
    return Span(entity, category, start, start + len(value), score, "scripted")


class ScriptedClassifier:
    """Finds exactly the values it was told about; records what it was asked."""

    def __init__(self, values: dict[str, tuple[str, str]] | None = None) -> None:
        self.values = values or {EMAIL: ("EMAIL_ADDRESS", "PII"), "123-45-6789": ("US_SSN", "PII"),
                                 "AKIAABCDEFGHIJKLMNOP": ("SECRET", "SECRET")}
        self.calls: list[tuple[list[str], frozenset[str] | None]] = []

    def classify_batch(self, texts: Sequence[str], needed: frozenset[str] | None = None) -> list[Classification]:
        self.calls.append((list(texts), needed))
        out = []
        for t in texts:
            spans = tuple(_span(t, v, e, c) for v, (e, c) in self.values.items() if v in t)
            out.append(Classification(frozenset(s.category for s in spans), spans))
        return out


def _request(*texts: str, route: str = "assistant", roles: tuple[str, ...] = ("analyst",),
             rid: str = "req-1", **extra: Any) -> dict[str, Any]:
    return {"request_id": rid, "received_at_us": NOW - 5000, "source": "proxy",
            "principal": {"person": "ana", "tenant": "acme", "roles": list(roles), "auth_method": "jwt"},
            "route_id": route, "mode": "enforce", "upstream_id": "openai", "model": "gpt-4o",
            "parts": [{"path": f"/messages/{i}/content", "role": "user", "text": t} for i, t in enumerate(texts)],
            **extra}


def _decider(classifier: ScriptedClassifier | None = None, **routes: RouteInfo) -> Decider:
    routes = routes or {"assistant": RouteInfo("p", RouteGate(("analyst", "underwriter")))}
    return Decider(classifier or ScriptedClassifier(), PolicyRegistry([BUNDLE]), routes,
                   hash_key=KEY, worker_id="w-1", clock_us=lambda: NOW)


def _one(decider: Decider, req: dict[str, Any]) -> dict[str, Any]:
    [d] = decider.decide_batch([req])
    assert not isinstance(d, DecideError), d
    return d


@pytest.mark.parametrize("texts, roles, outcome, rule", [
    (("what is 2 + 2?",), ("analyst",), "allow", "analysts-allow"),
    ((f"mail {EMAIL} please",), ("analyst",), "redact", "pii-redact"),
    (("key AKIAABCDEFGHIJKLMNOP", f"and {EMAIL}"), ("analyst",), "block", "secrets-block"),
    (("what is 2 + 2?",), ("underwriter",), "block", "default-deny"),
    (("what is 2 + 2?",), ("guest",), "block", "rbac-deny"),
])
def test_outcomes(texts: tuple[str, ...], roles: tuple[str, ...], outcome: str, rule: str) -> None:
    d = _one(_decider(), _request(*texts, roles=roles))
    assert (d["outcome"], d["rule_id"]) == (outcome, rule)
    assert decode(encode("Decision", d), expect="Decision")["outcome"] == outcome  # the contract holds


def test_redaction_rewrites_only_the_values_and_records_each_finding() -> None:
    text = f"mail {EMAIL}, SSN 123-45-6789"
    d = _one(_decider(), _request(text, "nothing here"))
    assert [p["text"] for p in d["redacted_parts"]] == ["mail <EMAIL_ADDRESS>, SSN ***********", "nothing here"]
    assert [p["path"] for p in d["redacted_parts"]] == ["/messages/0/content", "/messages/1/content"]
    email, ssn = d["findings"]
    assert (email["entity_type"], email["part"], email["start"], email["end"]) == ("EMAIL_ADDRESS", 0, 5, 20)
    assert email["replacement"] == "<EMAIL_ADDRESS>" and ssn["replacement"] == "***********"
    # keyed hash of the value, never the value
    assert email["value_hash"] == hmac.new(KEY, EMAIL.encode(), sha256).hexdigest()[:32]
    assert EMAIL not in repr(d["findings"])
    assert d["categories"] == ["PII"]


def test_the_record_carries_the_request_the_policy_and_the_clock() -> None:
    d = _one(_decider(), _request("hi", rid="req-42", metadata={"loan_id": "L-7"}))
    assert d["request_id"] == "req-42" and d["received_at_us"] == NOW - 5000 and d["decided_at_us"] == NOW
    assert d["policy"] == {"id": "p", "version": 3, "hash": BUNDLE.content_hash}
    assert d["principal"]["person"] == "ana" and d["metadata"] == {"loan_id": "L-7"}
    assert (d["worker_id"], d["endpoint"], d["mode"], d["source"]) == ("w-1", "chat.completions", "enforce", "proxy")
    assert d["decision_id"].startswith("dec_") and d["redacted_parts"] == [] and d["findings"] == []


def test_decision_ids_are_unique() -> None:
    decider = _decider()
    ids = {d["decision_id"] for d in decider.decide_batch([_request("hi", rid=f"r{i}") for i in range(50)])}
    assert len(ids) == 50


def test_one_classifier_pass_per_batch_with_only_the_needed_categories() -> None:
    clf = ScriptedClassifier()
    decisions = _decider(clf).decide_batch([_request("a", "b", rid="r1"), _request(f"c {EMAIL}", rid="r2")])
    assert len(clf.calls) == 1
    texts, needed = clf.calls[0]
    assert texts == ["a", "b", f"c {EMAIL}"]
    assert needed == BUNDLE.needed_categories()
    # results are split back per request in order
    assert [d["outcome"] for d in decisions] == ["allow", "redact"]
    assert decisions[1]["findings"][0]["part"] == 0


def test_an_unjudgeable_request_does_not_stop_the_batch() -> None:
    clf = ScriptedClassifier()
    reqs = [_request("hi", rid="r1"), _request("hi", route="unknown", rid="r2"),
            _request("hi", route="unknown", rid="r3", policy_id="missing"),
            _request(f"x {EMAIL}", rid="r4")]
    out = _decider(clf).decide_batch(reqs)
    assert [type(o).__name__ for o in out] == ["dict", "DecideError", "DecideError", "dict"]
    assert "route 'unknown' is unknown" in str(out[1]) and "policy_id" in str(out[1])
    assert "policy 'missing' is not loaded" in str(out[2]) and "ledgergate policy publish" in str(out[2])
    assert clf.calls[0][0] == ["hi", f"x {EMAIL}"]  # the failed ones were not classified
    assert out[3]["outcome"] == "redact"


def test_an_unknown_route_with_a_policy_id_is_judged_without_a_gate() -> None:
    d = _one(_decider(), _request("hi", route="mlflow-experiments", roles=("data-scientist",), policy_id="p"))
    assert (d["outcome"], d["rule_id"]) == ("block", "default-deny")  # no RBAC gate, the policy still decides


def test_a_batch_of_nothing_classifies_nothing() -> None:
    clf = ScriptedClassifier()
    assert _decider(clf).decide_batch([]) == []
    assert clf.calls == []


def test_build_decision_uses_the_verdicts_operators() -> None:
    text = f"to {EMAIL}"
    span = _span(text, EMAIL, "EMAIL_ADDRESS", "PII")
    verdict = Verdict("redact", "r", "why", frozenset({"PII"}), ((0, span, "hash"),))
    d = build_decision(_request(text), verdict, {"id": "p", "version": 1, "hash": "h"},
                       [Classification(frozenset({"PII"}), (span,))], hash_key=KEY, worker_id="w", now_us=NOW)
    digest = hmac.new(KEY, EMAIL.encode(), sha256).hexdigest()
    assert d["redacted_parts"][0]["text"] == f"to <EMAIL_ADDRESS:{digest[:12]}>"
    assert d["findings"][0]["replacement"] == f"<EMAIL_ADDRESS:{digest[:12]}>"


def test_blocked_for_error_fails_closed_and_fits_the_schema() -> None:
    d = blocked_for_error(_request("hi", policy_id="p"), "bad bytes", worker_id="w-9", now_us=NOW)
    assert (d["outcome"], d["rule_id"]) == ("block", "error-fail-closed")
    assert "bad bytes" in d["explanation"] and d["policy"]["id"] == "p"
    assert decode(encode("Decision", d), expect="Decision")["rule_id"] == "error-fail-closed"
    unresolved = blocked_for_error(_request("hi"), "x", worker_id="w", now_us=NOW)["policy"]
    assert unresolved == {"id": "none", "version": 0, "hash": "unresolved"}


class FailingClassifier(ScriptedClassifier):
    def classify_batch(self, texts: Sequence[str], needed: frozenset[str] | None = None) -> list[Classification]:
        raise RuntimeError("detector crashed")


@pytest.mark.parametrize("req, expected", [
    # the classifier fails: the bundle the route names, with its real version and hash
    (_request("hi"), {"id": "p", "version": BUNDLE.version, "hash": BUNDLE.content_hash}),
    # an unknown route and a policy that is not loaded: the documented marker
    (_request("hi", route="nowhere", policy_id="missing"),
     {"id": "missing", "version": 0, "hash": "unresolved"}),
    (_request("hi", route="nowhere"), {"id": "none", "version": 0, "hash": "unresolved"}),
])
def test_fail_closed_blocks_carry_the_bundle_they_would_have_used(req: dict[str, Any],
                                                                   expected: dict[str, Any]) -> None:
    from ledgergate.streams.judge import Judge

    judge = Judge(_decider(FailingClassifier()), default_codec(), worker_id="w", clock_us=lambda: NOW)
    (j,) = judge.judge([encode("RequestEvent", {**req, "endpoint": "chat.completions"})])
    d = decode(j.payload, expect="Decision")
    assert (d["outcome"], d["rule_id"]) == ("block", "error-fail-closed")
    assert d["policy"] == expected
