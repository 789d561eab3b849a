"""`ledgergate policy test`: table-driven cases against a bundle file."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgergate.cli import main
from ledgergate.streams.policy.cases import PolicyCaseError, run_cases

BUNDLE = """
id: claims
version: 2
rules:
  - {id: block-secrets, action: block, match: {categories: [SECRET]}}
  - {id: redact-pii, action: redact, match: {categories: [PII]}}
  - {id: allow, action: allow, match: {always: true}}
"""

CASES = """
cases:
  - name: plain question
    expect: {outcome: allow, rule: allow}
  - name: email is redacted
    findings: [{entity_type: EMAIL_ADDRESS}]
    expect: {outcome: redact}
  - name: key is blocked
    findings: [{entity_type: SECRET}, {entity_type: PERSON}]
    expect: {outcome: block, rule: block-secrets}
  - name: intern outside the route
    caller: {roles: [intern]}
    allowed_roles: [analyst]
    expect: {outcome: block, rule: rbac-deny}
"""


def _write(tmp_path: Path, bundle: str, cases: str) -> tuple[Path, Path]:
    b, c = tmp_path / "b.yaml", tmp_path / "c.yaml"
    b.write_text(bundle)
    c.write_text(cases)
    return b, c


def test_all_cases_pass(tmp_path: Path) -> None:
    results = run_cases(*_write(tmp_path, BUNDLE, CASES))
    assert [r.ok for r in results] == [True, True, True, True]


def test_failing_case_is_reported_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b, c = _write(tmp_path, BUNDLE, CASES.replace("expect: {outcome: redact}", "expect: {outcome: allow}"))
    assert main(["policy", "test", str(b), str(c)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  email is redacted: got redact by redact-pii, expected allow" in out
    assert "3 passed, 1 failed" in out


def test_invalid_bundle_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b, c = _write(tmp_path, BUNDLE.replace("version: 2", "version: 0"), CASES)
    assert main(["policy", "test", str(b), str(c)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "version" in err[0] and "greater than or equal to 1" in err[0]


def test_invalid_cases_file(tmp_path: Path) -> None:
    b, c = _write(tmp_path, BUNDLE, "cases:\n  - name: x\n    expect: {outcome: maybe}\n")
    with pytest.raises(PolicyCaseError, match="cases.0.expect.outcome"):
        run_cases(b, c)
