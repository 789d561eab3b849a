"""CPU an event of the SDK publisher (``EventProducer``) and of the broker it publishes to.

    .venv/bin/python bench/sdk_bench.py [--events 5000] [--rounds 3] [--baseline REV]

One real Tansu broker; the same 230-character observe events (the pipeline
bench's pattern-only texts) published in one run, alternating, two ways:

* ``one-by-one``: ``publish_request`` per event, 500 at a time under
  ``asyncio.gather`` (what a caller without the bulk path does);
* ``bulk``: ``publish_requests`` with 500 events a call.

Printed: this process's CPU an event (validate + encode + partition + send, by
``time.process_time``), the broker's (/proc utime+stime) and the produce
requests the broker received (aiokafka's sender count). ``--baseline REV``
adds, each round, ``one-by-one`` on the SDK of an earlier git revision (its own
process and broker), so before/after share the machine's load.
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

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.config import Topics
from ledgergate.proxy.sdk import EventProducer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_bench import baseline_tree, load, texts  # noqa: E402
from sink_bench import cpu_s  # noqa: E402

PRINCIPAL = {"person": "bench", "tenant": "acme", "roles": ["analyst"], "auth_method": "api_key"}


def _events(n: int, tag: str) -> list[dict[str, Any]]:
    return [{"request_id": f"{tag}-{i}", "principal": PRINCIPAL, "route_id": "telemetry", "mode": "observe",
             "parts": [{"path": "/messages/0/content", "role": "user", "text": t}]}
            for i, t in enumerate(texts("plain", n))]


async def _one_way(sdk: EventProducer, way: str, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), 500):
        chunk = events[i:i + 500]
        if way == "bulk":
            await sdk.publish_requests(chunk)
        else:
            await asyncio.gather(*(sdk.publish_request(e) for e in chunk))


def _produce_requests(sdk: EventProducer) -> int:
    sender = sdk._producer._sender  # noqa: SLF001 - a count for the bench only
    return int(getattr(sender, "_produce_requests", 0))


async def run(n: int, rounds: int, ways: tuple[str, ...], label: str = "",
              baseline: dict[str, str] | None = None, first: int = 0) -> None:
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    assert broker.proc is not None
    try:
        await ensure_topics(broker.bootstrap, topic_specs(Topics.for_prefix("lg"), 4))
        async with EventProducer(broker.bootstrap, "lg") as sdk:
            _count_produce_requests(sdk)
            for r in range(first, first + rounds):
                if baseline is not None:
                    subprocess.run([sys.executable, __file__, "--events", str(n), "--rounds", "1",
                                    "--only", "one-by-one", "--label", baseline["LABEL"],
                                    "--first-round", str(r)], env=baseline, check=True)
                for way in ways:
                    events = _events(n, f"{way}{r}")
                    req0, b0, c0 = _produce_requests(sdk), cpu_s(broker.proc.pid), time.process_time()
                    await _one_way(sdk, way, events)
                    c, b = time.process_time() - c0, cpu_s(broker.proc.pid) - b0
                    print(f"  {label + way:20s} round {r}: SDK {1000 * c / n:.3f} ms CPU an event, broker "
                          f"{1000 * b / n:.3f}; {_produce_requests(sdk) - req0} produce requests for {n} "
                          f"events ({load()})", flush=True)
    finally:
        broker.stop()


def _count_produce_requests(sdk: EventProducer) -> None:
    """Wrap the sender's request method so the bench can count produce requests."""
    sender = sdk._producer._sender  # noqa: SLF001
    original = sender._send_produce_req  # noqa: SLF001
    sender._produce_requests = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        sender._produce_requests += 1
        return original(*args, **kwargs)
    sender._send_produce_req = counting


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", metavar="REV", help="also run one-by-one on this git revision's SDK")
    ap.add_argument("--only", choices=("one-by-one", "bulk"), help=argparse.SUPPRESS)
    ap.add_argument("--label", default="", help=argparse.SUPPRESS)
    ap.add_argument("--first-round", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    ways = (a.only,) if a.only else ("one-by-one", "bulk")
    if a.only:
        asyncio.run(run(a.events, a.rounds, ways, f"{a.label} ", first=a.first_round))
        return 0
    print(f"sdk bench: {a.events} events a round, {os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lg-sdk-bench-") as tmp:
        env = None
        if a.baseline:
            env = {**baseline_tree(a.baseline, Path(tmp)), "LABEL": a.baseline[:10]}
        asyncio.run(run(a.events, a.rounds, ways, "", env))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
