"""Held (enforce) requests through a worker: their wait, idle and while an observe backlog drains.

A held request has its own topic and agent, and is judged between observe
batches (streams/batching.py), so what it waits for behind a backlog is at most
one observe batch. This prints, for this tree and (``--baseline REV``) an
earlier revision, each on its own ``ledgergate up --workers 1``:

* the time from publishing a held RequestEvent until its Decision is on the
  reply topic, for ``--held`` requests sent one at a time (50 ms apart), with
  the stack idle and then while an observe burst of ``--events`` pattern-only
  events drains (the burst starts after 6 s without a held request, so the
  first one meets an observe batch sized for nobody waiting: its wait is
  printed on its own);
* that burst's end-to-end events/s (as in bench/pipeline_bench.py).

Ratios matter, not absolute numbers: the machine is shared. The load average is
printed with every row.

usage: python bench/held_bench.py [--baseline REV] [--held 20] [--events 6000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pipeline_bench as pb

GAP_S = 0.05  # between two held requests
# before the burst, no held request for this long: longer than the worker's HELD_QUIET_S, so the
# first held request of the burst meets an observe batch sized for nobody waiting
QUIET_S = 6.0


def _held_event(reply: str, text: str) -> dict[str, Any]:
    return {"request_id": f"held-{uuid.uuid4().hex[:12]}", "received_at_us": time.time_ns() // 1000,
            "source": "ingest", "route_id": "telemetry", "mode": "enforce", "reply_to": reply,
            "principal": {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
            "parts": [{"path": "/messages/0/content", "role": "user", "text": text}]}


async def held_waits(settings: Any, n: int, reply: str) -> list[float]:
    """Milliseconds from publishing each of n held requests to its decision on the reply topic."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from ledgergate.schemas.codec import decode, encode

    bootstrap = settings.broker.bootstrap
    consumer = AIOKafkaConsumer(reply, bootstrap_servers=bootstrap, auto_offset_reset="latest",
                                fetch_max_wait_ms=5)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await consumer.start()
    await producer.start()
    await asyncio.sleep(1.0)  # the reply consumer has its partition before the first request
    text = pb.texts("plain", 1, seed=3)[0]
    out: list[float] = []
    try:
        for _ in range(n):
            ev = _held_event(reply, text)
            t0 = time.monotonic()
            await producer.send_and_wait(settings.topics.held, encode("RequestEvent", ev),
                                         key=ev["request_id"].encode())
            while not any(decode(m.value, expect="Decision")["request_id"] == ev["request_id"]
                          for ms in (await consumer.getmany(timeout_ms=5)).values() for m in ms):
                pass
            out.append(1000 * (time.monotonic() - t0))
            await asyncio.sleep(GAP_S)
    finally:
        await producer.stop()
        await consumer.stop()
    return out


async def _during_burst(settings: Any, n: int, reply: str, events: int) -> tuple[list[float], dict[str, Any]]:
    await asyncio.sleep(QUIET_S)
    burst = asyncio.create_task(pb.burst(settings, "plain", events))
    await asyncio.sleep(0.5)  # the backlog is there
    waits = await held_waits(settings, n, reply)
    return waits, await burst


def _summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    p90 = ordered[max(0, int(0.9 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ms):6.1f}  p90 {p90:6.1f}  max {max(ms):7.1f}"


def run(label: str, work: Path, env: dict[str, str] | None, held: int, events: int) -> None:
    """One stack of one worker: held waits idle, then during an observe burst."""
    up = pb.Up(work, 1, env)
    try:
        s = up.settings
        asyncio.run(pb.burst(s, "plain", 300))  # warm: the worker knows what a batch costs
        idle = asyncio.run(held_waits(s, held, f"{s.topics.replies_prefix}idle"))
        busy, res = asyncio.run(_during_burst(s, held, f"{s.topics.replies_prefix}busy", events))
        print(f"{label:>9}  idle: {_summary(idle)} ms | during a {events}-event observe burst: {_summary(busy)} ms,"
              f" the first (after {QUIET_S:.0f} s without one) {busy[0]:.1f} ms | burst {res['events_per_s']:.0f}"
              f" events/s | {res['load']}", flush=True)
    finally:
        up.stop()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", metavar="REV", help="also measure the code of this git revision")
    ap.add_argument("--held", type=int, default=20, help="held requests each time (one at a time)")
    ap.add_argument("--events", type=int, default=6000, help="observe events in the burst")
    args = ap.parse_args(argv)
    print(f"held (enforce) request waits, one worker, {args.held} requests {GAP_S * 1000:.0f} ms apart; "
          f"{pb.load()}")
    with tempfile.TemporaryDirectory(prefix="lg-held-") as t:
        tmp = Path(t)
        if args.baseline:
            (tmp / "base").mkdir()
            env = pb.baseline_tree(args.baseline, tmp / "base")
            run(args.baseline[:9], tmp / "base" / "work", env, args.held, args.events)
        (tmp / "this").mkdir()
        run("this", tmp / "this", None, args.held, args.events)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
