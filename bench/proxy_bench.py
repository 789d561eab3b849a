"""Proxy overhead benchmark: direct vs through ledgergate (observe and enforce), on 127.0.0.1.

Self-contained: starts an embedded Tansu broker, the fake upstream and the proxy
(each its own process, real config, real API-key authentication), then drives
each target with a bounded closed loop (c concurrent keep-alive connections,
each sending its next request when the previous answer is complete) and prints
p50/p99/RPS side by side with direct, Δp50 and the proxy's CPU ms/request
(user+system CPU of the proxy process during the measured run / requests).

Enforce mode needs decisions: by default a tiny responder process stands in
for the worker (consumes the request topic, answers ``allow`` to reply_to);
``--worker-cmd`` runs a real worker instead (the output says which).

    python bench/proxy_bench.py                       # c=1,8, 2000 requests per point
    python bench/proxy_bench.py --requests 500 --concurrency 1
    python bench/proxy_bench.py --clients             # also: httpx vs aiohttp vs lean client
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, port_open, topic_specs
from ledgergate.config import Topics, UpstreamConfig

PY = sys.executable
KEY = "lgk_bench_" + uuid.uuid4().hex
BODY = json.dumps({"model": "MODEL", "max_tokens": 64, "messages": [
    {"role": "user", "content": ("Summarise the quarterly figures for the board in three bullet points. " * 9)[:600]}]})


def _cpu_seconds(pid: int) -> float:
    """user+system CPU of one process, from /proc (no psutil needed)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"{what} did not listen on {port} (exit {proc.poll()})")
        time.sleep(0.05)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --------------------------------------------------------------------------- load
