"""Ledgers signed before the fingerprint fix (issue #12) still verify.

The fixture in data/legacy-header/ was written by the pre-fix code: every
record's signed bytes carry the byte-reversed fingerprint. Verification works
on those stored bytes, and the readers accept the legacy header.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import fastavro
import pytest

from ledgergate.schemas import codec

DATA = Path(__file__).parent / "data" / "legacy-header"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(DATA / "keys", tmp_path / "keys")
    with gzip.open(DATA / "ledger.duckdb.gz") as src, open(tmp_path / "ledger.duckdb", "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copytree(DATA / "bundle", tmp_path / "bundle")
    return tmp_path


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledgergate", *args], capture_output=True,
                          text=True, timeout=120)


def test_the_fixture_really_is_legacy() -> None:
    with open(DATA / "bundle" / "records.avro", "rb") as fh:
        payloads = [r["payload"] for r in fastavro.reader(fh)]
    legacy = codec.schema("AuditRecord").legacy_header
    assert len(payloads) == 12 and all(p[:10] == legacy for p in payloads)
    assert legacy != codec.schema("AuditRecord").header


@pytest.mark.parametrize("extra", [[], ["--all-signatures"]])
def test_a_pre_fix_ledger_file_verifies(workdir: Path, extra: list[str]) -> None:
    r = _cli("verify", "--workdir", str(workdir), *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "INTACT: 12 records" in r.stdout


def test_a_pre_fix_bundle_verifies(workdir: Path) -> None:
    r = _cli("verify", "--bundle", str(workdir / "bundle"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "INTACT" in r.stdout


def test_pre_fix_records_read_back(workdir: Path) -> None:
    r = _cli("events", "list", "--workdir", str(workdir), "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 12
    # JSON Lines; metadata is an object, not the stored JSON text
    assert all(isinstance(json.loads(line)["metadata"], dict) for line in lines)
    assert json.loads(lines[0])["metadata"] == {"loan_id": "L7311"}
