#!/usr/bin/env bash
# Reproduce bench/RESULTS-peers.md: ledgergate vs. peers through the shared
# gateway benchmark (/work/shared/bench, used unchanged; ledgergate's targets are
# added by bench/shared_targets.py).
#
#   bash bench/peers.sh            # setup + non-streaming comparison (2 runs) + one streaming run
#   SKIP_SETUP=1 bash bench/peers.sh
#
# Ports: upstream 28000, targets 28100+i, ledgergate's embedded broker 29100+i
# (moved off the harness defaults 18000/18100 because the machine is shared).
set -euo pipefail
cd "$(dirname "$0")/.."                      # repo root (/work/main)

export BENCH_WORK="${BENCH_WORK:-/tmp/lg-bench/work}"   # venvs + results
export BENCH_UPSTREAM_PORT="${BENCH_UPSTREAM_PORT:-28000}"
export BENCH_PORT_BASE="${BENCH_PORT_BASE:-28100}"
OUT="${OUT:-/tmp/lg-bench}"
TARGETS="${TARGETS:-direct,ledgergate-observe,ledgergate-enforce,mlflow-gateway,litellm,litellm-pii}"
PY=.venv/bin/python                          # the repo venv: `ledgergate` is next to it

[ -n "${SKIP_SETUP:-}" ] || bash /work/shared/bench/setup.sh   # wrk + venv-mock/-litellm/-mlflow

# sanity: the generated config validates
$PY - <<'EOF'
import sys, subprocess
sys.argv = ["x"]; sys.path.insert(0, "bench")
import shared_targets as st, run_peers
v = dict(port=28101, upstream="http://127.0.0.1:28000", dir="/tmp/lg-bench/check", venv="",
         bench=st.SHARED, key="0" * 32, python=sys.executable)
import os; os.makedirs(v["dir"], exist_ok=True)
open(v["dir"] + "/ledgergate.yaml", "w").write(run_peers.fill(st.TARGETS["ledgergate-enforce"]["files"]["ledgergate.yaml"], v))
subprocess.run([".venv/bin/ledgergate", "config", "check", v["dir"] + "/ledgergate.yaml"], check=True)
EOF

uptime | tee "$OUT/uptime-before-main.txt"
$PY bench/shared_targets.py --targets "$TARGETS" --concurrency 1,8 --runs 2 --requests 1000 \
    --out "$OUT/main"
uptime | tee "$OUT/uptime-after-main.txt"

uptime | tee "$OUT/uptime-before-stream.txt"
$PY bench/shared_targets.py --targets "$TARGETS" --concurrency 1,8 --runs 1 --requests 500 --stream \
    --out "$OUT/stream"
uptime | tee "$OUT/uptime-after-stream.txt"

# Supplement (not part of the harness): per-process CPU of one `ledgergate up`
# stack (idle, observe c=1, enforce c=1), streaming time-to-first-byte at c=1
# (direct vs observe vs enforce, Python client) and classifier-only time for the
# harness's 600-char prompt. Ports 28500 (mock) / 28600 (proxy) / 29600 (broker).
uptime | tee "$OUT/uptime-before-perproc.txt"
$PY - <<'PYEOF'
"""Supplement: per-process CPU of a `ledgergate up` stack (idle, observe c=1, enforce c=1)
and classifier-only time for the harness's 600-char prompt. Run with the repo venv."""
import os, subprocess, sys, time, json, signal, shlex
sys.argv = [sys.argv[0]]
sys.path.insert(0, "/work/main/bench")
import shared_targets as st, run_peers, load
UP, PORT = 28500, 28600
D = "/tmp/lg-bench/perproc"; os.makedirs(D, exist_ok=True)
vals = dict(port=PORT, upstream="http://127.0.0.1:%d" % UP, dir=D, venv="", bench=st.SHARED,
            key="perproc0perproc0", python=sys.executable)
open(D + "/ledgergate.yaml", "w").write(run_peers.fill(st.TARGETS["ledgergate-enforce"]["files"]["ledgergate.yaml"], vals))
if not os.path.exists(D + "/keys/active"):
    subprocess.run(shlex.split(run_peers.fill(st.TARGETS["ledgergate-enforce"]["setup"], vals)), check=True)
mock = run_peers.Group("mock", "/tmp/lg-bench/work/venv-mock/bin/python %s/mock_upstream.py --port %d" % (st.SHARED, UP),
                       dict(os.environ), D + "/mock.log", D)
