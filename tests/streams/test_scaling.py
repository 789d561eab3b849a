"""Two workers in one group; one is killed mid-stream. Every request still gets
exactly one ledger record (and at least one decision on the topic)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ledgergate.broker import ensure_topics, topic_specs
from ledgergate.config import load_settings
from ledgergate.ledger import keys
from ledgergate.ledger.client import open_ledger
from ledgergate.schemas import codec

from support import start_cli, stop_proc, wait_for, write_config

N = 400


def _request(i: int) -> dict:
    return {"request_id": f"req-{i:04d}", "received_at_us": time.time_ns() // 1000, "source": "ingest",
            "principal": {"person": f"user{i % 7}", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
            "route_id": "telemetry", "mode": "observe",
            "parts": [{"path": "/messages/0/content", "role": "user",
                       "text": f"Request {i}: summarise the meeting notes for project {i % 13}."}]}


def test_killing_one_of_two_workers_loses_nothing(broker, tmp_path: Path) -> None:
    prefix = f"s{uuid.uuid4().hex[:6]}"
    cfg = write_config(tmp_path, bootstrap=broker.bootstrap, prefix=prefix)
    s = load_settings(cfg)
    keys.generate(s.ledger.keys_dir)
    asyncio.run(ensure_topics(broker.bootstrap, topic_specs(s.topics, 4)))
    procs = {}
    ledger = start_cli(["ledger", "--config", str(cfg)], tmp_path / "ledger.log")
    for name in ("a", "b"):
        procs[name] = start_cli(["worker", "--config", str(cfg), "--ready-file", str(tmp_path / name)],
                                tmp_path / f"worker-{name}.log")
    try:
        for name in ("a", "b"):
            wait_for((tmp_path / name).exists, 90, f"worker {name}", procs[name], tmp_path / f"worker-{name}.log")

        async def drive() -> None:
            p = AIOKafkaProducer(bootstrap_servers=s.broker.bootstrap, enable_idempotence=False, acks="all")
            await p.start()
            try:
                for i in range(N):
                    await p.send(s.topics.requests, key=f"req-{i:04d}".encode(),
                                 value=codec.encode("RequestEvent", _request(i)))
                    if i == N // 3:
                        await p.flush()
                        os.kill(procs["b"].pid, signal.SIGKILL)  # mid-stream, no goodbye
                    await asyncio.sleep(0.01)
                await p.flush()
            finally:
                await p.stop()

        asyncio.run(drive())

        def ledger_ids() -> list[str]:
            with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
                return [r["request_id"] for r in led.list(kind="decision", limit=100_000)]

        wait_for(lambda: len(set(ledger_ids())) >= N, 90, f"{N} ledger records", procs["a"],
                 tmp_path / "worker-a.log")
        time.sleep(1.0)
        ids = ledger_ids()
        assert sorted(ids) == [f"req-{i:04d}" for i in range(N)]  # exactly one each

        async def decisions() -> set[str]:
            c = AIOKafkaConsumer(s.topics.decisions, bootstrap_servers=s.broker.bootstrap,
                                 auto_offset_reset="earliest")
            await c.start()
            try:
                seen: set[str] = set()
                deadline = time.monotonic() + 10
                while len(seen) < N and time.monotonic() < deadline:
                    batch = await c.getmany(timeout_ms=500)
                    seen |= {m.key.decode() for ms in batch.values() for m in ms}
                return seen
            finally:
                await c.stop()

        assert len(asyncio.run(decisions())) == N
        with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
            assert led.verify()["ok"]
    finally:
        for p in procs.values():
            stop_proc(p)
        stop_proc(ledger)
