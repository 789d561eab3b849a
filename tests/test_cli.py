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