async def _load(base_url: str, model: str, concurrency: int, requests: int, warmup: int,
                auth: str | None) -> dict[str, float]:
    """Closed loop with the lean client (cheap, so the driver is not the bottleneck)."""
    from ledgergate.proxy.upstream import UpstreamClient

    client = UpstreamClient(UpstreamConfig(id="bench", base_url=base_url, api_key=auth, timeout_seconds=30))
    body = BODY.replace("MODEL", model).encode()
    lat: list[float] = []
    errors = 0

    async def one(record: bool) -> None:
        nonlocal errors
        t = time.perf_counter()
        r = await client.request("chat.completions", body)
        data = await r.read()
        r.close()
        if r.status != 200 or b"choices" not in data:
            errors += 1
        if record:
            lat.append(time.perf_counter() - t)

    async def worker(n: int, record: bool) -> None:
        for _ in range(n):
            await one(record)

    await asyncio.gather(*(worker(max(1, warmup // concurrency), False) for _ in range(concurrency)))
    t0 = time.perf_counter()
    per = requests // concurrency
    await asyncio.gather(*(worker(per, True) for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    await client.aclose()
    lat.sort()
    n = len(lat)
    return {"p50": lat[n // 2] * 1e3, "p99": lat[min(n - 1, int(n * 0.99))] * 1e3,
            "rps": n / elapsed, "n": n, "errors": errors}


def _measure(base_url: str, model: str, c: int, requests: int, warmup: int, auth: str | None,
             pid: int | None, others: tuple[int, ...] = ()) -> dict[str, float]:
    """Latency of a closed loop; CPU ms/request of the proxy and (``others``) the whole pipeline."""
    import uvloop

    cpu0 = _cpu_seconds(pid) if pid else 0.0
    all0 = sum(_cpu_seconds(p) for p in others)
    res = uvloop.run(_load(base_url, model, c, requests, warmup, auth))
    if pid:
        res["cpu_ms"] = (_cpu_seconds(pid) - cpu0) / res["n"] * 1e3
        if others:
            res["pipeline_cpu_ms"] = res["cpu_ms"] + (sum(_cpu_seconds(p) for p in others) - all0) / res["n"] * 1e3
    return res


# --------------------------------------------------------------------------- responder
async def _responder(bootstrap: str, prefix: str) -> None:
    """Stand-in for the worker: allow every request, to its reply_to."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from ledgergate.schemas.codec import decode, encode

    topics = Topics.for_prefix(prefix)
    cons = AIOKafkaConsumer(topics.held, bootstrap_servers=bootstrap, group_id="bench-responder",
                            auto_offset_reset="latest", fetch_max_wait_ms=100)
    prod = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all", linger_ms=0)
    await cons.start()
    await prod.start()
    print("responder ready", flush=True)
    async for m in cons:
        req = decode(m.value, expect="RequestEvent")
        if not req.get("reply_to"):
            continue
        d = {"decision_id": uuid.uuid4().hex, "request_id": req["request_id"], "decided_at_us": time.time_ns() // 1000,
             "received_at_us": req["received_at_us"], "outcome": "allow", "rule_id": "allow-rest",
             "explanation": "bench", "policy": {"id": "bench", "version": 1, "hash": "0" * 64},
             "principal": req["principal"], "source": req["source"], "route_id": req["route_id"],
             "mode": req["mode"], "upstream_id": req["upstream_id"], "model": req["model"],
             "endpoint": req["endpoint"], "metadata": req["metadata"], "worker_id": "bench-responder"}
        await prod.send(req["reply_to"], encode("Decision", d), key=m.key)


def _default_bundle() -> dict:
    from ledgergate.config import default_config_text

    return yaml.safe_load(default_config_text())["policies"][0]["bundle"]


def _config(work: Path, broker: str, prefix: str, upstream_port: int, proxy_port: int) -> Path:
    cfg = {
        "broker": {"bootstrap_servers": broker, "topic_prefix": prefix, "partitions": 4,
                      "kind": "tansu"},
        "identity": {"api_keys": [{"id": "bench", "sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                                   "person": "bench", "tenant": "bench", "roles": ["analyst"]}]},
        "upstreams": [{"id": "fake", "base_url": f"http://127.0.0.1:{upstream_port}/v1"}],
        "routes": [
            {"id": "obs", "path_prefix": "/r/obs", "models": ["m-obs"], "upstream": "fake", "mode": "observe",
             "policy": "p", "allowed_roles": ["analyst"]},
            {"id": "enf", "path_prefix": "/r/enf", "models": ["m-enf"], "upstream": "fake", "mode": "enforce",
             "policy": "p", "allowed_roles": ["analyst"], "hold_timeout_ms": 5000},
        ],
        # the demo's default bundle: secrets, injection, MNPI blocked, PII/PHI redacted,
        # so enforce numbers include real classification of every prompt
        "policies": [{"id": "p", "bundle": {**_default_bundle(), "id": "p"}}],
        "proxy": {"host": "127.0.0.1", "port": proxy_port, "spool_dir": str(work / "spool"),
                  "instance_id": "bench"},
    }
    path = work / "proxy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _row(name: str, r: dict[str, float], direct: dict[str, float] | None) -> str:
    d = f"{r['p50'] - direct['p50']:+7.3f}" if direct else "      -"
    cpu = f"{r['cpu_ms']:7.3f}" if "cpu_ms" in r else "      -"
    pipe = f"  proxy+worker+broker CPU {r['pipeline_cpu_ms']:6.3f} ms/req" if "pipeline_cpu_ms" in r else ""
    return (f"  {name:<16} p50 {r['p50']:7.3f} ms  p99 {r['p99']:7.3f} ms  {r['rps']:8.0f} rps"
            f"  Δp50 {d} ms  proxy CPU {cpu} ms/req{pipe}  errors {int(r['errors'])}")


def _clients(n: int) -> None:
    """Upstream client choice: the same POST through each client, c=1, CPU of this thread."""
    import resource

    import aiohttp
    import httpx
    import uvloop

    from ledgergate.devstack.fakeupstream import fake_upstream
    from ledgergate.proxy.upstream import UpstreamClient

    body = BODY.replace("MODEL", "m").encode()

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_THREAD)
        return r.ru_utime + r.ru_stime

    async def run(name: str, fn: Any) -> None:
        for _ in range(200):
            await fn()
        lat = []
        c0 = cpu()
        for _ in range(n):
            t = time.perf_counter()
            await fn()
            lat.append(time.perf_counter() - t)
        c1 = cpu()
        lat.sort()
        print(f"  {name:<8} p50 {lat[n // 2] * 1e3:.3f} ms  p99 {lat[int(n * .99)] * 1e3:.3f} ms  "
              f"client CPU {(c1 - c0) / n * 1e3:.3f} ms/req")

    async def go(base: str) -> None:
        lean = UpstreamClient(UpstreamConfig(id="f", base_url=base))
        hx = httpx.AsyncClient()
        sess = aiohttp.ClientSession()
        hdr = {"content-type": "application/json"}

        async def f_lean() -> None:
            r = await lean.request("chat.completions", body)
            await r.read()
            r.close()

        async def f_httpx() -> None:
            await hx.post(base + "/chat/completions", content=body, headers=hdr)

        async def f_aio() -> None:
            async with sess.post(base + "/chat/completions", data=body, headers=hdr) as r:
                await r.read()

        for name, fn in (("lean", f_lean), ("aiohttp", f_aio), ("httpx", f_httpx)):
            await run(name, fn)
        await hx.aclose()
        await sess.close()
        await lean.aclose()

    print(f"HTTP clients, c=1, {n} POSTs, fake upstream in a thread of this process")
    with fake_upstream() as fk:
        uvloop.run(go(fk.base_url))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--worker-cmd", default=None,
                    help="command starting a real worker ({bootstrap} {prefix} filled in) instead of the responder")
    ap.add_argument("--modes", default="observe,enforce")
    ap.add_argument("--responder", action="store_true",
                    help="a stand-in that allows everything instead of the real worker (isolates proxy cost)")
    ap.add_argument("--clients", action="store_true",
                    help="only compare HTTP clients (lean vs aiohttp vs httpx) against the fake upstream")
    args = ap.parse_args()
    if args.clients:
        return _clients(args.requests)
    work = Path(tempfile.mkdtemp(prefix="lg-bench-"))
    prefix = "bench"
    broker = EmbeddedBroker(port=free_port(), log_file=work / "tansu.log")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        broker.start()
        asyncio.run(ensure_topics(broker.bootstrap, topic_specs(Topics.for_prefix(prefix), 4)))
        up_port, px_port = free_port(), free_port()
        up = _spawn([PY, "-m", "ledgergate.devstack.fakeupstream", str(up_port)], work / "upstream.log")
        procs.append(up)
        _wait_port(up_port, up, "fake upstream")
        cfg = _config(work, broker.bootstrap, prefix, up_port, px_port)
        px = _spawn([PY, "-c", "import sys; from ledgergate.config import load_settings; "
                     "from ledgergate.proxy.wiring import run; run(load_settings(sys.argv[1]))", str(cfg)],
                    work / "proxy.log")
        procs.append(px)
        _wait_port(px_port, px, "proxy")
        modes = args.modes.split(",")
        decider = "none"
        if "enforce" in modes:
            if args.worker_cmd:
                cmd = args.worker_cmd.format(bootstrap=broker.bootstrap, prefix=prefix)
                procs.append(subprocess.Popen(cmd, shell=True, start_new_session=True,
                                              stdout=open(work / "worker.log", "ab"), stderr=subprocess.STDOUT))
                decider = f"real worker: {cmd}"
            elif not args.responder:
                ready = work / "worker.ready"
                wk = _spawn([PY, "-m", "ledgergate", "worker", "--config", str(cfg), "--ready-file", str(ready)],
                            work / "worker.log")
                procs.append(wk)
                deadline = time.monotonic() + 120
                while not ready.exists() and time.monotonic() < deadline and wk.poll() is None:
                    time.sleep(0.1)
                decider = ("the real worker (Presidio + our detectors, the demo's default policy), "
                           f"pid {wk.pid}")
            else:
                rp = subprocess.Popen([PY, __file__, "--_responder", broker.bootstrap, prefix],
                                      stdout=subprocess.PIPE, stderr=open(work / "responder.log", "ab"),
                                      start_new_session=True)
                procs.append(rp)
                assert rp.stdout is not None
                rp.stdout.readline()
                decider = "in-bench responder standing in for the worker (allow, no classification)"
            time.sleep(1.0)
        print(f"ledgergate proxy bench: {args.requests} requests/point, 127.0.0.1, {os.cpu_count()} CPUs; "
              f"enforce decisions from: {decider}; logs in {work}")
        direct_url = f"http://127.0.0.1:{up_port}/v1"
        for c in (int(x) for x in args.concurrency.split(",")):
            print(f"\nconcurrency {c}")
            direct = _measure(direct_url, "m-obs", c, args.requests, args.warmup, None, None)
            print(_row("direct", direct, None))
            for mode in modes:
                route = "obs" if mode == "observe" else "enf"
                others = tuple(p.pid for p in procs if p is not px and p is not up) + (broker.proc.pid,)
                r = _measure(f"http://127.0.0.1:{px_port}/r/{route}/v1", f"m-{route}", c, args.requests,
                             args.warmup, KEY, px.pid, others if mode == "enforce" else ())
                print(_row(f"proxy {mode}", r, direct))
    finally:
        for p in reversed(procs):
            _stop(p)
        broker.stop()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--_responder":
        import uvloop

        uvloop.run(_responder(sys.argv[2], sys.argv[3]))
    else:
        main()
