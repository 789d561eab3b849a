"""The CLI: bad input is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ledgergate.config import default_config_text


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledgergate", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("args, fragment", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["events", "list", "--since", "yesterday"], "'yesterday' is not a date"),
    (["report", "article12", "--from", "2026-01-01"], "the following arguments are required: --to, --out"),
    (["config", "check", "/nonexistent/x.yaml"], "cannot read file"),
    (["verify", "--db", "/nonexistent/ledger.duckdb"], "no ledger at /nonexistent/ledger.duckdb"),
    (["events", "list", "--config", "/nonexistent/c.yaml"], "cannot read file"),
])
def test_bad_input_is_one_line_exit_2(args: list[str], fragment: str) -> None:
    r = run(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_bad_config_for_a_running_command_is_one_line(tmp_path: Path) -> None:
    d = yaml.safe_load(default_config_text())
    d["proxy"]["port"] = -1
    d["broker"]["partitions"] = 0
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(d))
    r = run("events", "list", "--config", str(tmp_path / "c.yaml"))
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert "broker.partitions" in line and "and 1 more; run `ledgergate config check" in line


def test_help_lists_every_stage() -> None:
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("broker", "worker", "ledger", "proxy", "up", "demo", "token", "events", "verify",
                "export", "prove", "keys", "classify", "policy", "report"):
        assert cmd in r.stdout


def _small_ledger(tmp_path: Path) -> Path:
    """A real signed ledger of 30 decisions written by the real writer, service stopped."""
    import time

    from ledgergate.ledger import keys
    from ledgergate.ledger.entries import from_decision
    from ledgergate.ledger.store import LedgerWriter, connect

    keys.generate(tmp_path / "keys")
    con = connect(str(tmp_path / "ledger.duckdb"))
    w = LedgerWriter(con, keys.load_dir(tmp_path / "keys"), ledger_id="cli", checkpoint_every=10)
    now = time.time_ns() // 1000
    w.append_batch([from_decision({
        "decision_id": f"d{i}", "request_id": f"r{i}", "decided_at_us": now, "received_at_us": now,
        "outcome": "allow", "rule_id": "allow-rest", "explanation": "ok",
        "policy": {"id": "default", "version": 1, "hash": "h"}, "categories": [], "findings": [],
        "principal": {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
        "source": "proxy", "route_id": "assistant", "mode": "enforce"}, recorded_at_us=now) for i in range(30)],
        now=now)
    w.checkpoint(now)
    con.close()
    return tmp_path


def test_export_bundle_verifies_offline_and_tampering_is_named(tmp_path: Path) -> None:
    import json as _json

    d = _small_ledger(tmp_path)
    ledger = {"path": "ledger.duckdb", "keys_dir": "keys", "ledger_id": "cli"}
    (d / "c.yaml").write_text(yaml.safe_dump({**yaml.safe_load(default_config_text()), "ledger": ledger}))
    cfg = str(d / "c.yaml")
    r = run("verify", "--config", cfg, "--all-signatures")
    assert r.returncode == 0 and "INTACT: 30 records" in r.stdout, r.stdout + r.stderr
    r = run("export", "--config", cfg, "--out", str(d / "bundle"))
    assert r.returncode == 0, r.stderr
    r = run("verify", "--bundle", str(d / "bundle"))
    assert r.returncode == 0 and "INTACT" in r.stdout, r.stdout + r.stderr
    rec = run("events", "show", "r7", "--config", cfg)
    record_id = _json.loads(rec.stdout)["record_id"]
    proof = _json.loads(run("prove", record_id, "--config", cfg).stdout)
    assert proof and "tree_size" in _json.dumps(proof)
    # tamper with the database: verify names the record and exits 1
    import duckdb

    con = duckdb.connect(str(d / "ledger.duckdb"))
    con.execute("UPDATE records SET outcome = 'block' WHERE request_id = 'r5'")
    con.close()
    r = run("verify", "--config", cfg)
    assert r.returncode == 1 and "TAMPERED" in r.stdout and "changed-field" in r.stdout, r.stdout
