"""CPU per record of the ledger service and the broker at a steady decision rate.

    .venv/bin/python bench/sink_bench.py [--rate 2000] [--seconds 3] [--baseline REV] [--rounds 2]
                                         [--ledger KEY=INT ...] [--compare KEY=INT]

A real Tansu broker and a real `ledgergate ledger` service; decisions (the
bytes a worker publishes, 4 partitions) are produced at ``--rate`` per second
for ``--seconds`` by this process, and the ledger's and the broker's CPU
(/proc utime+stime) are read from the first publish until the ledger holds
every record. Divided by the records, that is what each decision costs those
two processes outside the worker, at the pipeline's target rate (the pipeline
bench cannot feed the ledger that fast while the worker is the bottleneck).
The broker's idle CPU a second is printed too: with nothing to do it still
answers every client's fetch polling.

``--baseline REV`` runs the same on the code of an earlier git revision,
alternating with this tree round by round, so before/after share the load;
``--compare batch_linger_ms=500`` runs this tree a second time with that
ledger setting changed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.broker.embedded import die_with_parent
from ledgergate.config import default_config_text, load_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_bench import baseline_tree, load  # noqa: E402

PY = sys.executable


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def decisions(n: int, tag: str) -> list[tuple[bytes, bytes]]:
    """(key, value) of n observe decisions with no findings, as a worker encodes them."""
    from ledgergate.schemas import codec

    now = time.time_ns() // 1000
    out = []
    for i in range(n):
        rid = f"{tag}-{i:08d}-0000-4000-8000-000000000000"
        d = {"decision_id": f"dec_{tag}_{i}", "request_id": rid, "decided_at_us": now, "received_at_us": now,
             "outcome": "allow", "rule_id": "allow-rest", "explanation": "no rule blocked or redacted",
             "policy": {"id": "default", "version": 1, "hash": "ab" * 32},
             "categories": [], "findings": [], "redacted_parts": [],
             "principal": {"person": "bench", "tenant": "acme", "roles": ["analyst"], "auth_method": "api_key"},
             "source": "ingest", "route_id": "telemetry", "mode": "observe", "worker_id": "bench-worker"}
        out.append((rid.encode(), codec.encode("Decision", d)))
    return out


def _config(work: Path, bootstrap: str, ledger: dict[str, int] | None = None) -> Path:
    data = yaml.safe_load(default_config_text())
    data["ledger"].update(ledger or {})
    data["broker"] = {"bootstrap_servers": bootstrap, "topic_prefix": "lg", "partitions": 4, "kind": "tansu"}
    data["ledger"]["path"] = str(work / "ledger.duckdb")
    data["ledger"]["keys_dir"] = str(work / "keys")
    cfg = work / "ledgergate.yaml"
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    return cfg


def appended(settings: Any) -> int:
    from ledgergate.ledger.client import ServiceLedger

    with ServiceLedger(settings.ledger.socket_path) as led:
        return int(led.status()["appended"])


async def produce(bootstrap: str, topic: str, msgs: list[tuple[bytes, bytes]], rate: int) -> None:
    """Send ``msgs`` at ``rate`` a second, in 10 ms ticks."""
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all", linger_ms=5)
    await p.start()
    try:
        per_tick = max(1, rate // 100)
        t0 = time.monotonic()
        for k, i in enumerate(range(0, len(msgs), per_tick)):
            for key, value in msgs[i:i + per_tick]:
                await p.send(topic, value, key=key)
            await asyncio.sleep(max(0.0, t0 + (k + 1) / 100 - time.monotonic()))
        await p.flush()
    finally:
        await p.stop()


def one_run(work: Path, label: str, rate: int, seconds: float, env: dict[str, str] | None,
            ledger: dict[str, int] | None = None) -> dict[str, float]:
    from ledgergate.ledger import keys

    work.mkdir(parents=True)
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    proc = None
    try:
        cfg = _config(work, broker.bootstrap, ledger)
        settings = load_settings(cfg)
        keys.generate(settings.ledger.keys_dir)
        asyncio.run(ensure_topics(broker.bootstrap, topic_specs(settings.topics, 4)))
        proc = subprocess.Popen([PY, "-m", "ledgergate", "ledger", "--config", str(cfg)], cwd=work, env=env,
                                stdout=open(work / "ledger.log", "wb"), stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.monotonic() + 60
        while not settings.ledger.socket_path.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ledger did not start: {(work / 'ledger.log').read_text()[-2000:]}")
            time.sleep(0.1)
        assert broker.proc is not None
        time.sleep(1.0)
        b0, l0 = cpu_s(broker.proc.pid), cpu_s(proc.pid)
        time.sleep(2.0)
        idle_broker, idle_ledger = (cpu_s(broker.proc.pid) - b0) / 2, (cpu_s(proc.pid) - l0) / 2
        n = int(rate * seconds)
        msgs = decisions(n, label.replace(" ", ""))
        b0, l0, t0 = cpu_s(broker.proc.pid), cpu_s(proc.pid), time.monotonic()
        asyncio.run(produce(broker.bootstrap, settings.topics.decisions, msgs, rate))
        while appended(settings) < n:
            if time.monotonic() - t0 > 300:
                raise SystemExit(f"{label}: the ledger did not take {n} records within 300 s")
            time.sleep(0.1)
        wall = time.monotonic() - t0
        return {"ledger": 1000 * (cpu_s(proc.pid) - l0) / n, "broker": 1000 * (cpu_s(broker.proc.pid) - b0) / n,
                "wall": wall, "n": n, "idle_broker": 1000 * idle_broker, "idle_ledger": 1000 * idle_ledger}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        broker.stop()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=int, default=2000, help="decisions a second (default 2000)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--baseline", metavar="REV")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ledger", action="append", default=[], metavar="KEY=INT",
                    help="a ledger setting for every variant, e.g. batch_linger_ms=500 (repeatable)")
    ap.add_argument("--compare", metavar="KEY=INT", help="also run this tree with this ledger setting")
    a = ap.parse_args(argv)
    ledger = {k: int(v) for k, v in (x.split("=", 1) for x in a.ledger)}
    print(f"sink bench: {a.rate} decisions/s for {a.seconds} s, {os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lg-sink-bench-") as tmp_s:
        tmp = Path(tmp_s)
        variants: list[tuple[str, dict[str, str] | None, dict[str, int]]] = [("this", None, ledger)]
        if a.baseline:
            variants.insert(0, (a.baseline[:10], baseline_tree(a.baseline, tmp), ledger))
        if a.compare:
            k, v = a.compare.split("=", 1)
            variants.append((a.compare, None, {**ledger, k: int(v)}))
        for r in range(a.rounds):
            for label, env, settings in variants:
                res = one_run(tmp / f"{label}-{r}", label, a.rate, a.seconds, env, settings)
                print(f"  {label:24s} round {r}: CPU ms a record: ledger {res['ledger']:.3f}, broker "
                      f"{res['broker']:.3f}   ({res['n']} records in {res['wall']:.1f} s; idle CPU ms/s: "
                      f"ledger {res['idle_ledger']:.0f}, broker {res['idle_broker']:.0f}; {load()})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
