#!/usr/bin/env python3
"""ledgergate as a target of the shared gateway benchmark (/work/shared/bench).

Imports the shared harness unchanged, adds two entries to its TARGETS table
(README "How to add another target") and runs its runner:

  python bench/shared_targets.py --targets direct,ledgergate-observe,ledgergate-enforce,\
mlflow-gateway,litellm,litellm-pii --concurrency 1,8 --runs 2 --requests 1000

Both entries run the WHOLE pipeline, in the foreground, in one process group:
`ledgergate up --config {dir}/ledgergate.yaml` = embedded Tansu broker +
ledger service + 1 worker + 1 proxy (the supervisor's children share its
process group, so the harness's CPU/RSS figures cover all four parts).
The config has one observe route (/r/observe) and one enforce route
(/r/enforce) for model mock-gpt, both under the demo's `default` policy
bundle; the two targets differ only in the URL they load.

Environment: SHARED_BENCH (default /work/shared/bench), LEDGERGATE_BIN (default:
the `ledgergate` next to this interpreter, i.e. the repo venv), plus the
harness's own BENCH_WORK / BENCH_VENVS / BENCH_UPSTREAM_PORT / BENCH_PORT_BASE.
"""
from __future__ import annotations

import hashlib
import os
import sys

SHARED = os.environ.get("SHARED_BENCH", "/work/shared/bench")
sys.path.insert(0, SHARED)

import run_peers  # noqa: E402  (imports targets.TARGETS: the same dict object is used by main())
from targets import TARGETS  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LEDGERGATE_BIN = os.environ.get("LEDGERGATE_BIN") or os.path.join(os.path.dirname(sys.executable), "ledgergate")
if not os.path.exists(LEDGERGATE_BIN):
    LEDGERGATE_BIN = os.path.join(REPO, ".venv", "bin", "ledgergate")

# The harness gives each target {port} = BENCH_PORT_BASE + index (18100 + i by
# default); the embedded broker takes {port} + 1000 (19100 + i), away from the
# demo's 19092 and from the other targets' ports.

# The demo's `default` bundle (defaults/demo.yaml), verbatim.
DEFAULT_POLICY = """\
policies:
  - id: default
    bundle:
      id: default
      version: 1
      owner: governance@acme.example
      reviewed: 2026-10-01
      description: block credentials and injections, redact personal data, allow the rest
      redaction:
        default_operator: type_tag
        operators: {{PERSON: pseudonym}}
      rules:
        - id: block-secrets
          action: block
          match: {{categories: [SECRET]}}
          explain: credentials must never reach an LLM provider
        - id: block-injection
          action: block
          match: {{categories: [PROMPT_INJECTION]}}
          explain: prompt-injection attempts are refused
        - id: block-mnpi
          action: block
          match: {{categories: [MNPI]}}
          explain: material non-public information stays inside
        - id: redact-personal-data
          action: redact
          match: {{categories: [PII, PHI]}}
          explain: personal and health data are replaced before forwarding
        - id: allow-rest
          action: allow
          match: {{always: true}}
          explain: nothing sensitive found
"""

# Placeholders ({port} {upstream} {dir} {key} {broker_port} {key_sha256}) are
# filled by the runner; literal braces are doubled.
LEDGERGATE_YAML = """\
# written by bench/shared_targets.py for the shared gateway benchmark
broker:                       # no bootstrap_servers: embedded Tansu (in memory)
  embedded_host: 127.0.0.1
  embedded_port: {broker_port}
  topic_prefix: lg
  partitions: 4
ledger:
  path: {dir}/ledger.duckdb
  keys_dir: {dir}/keys        # created by the entry's "setup" (ledgergate keys generate)
  ledger_id: bench
  checkpoint_every: 100
  checkpoint_seconds: 2
identity:
  api_keys:
    - id: bench
      sha256: {key_sha256}    # sha256 of lgk_{key}
      person: bench
      tenant: bench
      roles: [bench]
upstreams:
  - id: mock
    kind: openai
    vendor: shared bench mock upstream
    base_url: {upstream}/v1
routes:
  - id: observe
    path_prefix: /r/observe
    models: [mock-gpt]
    upstream: mock
    mode: observe
    policy: default
    allowed_roles: [bench]
    purpose: benchmark, observed not held
  - id: enforce
    path_prefix: /r/enforce
    models: [mock-gpt]
    upstream: mock
    mode: enforce
    hold_timeout_ms: 5000
    policy: default
    allowed_roles: [bench]
    purpose: benchmark, every prompt classified and decided before forwarding
""" + DEFAULT_POLICY + """\
proxy:
  host: 127.0.0.1
  port: {port}
  spool_dir: {dir}/spool
worker:
  web_port: 0                 # no Faust web server
"""


