"""Throughput of `ingest mlflow --export-dir`: pure mapping alone, then export dir → embedded broker.

Writes N synthetic traces in the shape ``Trace.to_json()`` produces (one
CHAT_MODEL span with two messages each, base64 span ids, JSON-encoded
attributes), ingests them into a fresh embedded Tansu broker, then ingests
again to time the "nothing new" rerun. Prints numbers only.

usage: python bench/ingest_bench.py [N]      (default 5000)
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.config import default_settings
from ledgergate.ingest import MlflowConfig, run_ingest
from ledgergate.ingest.mapping import parse_trace, trace_events, validate_event


def trace_doc(i: int) -> dict:
    sid = base64.b64encode(i.to_bytes(8, "big")).decode()
    inputs = {"model": "gpt-bench", "messages": [
        {"role": "system", "content": "You are a helpful underwriting assistant."},
        {"role": "user", "content": f"Summarise application {i} for Jane Doe, phone 555-0100."}]}
    return {
        "info": {"trace_id": f"tr-{i:032x}", "request_time": "2026-10-01T00:00:00Z",
                 "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "1"}},
                 "trace_metadata": {"mlflow.trace.user": f"user{i % 17}"}, "tags": {}},
        "data": {"spans": [{
            "trace_id": sid, "span_id": sid, "parent_span_id": None, "name": "chat",
            "start_time_unix_nano": 1_790_812_800_000_000_000 + i * 1000,
            "end_time_unix_nano": 1_790_812_800_000_000_000 + i * 1000 + 500,
            "attributes": {"mlflow.spanType": '"CHAT_MODEL"', "mlflow.spanInputs": json.dumps(inputs)}}]},
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    cfg = MlflowConfig(route_id="telemetry")
    docs = [trace_doc(i) for i in range(n)]

    t0 = time.perf_counter()
    for i, d in enumerate(docs):
        for ev in trace_events(parse_trace(d, str(i)), None, cfg, where=str(i)).events:
            validate_event(ev, str(i))
    pure = time.perf_counter() - t0
    print(f"mapping+validation: {n} traces in {pure:.2f}s = {n / pure:,.0f} traces/s")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tdir = root / "export" / "experiments" / "1" / "traces"
        tdir.mkdir(parents=True)
        for d in docs:
            (tdir / f"{d['info']['trace_id']}.json").write_text(json.dumps(d), "utf-8")
        broker = EmbeddedBroker(port=free_port(), log_file=root / "tansu.log")
        broker.start()
        try:
            settings = default_settings(root, overrides={
                "broker": {"bootstrap_servers": broker.bootstrap, "topic_prefix": "bench"}})
            asyncio.run(ensure_topics(broker.bootstrap, topic_specs(settings.topics, 4)))
            for label in ("first ingest", "rerun (nothing new)"):
                t0 = time.perf_counter()
                s = run_ingest(settings, export_dir=root / "export", state_dir=root / "state",
                               progress=False, config=cfg)
                dt = time.perf_counter() - t0
                print(f"{label}: {s.traces} traces, {s.sent} sent, {s.already_ingested} already, "
                      f"{dt:.2f}s = {s.traces / dt:,.0f} traces/s")
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
