"""The ledger service process: exactly-once append from Kafka, queries while running, crash recovery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from ledgergate.broker import ensure_topics, topic_specs
from ledgergate.config import load_settings
from ledgergate.ledger import keys
from ledgergate.ledger.client import DirectLedger, ServiceLedger, open_ledger
from ledgergate.schemas import codec

from support import start_cli, stop_proc, wait_for, write_config


def decision(i: int, tenant: str = "acme") -> dict[str, Any]:
    now = time.time_ns() // 1000
    return {"decision_id": f"d{i}", "request_id": f"r{i}", "decided_at_us": now, "received_at_us": now,
            "outcome": "block" if i % 5 == 0 else "allow", "rule_id": "r", "explanation": "x",
            "policy": {"id": "default", "version": 1, "hash": "ab"},
            "categories": ["SECRET"] if i % 5 == 0 else [], "findings": [], "redacted_parts": [],
            "principal": {"person": f"p{i % 3}", "tenant": tenant, "roles": ["analyst"], "auth_method": "jwt"},
            "source": "proxy", "route_id": "assistant", "mode": "enforce"}


async def publish(bootstrap: str, topic: str, values: list[bytes]) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await p.start()
    try:
        for v in values:
            await p.send(topic, key=b"x", value=v)
        await p.flush()
    finally:
        await p.stop()


@pytest.fixture
def ledger_env(broker, tmp_path: Path):
    prefix = f"l{uuid.uuid4().hex[:6]}"
    cfg = write_config(tmp_path, bootstrap=broker.bootstrap, prefix=prefix)
    s = load_settings(cfg)
    keys.generate(s.ledger.keys_dir)
    asyncio.run(ensure_topics(broker.bootstrap, topic_specs(s.topics, 4)))
    return cfg, s


def _start(cfg: Path, s, log: Path) -> subprocess.Popen[bytes]:
    proc = start_cli(["ledger", "--config", str(cfg)], log)
    wait_for(lambda: s.ledger.socket_path.exists(), 30, "ledger socket", proc, log)
    return proc


def _count(s) -> int:
    with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
        return len(led.list(limit=100_000))


def test_redelivered_records_land_once_and_verify(ledger_env, tmp_path: Path) -> None:
    cfg, s = ledger_env
    proc = _start(cfg, s, tmp_path / "ledger.log")
    try:
        values = [codec.encode("Decision", decision(i)) for i in range(200)]
        asyncio.run(publish(s.broker.bootstrap, s.topics.decisions, values + values[:50] + [b"junk"]))
        wait_for(lambda: _count(s) >= 200, 20, "200 records")
        time.sleep(0.5)
        with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
            assert isinstance(led, ServiceLedger)
            assert len(led.list(limit=100_000)) == 200
            st = led.status()
            assert st["duplicates_skipped"] == 50 and st["undecodable"] == 1
            assert led.verify()["ok"]
            assert {r["outcome"] for r in led.list(decision="block", limit=1000)} == {"block"}
            assert len(led.list(category="SECRET", limit=1000)) == 40
            rec = led.show("r7")
            assert rec["request_id"] == "r7" and rec["kind"] == "decision" and rec["seq"] >= 0
            # a tenant-scoped view sees only its tenant
            assert len(led.list(limit=1000, scope="globex")) == 0
            assert len(led.list(limit=1000, scope="acme")) == 200
            with pytest.raises(Exception, match="no record"):
                led.show("r7", scope="globex")
            with pytest.raises(Exception, match="only one SELECT"):
                led.query("DELETE FROM records")
        # the CLI works while the service holds the file
        r = subprocess.run([sys.executable, "-m", "ledgergate", "events", "list", "--config", str(cfg),
                            "--json", "--limit", "5"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert [json.loads(x)["seq"] for x in r.stdout.splitlines()] == [0, 1, 2, 3, 4]
    finally:
        assert stop_proc(proc) == 0
    # ... and on the stopped file
    with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
        assert isinstance(led, DirectLedger)
        v = led.verify()
        assert v["ok"] and v["records"] == 200
    r = subprocess.run([sys.executable, "-m", "ledgergate", "verify", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "INTACT: 200 records" in r.stdout


def test_killed_mid_stream_leaves_no_duplicate_and_no_gap(ledger_env, tmp_path: Path) -> None:
    cfg, s = ledger_env
    log = tmp_path / "ledger.log"
    proc = _start(cfg, s, log)
    values = [codec.encode("Decision", decision(i)) for i in range(3000)]
    asyncio.run(publish(s.broker.bootstrap, s.topics.decisions, values[:1500]))
    wait_for(lambda: _count(s) > 100, 20, "first records")
    os.kill(proc.pid, signal.SIGKILL)  # no clean shutdown, no final checkpoint
    proc.wait()
    s.ledger.socket_path.unlink(missing_ok=True)
    asyncio.run(publish(s.broker.bootstrap, s.topics.decisions, values[1500:] + values[:300]))
    proc = _start(cfg, s, log)
    try:
        wait_for(lambda: _count(s) >= 3000, 30, "3000 records")
        time.sleep(0.5)
        with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
            rows = led.list(limit=100_000)
            assert [r["seq"] for r in rows] == list(range(3000))
            assert sorted(r["request_id"] for r in rows) == sorted(f"r{i}" for i in range(3000))
            assert led.verify()["ok"]
    finally:
        stop_proc(proc)


def test_key_rotation_while_running_verifies(ledger_env, tmp_path: Path) -> None:
    """`ledgergate keys rotate` on a running service: new records use the new key, all verify."""
    cfg, s = ledger_env
    proc = _start(cfg, s, tmp_path / "ledger.log")
    try:
        asyncio.run(publish(s.broker.bootstrap, s.topics.decisions,
                            [codec.encode("Decision", decision(i)) for i in range(50)]))
        wait_for(lambda: _count(s) >= 50, 20, "first 50")
        r = subprocess.run([sys.executable, "-m", "ledgergate", "keys", "rotate", "--config", str(cfg)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        new_kid = r.stdout.split("rotated to key ")[1].split()[0]
        wait_for(lambda: "signing key rotated" in (tmp_path / "ledger.log").read_text(), 20, "rotation seen")
        asyncio.run(publish(s.broker.bootstrap, s.topics.decisions,
                            [codec.encode("Decision", decision(i)) for i in range(50, 100)]))
        wait_for(lambda: _count(s) >= 100, 20, "100 records")
        with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
            kids = [r["key_id"] for r in led.list(limit=1000)]
            assert kids[0] != new_kid and kids[-1] == new_kid
            v = led.verify(signatures="all")
            assert v["ok"], v["problems"]
    finally:
        stop_proc(proc)


async def _trickle(bootstrap: str, topic: str, values: list[bytes], gap: float) -> None:
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await p.start()
    try:
        for v in values:
            await p.send_and_wait(topic, key=b"x", value=v)
            await asyncio.sleep(gap)
    finally:
        await p.stop()


def _linger_service(broker, tmp_path: Path, **ledger: int) -> tuple[Any, subprocess.Popen[bytes]]:
    """A ledger service with its own topics and the given ``ledger:`` settings, started."""
    prefix = f"l{uuid.uuid4().hex[:6]}"
    cfg = write_config(tmp_path, bootstrap=broker.bootstrap, prefix=prefix, ledger=dict(ledger))
    s = load_settings(cfg)
    keys.generate(s.ledger.keys_dir)
    asyncio.run(ensure_topics(broker.bootstrap, topic_specs(s.topics, 4)))
    return s, _start(cfg, s, tmp_path / "ledger.log")


def _status(s) -> dict[str, Any]:
    with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
        return led.status()


def test_without_a_linger_every_fetch_is_an_append(broker, tmp_path: Path) -> None:
    """Linger 0: a record that arrives alone is appended alone (each waits for the previous one's append)."""
    s, proc = _linger_service(broker, tmp_path, batch_linger_ms=0)
    try:
        for i in range(5):
            asyncio.run(_trickle(s.broker.bootstrap, s.topics.decisions,
                                 [codec.encode("Decision", decision(i))], 0))
            wait_for(lambda i=i: _count(s) == i + 1, 20, f"record {i}")
        st = _status(s)
        assert (st["appended"], st["append_batches"], st["pending"]) == (5, 5, 0)
    finally:
        assert stop_proc(proc) == 0


def test_trickling_records_are_gathered_for_the_linger(broker, tmp_path: Path) -> None:
    """Records trickling in one at a time wait for the linger (here longer than the test) unless
    ``batch_max`` are in hand; what is still gathered when the service stops is appended then.

    No clock in the assertions: 10 records with batch_max 4 must make two full
    appends and leave two records pending; stopping appends those as a third.
    """
    s, proc = _linger_service(broker, tmp_path, batch_linger_ms=60_000, batch_max=4)
    try:
        values = [codec.encode("Decision", decision(i)) for i in range(10)]
        asyncio.run(_trickle(s.broker.bootstrap, s.topics.decisions, values, 0))
        wait_for(lambda: _status(s)["pending"] == 2, 30, "two records gathered after two full appends")
        st = _status(s)
        assert (st["appended"], st["append_batches"], st["pending"]) == (8, 2, 2)
        assert _count(s) == 8  # the gathered two are not in the ledger yet...
    finally:
        assert stop_proc(proc) == 0
    with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
        rows = led.list(limit=100)
        assert led.verify()["ok"]
    # ... and were appended when it stopped, as one batch (a batch shares its recorded_at_us)
    assert sorted(r["request_id"] for r in rows) == sorted(f"r{i}" for i in range(10))
    sizes = [sum(1 for r in rows if r["recorded_at_us"] == t)
             for t in sorted({r["recorded_at_us"] for r in rows})]
    assert sizes == [4, 4, 2]