def _derived_vars(port: int, key: str) -> dict[str, str]:
    return {"broker_port": str(port + 1000),
            "key_sha256": hashlib.sha256(("lgk_" + key).encode()).hexdigest()}


def _entry(mode: str) -> dict:
    return {
        "desc": f"ledgergate `up` (broker+ledger+1 worker+proxy), {mode} route, demo default policy",
        "version": "ledgergate",
        "venv": "",  # not under BENCH_VENVS; the repo venv is used through LEDGERGATE_BIN
        "files": {"ledgergate.yaml": LEDGERGATE_YAML},
        "setup": LEDGERGATE_BIN + " keys generate --dir {dir}/keys",
        "cmd": LEDGERGATE_BIN + " up --config {dir}/ledgergate.yaml --workers 1",
        "env": {"PYTHONUNBUFFERED": "1"},
        "url": "http://127.0.0.1:{port}/r/" + mode + "/v1/chat/completions",
        "model": "mock-gpt",
        "headers": ["Authorization: Bearer lgk_{key}"],
        "notes": ("whole pipeline in one process group: embedded Tansu broker, ledger service, "
                  "1 stream worker, 1 proxy; service API key (sha256 in config); route "
                  + ("/r/observe (mode observe: forwarded at once, classified after)"
                     if mode == "observe" else
                     "/r/enforce (mode enforce: every prompt classified and decided by the "
                     "worker before forwarding)")
                  + "; policy = demo `default` bundle; no telemetry, no cache, loopback only."),
    }


TARGETS["ledgergate-observe"] = _entry("observe")
TARGETS["ledgergate-enforce"] = _entry("enforce")

# The runner fills placeholders from dict(port=..., key=..., ...) updated with
# spec["vars"]; {broker_port} and {key_sha256} depend on the per-run port and key,
# so wrap run_peers.fill to add them whenever those two are known.
_orig_fill = run_peers.fill


def _fill(obj, vals):
    if isinstance(vals, dict) and "port" in vals and "key" in vals and "key_sha256" not in vals:
        vals = dict(vals, **_derived_vars(int(vals["port"]), vals["key"]))
    return _orig_fill(obj, vals)


run_peers.fill = _fill

# version lookup: the runner asks {venv}/bin/python for the package version and
# only when venv is non-empty; report the repo's version instead.
_orig_bench_target = run_peers.bench_target


def _bench_target(name, spec, *args, **kw):
    res = _orig_bench_target(name, spec, *args, **kw)
    if name.startswith("ledgergate") and "version" not in res:
        try:
            import importlib.metadata as md
            res["version"] = md.version("ledgergate")
        except Exception:  # noqa: BLE001 - report only
            res["version"] = "?"
    return res


run_peers.bench_target = _bench_target

# Steady state for the load points. The proxy answers an observe route as soon
# as it listens, seconds before the worker has loaded its classifier; without
# this, the observe target's load points would run while the worker is still
# starting (and burning a core). So, for ledgergate targets only: cold start is
# still "launch -> first 200" (the harness's definition, returned unchanged),
# then we also wait until `ledgergate up` prints that every part is up
# ("ledgergate is up") before the load starts, and report that time as
# all_parts_up_s. LG_WAIT_ALL_PARTS=0 turns this off (harness behaviour as is).
WAIT_ALL_PARTS = os.environ.get("LG_WAIT_ALL_PARTS", "1") != "0"
_orig_wait = run_peers.wait_first_success
_ALL_UP: dict[str, float] = {}


def _wait_first_success(url, body, headers, group, t0, timeout):
    first = _orig_wait(url, body, headers, group, t0, timeout)
    if group is not None and WAIT_ALL_PARTS and "/r/" in url:
        import time
        while time.monotonic() - t0 < timeout:
            if not group.alive():
                raise RuntimeError(f"exited during start, see {group.log_path}")
            with open(group.log_path, "rb") as f:
                if b"ledgergate is up" in f.read():
                    _ALL_UP[group.log_path] = round(time.monotonic() - t0, 3)
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"not all parts up within {timeout}s, see {group.log_path}")
    return first


run_peers.wait_first_success = _wait_first_success


def _bench_target_all_up(name, spec, idx, a, upstream, run_dir, *rest, **kw):
    res = _bench_target(name, spec, idx, a, upstream, run_dir, *rest, **kw)
    log = os.path.join(run_dir, name, "server.log")
    if log in _ALL_UP:
        res["all_parts_up_s"] = _ALL_UP[log]
        res["notes"] = res.get("notes", "") + f" Load started after all parts were up ({_ALL_UP[log]:.2f}s)."
    return res


run_peers.bench_target = _bench_target_all_up

if __name__ == "__main__":
    run_peers.main()
