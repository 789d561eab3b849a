"""`ledgergate policy test BUNDLE CASES.yaml`: table-driven tests for policy bundles.

A cases file lets a team unit-test its policy the way it unit-tests code::

    cases:
      - name: analyst's email is redacted
        caller: {person: alice, tenant: acme, roles: [analyst]}
        route: assistant                 # optional
        allowed_roles: [analyst]         # optional: the route's RBAC gate
        findings:                        # what the classifier found ...
          - {entity_type: EMAIL_ADDRESS, score: 0.95}
          - {category: PROMPT_INJECTION, score: 0.9}
        # ... or `text:` to run the real classifier on a prompt
        expect: {outcome: redact, rule: redact-personal-data}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ledgergate.config import ConfigError, load_policy_file, read_yaml
from ledgergate.errors import LedgergateError
from ledgergate.schemas.taxonomy import CATEGORIES, ENTITY_TYPES
from ledgergate.streams.classify.engine import Classification, Span
from ledgergate.streams.policy.engine import Caller, RouteGate, decide

_ENTITY_CATEGORY = {e: ("PHI" if e == "MEDICAL_RECORD_NUMBER" else "SECRET" if e == "SECRET" else "PII")
                    for e in ENTITY_TYPES}


class PolicyCaseError(LedgergateError):
    """The cases file is invalid."""


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseCaller(_M):
    person: str = "someone"
    tenant: str = "default"
    roles: tuple[str, ...] = ()


class CaseFinding(_M):
    entity_type: str | None = None
    category: str | None = None
    score: float = Field(0.9, ge=0, le=1)


class Expect(_M):
    outcome: Literal["allow", "redact", "block"]
    rule: str | None = None


class Case(_M):
    name: str
    caller: CaseCaller = CaseCaller()
    route: str = "default"
    allowed_roles: tuple[str, ...] | None = None
    allowed_tenants: tuple[str, ...] = ()
    findings: tuple[CaseFinding, ...] = ()
    text: str | None = None
    expect: Expect


class CasesFile(_M):
    cases: tuple[Case, ...] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    ok: bool
    detail: str


def _synthetic(findings: tuple[CaseFinding, ...]) -> Classification:
    spans = []
    for f in findings:
        et = f.entity_type or f.category or ""
        if f.entity_type is not None and f.entity_type not in ENTITY_TYPES:
            raise PolicyCaseError(f"unknown entity_type {f.entity_type!r}: expected one of {', '.join(ENTITY_TYPES)}")
        cat = f.category or _ENTITY_CATEGORY.get(et, "")
        if cat not in CATEGORIES:
            raise PolicyCaseError(f"finding {et!r} needs a category among {', '.join(CATEGORIES)}")
        spans.append(Span(et, cat, 0, 1, f.score, "case"))
    return Classification(frozenset(s.category for s in spans), tuple(spans))


def run_cases(bundle_path: Path, cases_path: Path, classifier: Any = None) -> list[CaseResult]:
    """Run every case; cases with ``text`` use ``classifier`` (built on demand)."""
    try:
        bundle = load_policy_file(bundle_path)
    except ConfigError as exc:
        path, msg = exc.problems[0]
        raise PolicyCaseError(f"{exc.source}: {path + ': ' if path else ''}{msg}") from exc
    try:
        raw = read_yaml(cases_path)
        cases = CasesFile.model_validate(raw).cases
    except ConfigError as exc:
        raise PolicyCaseError(str(exc)) from exc
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e["loc"])
        raise PolicyCaseError(f"{cases_path}: {where}: {e['msg']}") from exc

    out = []
    for case in cases:
        if case.text is not None:
            if classifier is None:
                from ledgergate.streams.classify.build import build_classifier

                classifier = build_classifier()
            cls: Any = classifier.classify(case.text)
        else:
            cls = _synthetic(case.findings)
        gate = RouteGate(case.allowed_roles, case.allowed_tenants) if case.allowed_roles is not None else None
        v = decide(bundle, Caller(case.caller.person, case.caller.tenant, case.caller.roles, case.route),
                   gate, [cls])
        ok = v.outcome == case.expect.outcome and (case.expect.rule is None or v.rule_id == case.expect.rule)
        detail = f"got {v.outcome} by {v.rule_id}"
        if not ok:
            detail += f", expected {case.expect.outcome}" + (f" by {case.expect.rule}" if case.expect.rule else "")
        out.append(CaseResult(case.name, ok, detail))
    return out
