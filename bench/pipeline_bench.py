"""End-to-end pipeline throughput: SDK → `<p>.requests` → worker(s) → decisions → signed ledger.

In one run, for two kinds of 230-character text:

* **plain**: no names; only the pattern detectors have anything to do;
* **ner**: a name, an email and a phone number; spaCy NER runs on it;

it prints

* end-to-end events/s: N observe request events published with the project's
  SDK (``ledgergate.proxy.sdk.EventProducer``) into ``<p>.requests`` as one
  burst, timed from the first publish until N decision records are in the
  ledger (``ledgergate up --workers W``, W = 1 and 2);
* sustained events/s: the rate at which records reached the ledger while it
  went from 10 % to 90 % of the burst. A short burst's end-to-end figure also
  holds fixed times (≈ 0.3 s while the publisher takes a core from the stack it
  measures, up to the ledger's 200 ms linger at the end), which this leaves out;
* ``ledgergate classify`` docs/s on the same texts (one process, one core: the
  pipeline's ceiling per worker) and vanilla Presidio's (AnalyzerEngine, default
  recognizers, same spaCy model);
* the lag curve while the burst drains: events published but not yet in the
  ledger, and the worker group's consumer lag, every half second.

Ratios matter, not absolute numbers: the machine is shared. The load average
is printed with every figure.

usage: python bench/pipeline_bench.py [--events 20000] [--ner-events 5000] [--workers 1,2]
                                     [--kinds plain,ner] [--baseline REV]

``--baseline REV`` runs the same bursts on the code of an earlier git revision
too (``git archive`` into a temporary package that shadows this one), each
worker count alternating between the two, so before/after share one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ledgergate.broker.embedded import die_with_parent

PY = sys.executable
# how often the ledger's record count is asked during a burst (the end is seen this late at most)
END_POLL_S = 0.05

FIRST = ["Maria Lopez", "James O'Neil", "Priya Raman", "Tomasz Kowalski", "Aiko Tanaka", "Daniel Weber",
         "Fatima Haddad", "Oliver Brooks", "Chen Wei", "Sofia Rossi"]
TOPICS = ["quarterly planning", "the onboarding checklist", "the migration runbook", "release notes",
          "the incident review", "the vendor comparison", "the test plan", "the style guide"]


def _pad(text: str, n: int = 230) -> str:
    filler = " Please keep it short, neutral in tone, and list the open questions at the end of it."
    while len(text) < n:
        text += filler
    return text[:n]


def texts(kind: str, n: int, seed: int = 7) -> list[str]:
    """n distinct 230-character prompts of one kind (deterministic)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        topic = rnd.choice(TOPICS)
        if kind == "plain":
            t = (f"Summarise {topic} for team {i % 17} in five bullet points, then suggest two next steps "
                 f"for sprint {i % 40} and flag anything that looks risky.")
        else:
            name = rnd.choice(FIRST)
            user = name.split()[0].lower()
            t = (f"Draft a reply to {name} about {topic}; cc {user}.{i}@example.org and say we will call "
                 f"on (415) 555-{1000 + i % 9000:04d} tomorrow.")
        out.append(_pad(t))
    return out


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- classifier ceilings ------------------------------------------------------------------

def classify_cli_docs_per_s(sample: list[str], work: Path) -> float:
    """`ledgergate classify` on the texts; start-up cost removed by timing a 20-line run too."""
    def run(lines: list[str]) -> float:
        src = work / f"classify-{len(lines)}.jsonl"
        src.write_text("".join(json.dumps({"id": f"t{i}", "text": t}) + "\n" for i, t in enumerate(lines)))
        t0 = time.perf_counter()
        subprocess.run([PY, "-m", "ledgergate", "classify", str(src), "--out", str(work / "pred.jsonl")],
                       check=True, cwd=work, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    small = run(sample[:20])
    full = run(sample)
    if full - small < 0.25:  # too few texts to see past the start-up's noise
        return float("nan")
    return (len(sample) - 20) / (full - small)


def vanilla_presidio_docs_per_s(sample: list[str]) -> float:
    from ledgergate.streams.classify.engine import build_analyzer

    analyzer = build_analyzer(default_recognizers=True)
    analyzer.analyze("warm up John Smith", language="en")
    t0 = time.perf_counter()
    for t in sample:
        analyzer.analyze(t, language="en", score_threshold=0.5)
    return len(sample) / (time.perf_counter() - t0)


# --- the stack ----------------------------------------------------------------------------

def _prepare(work: Path) -> tuple[Path, Any]:
    try:
        from ledgergate.devstack.demo import prepare_workdir  # type: ignore[import-not-found]
    except ImportError:
        from ledgergate.demo import prepare_workdir  # type: ignore[no-redef]
    return prepare_workdir(work, free_ports=True)


class Up:
    """`ledgergate up --workers W` as a child process."""

    def __init__(self, work: Path, workers: int, env: dict[str, str] | None = None) -> None:
        self.cfg, self.settings = _prepare(work)
        self.log = work / "up.log"
        self.proc = subprocess.Popen([PY, "-m", "ledgergate", "up", "--config", str(self.cfg),
                                      "--workers", str(workers)], cwd=work, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=die_with_parent if sys.platform == "linux" else None)
        deadline = time.monotonic() + 240
        while b"is up" not in self.log.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"ledgergate up did not start; see {self.log}:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each part of the stack (worker = all workers), from /proc."""
        out: dict[str, float] = {}
        tick = os.sysconf("SC_CLK_TCK")
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            todo += [int(c) for c in children]
            args = [c.decode(errors="replace") for c in cmd]
            role = next((r for r in ("worker", "ledger", "proxy") if r in args[3:5]), None)
            if role is None:
                role = "broker" if any("tansu" in a for a in args) else "up"
            out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def ledger_count(settings: Any) -> int:
    from ledgergate.ledger.client import ServiceLedger

    with ServiceLedger(settings.ledger.socket_path) as led:
        return int(led.status()["appended"])


async def _group_lag(consumer: Any, admin: Any, group: str, tps: list[Any]) -> int:
    ends = await consumer.end_offsets(tps)
    committed = await admin.list_consumer_group_offsets(group, partitions=tps)
    return sum(max(0, ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0))
               for tp in tps)


