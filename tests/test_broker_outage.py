"""Observe traffic across a broker crash and restart: nothing is lost.

The proxy forwards observe requests at once; while the broker is gone their
events go to the fsync'd spool, and are replayed when it returns. The ledger
ends with exactly one decision and one response record per request sent.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import httpx

from ledgergate.broker import EmbeddedBroker, free_port
from ledgergate.config import load_settings
from ledgergate.devstack.fakeupstream import fake_upstream
from ledgergate.devstack.supervisor import Stack
from ledgergate.ledger.client import open_ledger
from ledgergate.proxy.devissuer import dev_token

from support import wait_for, write_config

N_BEFORE, N_DURING, N_AFTER = 10, 15, 5


def test_broker_killed_and_restarted_loses_no_observe_event(tmp_path: Path) -> None:
    port = free_port()
    with fake_upstream() as up:
        cfg = write_config(tmp_path, bootstrap=f"127.0.0.1:{port}", prefix=f"o{uuid.uuid4().hex[:6]}",
                           upstream_url=up.base_url, proxy_port=free_port())
        settings = load_settings(cfg)
        from ledgergate.devstack.demo import prepare_keys

        prepare_keys(settings)
        # this test owns its broker: the stack's supervisor restarts it like `ledgergate up` does
        st = Stack(settings, cfg, tmp_path, say=lambda s: None)
        st.broker = EmbeddedBroker(port=port, log_file=tmp_path / "broker.log")
        st.broker.start()
        st.start_parts()
        tok = dev_token(settings.identity.dev, sub="alice", tenant="acme", roles=["analyst"])
        sent = []
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{settings.proxy.port}", timeout=30,
                              headers={"Authorization": f"Bearer {tok}"}) as client:
                def send(n: int, tag: str) -> None:
                    for i in range(n):
                        r = client.post("/v1/chat/completions", json={
                            "model": "gpt-demo-observe",
                            "messages": [{"role": "user", "content": f"{tag} question {i}: name a river"}]})
                        assert r.status_code == 200, r.text
                        sent.append(r.json()["id"] if "id" in r.json() else None)

                def counts() -> tuple[int, int]:
                    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                                     keys_dir=settings.ledger.keys_dir) as led:
                        return (len(led.list(kind="decision", limit=10_000)),
                                len(led.list(kind="response", limit=10_000)))

                send(N_BEFORE, "before")
                # the embedded broker is in memory: what it acked but nobody consumed yet
                # dies with it (real Kafka replicates it); the spool covers what it never acked
                wait_for(lambda: counts() == (N_BEFORE, N_BEFORE), 30, "records before the outage")
                os.kill(st.broker.proc.pid, signal.SIGKILL)
                st.broker.proc.wait()
                send(N_DURING, "during")   # forwarded at once, events spooled
                assert st.heal()           # what `ledgergate up` does when the broker dies
                send(N_AFTER, "after")
                total = N_BEFORE + N_DURING + N_AFTER

                wait_for(lambda: counts() == (total, total), 90, f"{total} decisions and responses")
                with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                                 keys_dir=settings.ledger.keys_dir) as led:
                    rows = led.list(kind="decision", limit=10_000)
                    assert len({r["request_id"] for r in rows}) == total
                    assert led.verify()["ok"]
        finally:
            st.stop()