g = run_peers.Group("up", run_peers.fill(st.TARGETS["ledgergate-enforce"]["cmd"], vals), dict(os.environ),
                    D + "/server.log", D)
TCK = os.sysconf("SC_CLK_TCK")
def names():
    out = {}
    for pid in g.pids():
        try: cmd = open("/proc/%s/cmdline" % pid).read().split("\0")
        except OSError: continue
        n = "tansu(broker)" if "tansu" in cmd[0] else next((c for c in ("ledger", "worker", "proxy") if c in cmd[3:4]), "supervisor")
        out[pid] = n
    return out
def cpu():
    t = {}
    for pid, n in names().items():
        s = run_peers._stat(pid)
        if s: t[n] = t.get(n, 0) + (int(s[11]) + int(s[12])) / TCK
    return t
try:
    t0 = time.monotonic()
    while b"ledgergate is up" not in open(D + "/server.log", "rb").read():
        assert g.alive() and time.monotonic() - t0 < 180; time.sleep(0.1)
    time.sleep(3)
    res = {}
    a = cpu(); time.sleep(10); b = cpu()
    res["idle_ms_cpu_per_s"] = {k: round((b[k] - a.get(k, 0)) * 100, 1) for k in b}
    hdr = ["Authorization: Bearer lgk_" + vals["key"]]
    bf = D + "/body.json"; open(bf, "wb").write(load.build_body("mock-gpt", 64, False))
    for route, n in (("observe", 2000), ("enforce", 300)):
        url = "http://127.0.0.1:%d/r/%s/v1/chat/completions" % (PORT, route)
        load.run_wrk(url, bf, 1, 100, 60, hdr)
        a = cpu(); r = load.measure_point(url, bf, 1, n, 0, 90, hdr); b = cpu()
        res[route + "_c1"] = {"rps": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "n": r["requests"],
                              "cpu_ms_per_req": {k: round(1000 * (b[k] - a.get(k, 0)) / r["requests"], 3) for k in b},
                              "cpu_ms_per_req_total": round(1000 * sum(b[k] - a.get(k, 0) for k in b) / r["requests"], 3)}
    print(json.dumps(res, indent=1), flush=True)
    # streaming time to first byte (c=1, Python client on one keep-alive connection)
    import http.client
    sb = load.build_body("mock-gpt", 64, True)
    for name, port, path, h in (("direct", UP, "/v1/chat/completions", {}),
                                ("observe", PORT, "/r/observe/v1/chat/completions", {"Authorization": hdr[0].split(": ", 1)[1]}),
                                ("enforce", PORT, "/r/enforce/v1/chat/completions", {"Authorization": hdr[0].split(": ", 1)[1]})):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ttfb, ttlb = [], []
        n = 300 if name != "enforce" else 100
        for i in range(n + 20):
            t = time.perf_counter()
            conn.request("POST", path, body=sb, headers=dict(h, **{"Content-Type": "application/json"}))
            resp = conn.getresponse()
            if resp.status != 200: print("non-200", name, i, resp.status, resp.read()[:300]); conn.close(); conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30); continue
            resp.read1(1) if hasattr(resp, "read1") else resp.read(1); t1 = time.perf_counter()
            resp.read(); t2 = time.perf_counter()
            if i >= 20: ttfb.append((t1 - t) * 1000); ttlb.append((t2 - t) * 1000)
        ttfb.sort(); ttlb.sort()
        res["stream_" + name] = {"ttfb_p50_ms": round(ttfb[len(ttfb)//2], 3), "ttfb_p99_ms": round(ttfb[int(len(ttfb)*.99)-1], 3),
                                 "last_byte_p50_ms": round(ttlb[len(ttlb)//2], 3)}
    print(json.dumps(res, indent=1))
finally:
    g.stop(); mock.stop()
# classifier alone, same prompt, same process (no broker)
from ledgergate.config import load_settings
from ledgergate.streams.classify.engine import build_classifier
s = load_settings(D + "/ledgergate.yaml")
need = s.bundles()["default"].needed_categories()
c = build_classifier(model_name=s.worker.model_name)
for _ in range(20): c.classify(load.PROMPT, need)
ts = []
for _ in range(200):
    t = time.perf_counter(); c.classify(load.PROMPT, need); ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(json.dumps({"classify_only_600char_ms": {"p50": round(ts[100], 2), "p99": round(ts[198], 2)}}))
PYEOF
uptime | tee "$OUT/uptime-after-perproc.txt"
