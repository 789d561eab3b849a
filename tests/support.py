"""Helpers for tests that run real processes (importable: tests/ is on pythonpath)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def write_config(directory: Path, *, bootstrap: str, prefix: str, group: str | None = None,
                 upstream_url: str = "http://127.0.0.1:9/v1", proxy_port: int = 0,
                 **sections: dict) -> Path:
    """The built-in config pointed at a test broker and topic prefix, written to directory/ledgergate.yaml."""
    import yaml

    from ledgergate.config import default_config_text

    data = yaml.safe_load(default_config_text())
    data["broker"] = {"bootstrap_servers": bootstrap, "topic_prefix": prefix, "partitions": 4,
                      "kind": "tansu"}
    data["worker"] = {"group_id": group or f"{prefix}-workers"}
    data["proxy"]["port"] = proxy_port
    data["ledger"]["checkpoint_every"] = 50
    data["ledger"]["checkpoint_seconds"] = 1
    for u in data["upstreams"]:
        u["base_url"] = upstream_url
    for k, v in sections.items():
        if isinstance(v, dict) and isinstance(data.get(k), dict):
            data[k].update(v)
        else:
            data[k] = v
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ledgergate.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def start_cli(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Run a ledgergate subcommand as a real child process."""
    from ledgergate.broker import die_with_parent

    return subprocess.Popen([sys.executable, "-m", "ledgergate", *args], stdout=open(log, "wb"),
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)


def stop_proc(proc: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_for(predicate, timeout: float, what: str, proc=None, log: Path | None = None) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited {proc.returncode}\n"
                                 + (log.read_text()[-3000:] if log and log.exists() else ""))
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n"
                         + (log.read_text()[-3000:] if log and log.exists() else ""))


# the shared folder sits beside the repository (../shared), in CI as here
SHARED = Path(__file__).resolve().parents[2] / "shared"


@contextmanager
def running_stack(directory: Path, *, bootstrap: str, tag: str) -> Iterator[tuple[Any, Path, Any, Any]]:
    """The whole `ledgergate up` stack (ledger service, worker, proxy) on a test broker, with the
    fake upstream: yields (settings, config path, fake upstream, httpx client on the proxy)."""
    import httpx

    from ledgergate.broker import free_port
    from ledgergate.config import load_settings
    from ledgergate.devstack.demo import prepare_keys
    from ledgergate.devstack.fakeupstream import fake_upstream
    from ledgergate.devstack.supervisor import Stack

    with fake_upstream() as up:
        cfg = write_config(directory, bootstrap=bootstrap, prefix=f"{tag}{uuid.uuid4().hex[:6]}",
                           upstream_url=up.base_url, proxy_port=free_port())
        settings = load_settings(cfg)
        prepare_keys(settings)
        st = Stack(settings, cfg, directory, say=lambda s: None)
        st.start()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{settings.proxy.port}", timeout=30) as client:
                yield settings, cfg, up, client
        finally:
            st.stop()
