"""`ledgergate up` restarts a part that exits, after a growing backoff, and says so."""

from __future__ import annotations

import sys

import yaml

from ledgergate.config import default_config_text, settings_from_mapping
from ledgergate.devstack.supervisor import BACKOFF_MAX_S, Child, Stack, backoff


def test_backoff_doubles_to_a_cap():
    assert [backoff(n) for n in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(50) == BACKOFF_MAX_S


def test_revive_restarts_an_exited_child_after_its_backoff(tmp_path):
    said: list[str] = []
    settings = settings_from_mapping(yaml.safe_load(default_config_text()), source="test")
    st = Stack(settings, tmp_path / "c.yaml", tmp_path, say=said.append)
    child = Child("worker-0", [sys.executable, "-c", "pass"], tmp_path / "w.log")
    st.children.append(child)
    child.start()
    child.proc.wait()
    assert st.revive(now=100.0) == [] and "worker-0 exited (code 0); restarting in 0.5s" in said[-1]
    assert st.revive(now=100.2) == []  # still backing off
    assert st.revive(now=100.6) == ["worker-0"] and "restart 1 in a row" in said[-1]
    child.proc.wait()
    st.revive(now=101.0)
    assert "restarting in 1.0s" in said[-1]  # the second restart in a row waits twice as long