async def burst(settings: Any, kind: str, n: int, curve_every: float = 0.5) -> dict[str, Any]:
    """Publish n events with the SDK in one burst; time until n more records are in the ledger."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from ledgergate.proxy.sdk import EventProducer

    bootstrap = settings.broker.bootstrap
    base = await asyncio.to_thread(ledger_count, settings)
    sample = texts(kind, n, seed=hash(kind) & 0xFFFF)
    principal = {"person": "bench", "tenant": "acme", "roles": ["analyst"], "auth_method": "api_key"}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await consumer.start()
    await admin.start()
    parts = consumer.partitions_for_topic(settings.topics.requests) or range(settings.broker.partitions)
    tps = [TopicPartition(settings.topics.requests, p) for p in sorted(parts)]
    curve: list[tuple[float, int, int]] = []
    try:
        async with EventProducer(bootstrap, settings.broker.topic_prefix) as sdk:
            t0 = time.monotonic()

            async def publish() -> float:
                for i in range(0, n, 500):  # the SDK's bulk path, as a busy gateway would publish
                    await sdk.publish_requests(
                        {"principal": principal, "route_id": "telemetry", "mode": "observe",
                         "parts": [{"path": "/messages/0/content", "role": "user", "text": t}]}
                        for t in sample[i:i + 500])
                return time.monotonic() - t0

            pub = asyncio.create_task(publish())
            next_point = 0.0
            counts: list[tuple[float, int]] = []
            while True:
                # the count is asked often (a status call on the ledger's socket), so the end
                # is seen within ~50 ms; the lag curve (two broker round trips) less often
                done = await asyncio.to_thread(ledger_count, settings) - base
                now = time.monotonic() - t0
                counts.append((now, done))
                if done >= n or now >= next_point:
                    lag = await _group_lag(consumer, admin, settings.worker.group_id, tps)
                    curve.append((now, min(n, done), lag))
                    next_point = now + curve_every
                if done >= n:
                    break
                if now > 600:
                    raise SystemExit(f"{kind}: only {done} of {n} records after 600 s")
                await asyncio.sleep(END_POLL_S)
            elapsed = now
            published_in = await pub
    finally:
        await admin.close()
        await consumer.stop()
    return {"kind": kind, "n": n, "seconds": elapsed, "events_per_s": n / elapsed,
            "drain_per_s": drain_rate(counts, n), "published_in": published_in, "curve": curve,
            "load": load()}


def drain_rate(counts: list[tuple[float, int]], n: int, lo: float = 0.1, hi: float = 0.9) -> float:
    """Records a second while the ledger went from ``lo`` to ``hi`` of the burst.

    The end-to-end figure of a short burst also holds its start (the publisher
    shares the cores with the stack while it publishes) and its end (the
    ledger's last linger); this is the rate in between, the pipeline's
    sustained throughput.
    """
    t_lo = next((t for t, done in counts if done >= lo * n), None)
    hit = next(((t, done) for t, done in counts if done >= hi * n), None)
    if t_lo is None or hit is None or hit[0] <= t_lo:
        return float("nan")
    first = next(done for t, done in counts if t == t_lo)
    return (hit[1] - first) / (hit[0] - t_lo)


def baseline_tree(rev: str, tmp: Path) -> dict[str, str]:
    """The code of git revision ``rev`` as an importable ``ledgergate`` package; env to run it."""
    root = Path(__file__).resolve().parents[1]
    pkg = tmp / "baseline"
    pkg.mkdir()
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "--prefix=ledgergate/"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive, check=True)
    return {**os.environ, "PYTHONPATH": str(pkg)}


def run_bursts(tmp: Path, label: str, workers: list[int], kinds: list[str], events: dict[str, int],
               env: dict[str, str] | None) -> dict[tuple[str, int, str], dict[str, Any]]:
    out = {}
    for w in workers:
        up = Up(tmp / f"{label}-w{w}", w, env)
        try:
            for kind in kinds:
                before = up.cpu_seconds()
                r = asyncio.run(burst(up.settings, kind, events[kind]))
                after = up.cpu_seconds()
                r["cpu_ms"] = {k: 1000 * (after.get(k, 0.0) - before.get(k, 0.0)) / r["n"] for k in after}
                out[(label, w, kind)] = r
                cpu = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu_ms"].items()) if v >= 0.005)
                print(f"  {label:8s} workers={w} {kind:5s}: {r['events_per_s']:7.0f} events/s end to end "
                      f"({r['n']} in {r['seconds']:.1f}s; published in {r['published_in']:.1f}s; {r['load']}); "
                      f"CPU ms an event: {cpu}", flush=True)
        finally:
            up.stop()
    return out


def report(results: dict[tuple[str, int, str], dict[str, Any]], kinds: list[str],
           ceilings: dict[str, tuple[float, float]]) -> None:
    print(f"\nend to end, events/s (SDK publish → decision record in the ledger), {load()}")
    cols = sorted({(label != "this", label, w) for label, w, _ in results})
    print(f"{'text':8s}" + "".join(f"{f'{label} {w}w':>16s}" for _, label, w in cols)
          + f"{'ledgergate classify':>22s}{'vanilla Presidio':>18s}   (docs/s, one process)")
    for kind in kinds:
        row = f"{kind:8s}" + "".join(f"{results[(label, w, kind)]['events_per_s']:16.0f}" for _, label, w in cols)
        if kind in ceilings:
            row += f"{ceilings[kind][0]:22.0f}{ceilings[kind][1]:18.0f}"
        print(row)
    print("\nsustained, events/s (records a second while the ledger went from 10 % to 90 % of the burst)")
    for kind in kinds:
        print(f"{kind:8s}" + "".join(f"{results[(label, w, kind)]['drain_per_s']:16.0f}" for _, label, w in cols))
    print("\nCPU ms an event (less sensitive to a shared machine's load than events/s): worker(s) / whole stack")
    print(f"{'text':8s}" + "".join(f"{f'{label} {w}w':>16s}" for _, label, w in cols))
    for kind in kinds:
        cells = []
        for _, label, w in cols:
            c = results[(label, w, kind)]["cpu_ms"]
            cells.append(f"{c.get('worker', 0):.2f} / {sum(v for k, v in c.items() if k != 'up'):.2f}")
        print(f"{kind:8s}" + "".join(f"{x:>16s}" for x in cells))
    for (label, w, kind), r in sorted(results.items()):
        if label != "this":
            continue
        print(f"\nlag while a {r['n']}-event burst drains (workers={w}, {kind}): "
              "seconds since the first publish, records in the ledger, worker-group consumer lag")
        step = max(1, len(r["curve"]) // 15)
        for t, done, lag in r["curve"][::step] + ([r["curve"][-1]] if (len(r["curve"]) - 1) % step else []):
            print(f"  {t:6.1f}s {done:7d} {lag:7d}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # long enough that a burst's fixed start and end (≈ 0.5 s) are a few per cent of it
    ap.add_argument("--events", type=int, default=20000, help="events a burst of pattern-only text")
    ap.add_argument("--ner-events", type=int, default=5000, help="events a burst of text that needs NER")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    ap.add_argument("--kinds", default="plain,ner")
    ap.add_argument("--baseline", metavar="REV", help="also run the same bursts on the code of this git "
                    "revision (before/after in one run, on the same machine load)")
    ap.add_argument("--classify-docs", type=int, default=1000, help="texts for the classifier ceilings")
    ap.add_argument("--no-ceilings", action="store_true", help="skip the classify/Presidio docs/s")
    args = ap.parse_args(argv)
    kinds = args.kinds.split(",")
    workers = [int(x) for x in args.workers.split(",")]
    events = {"plain": args.events, "ner": args.ner_events}
    print(f"pipeline bench: {events} events a burst, {os.cpu_count()} cores, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lg-pipeline-bench-") as tmp_s:
        tmp = Path(tmp_s)
        results = {}
        if args.baseline:
            base_env = baseline_tree(args.baseline, tmp)
            # interleaved: baseline and this code alternate per worker count, sharing the load
            for w in workers:
                results.update(run_bursts(tmp, args.baseline[:10], [w], kinds, events, base_env))
                results.update(run_bursts(tmp, "this", [w], kinds, events, None))
        else:
            results.update(run_bursts(tmp, "this", workers, kinds, events, None))
        ceilings: dict[str, tuple[float, float]] = {}
        if not args.no_ceilings:
            for kind in kinds:
                sample = texts(kind, args.classify_docs, seed=1)
                ceilings[kind] = (classify_cli_docs_per_s(sample, tmp), vanilla_presidio_docs_per_s(sample))
    report(results, kinds, ceilings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
