"""`ledgergate up`: every part starts, reports readiness, and SIGTERM stops all of them (no orphans)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from ledgergate.broker import free_port
from ledgergate.config import default_config_text

from support import wait_for


def _children_of(pid: int) -> set[int]:
    """Every descendant of pid (from /proc)."""
    kids: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.add(k)
            todo.append(k)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_up_starts_everything_and_sigterm_leaves_no_orphans(tmp_path: Path) -> None:
    data = yaml.safe_load(default_config_text())
    data["broker"]["embedded_port"] = free_port()
    data["proxy"]["port"] = port = free_port()
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(data))
    subprocess.run([sys.executable, "-m", "ledgergate", "keys", "generate", "--dir", str(tmp_path / "keys")],
                   check=True, capture_output=True)
    log = open(tmp_path / "up.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ledgergate", "up", "--config", str(tmp_path / "c.yaml")],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"ledgergate is up" in (tmp_path / "up.log").read_bytes(), 150, "up ready",
                 proc, tmp_path / "up.log")
        out = (tmp_path / "up.log").read_text()
        for part in ("broker   ready", "ledger   ready", "worker   ready", "proxy    ready"):
            assert part in out
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        family = _children_of(proc.pid)
        assert len(family) >= 4  # broker, ledger, worker, proxy (+ their helpers)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in family) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p for p in family if _alive(p)] == []
        assert "stopped" in (tmp_path / "up.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
