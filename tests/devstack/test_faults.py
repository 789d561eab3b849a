"""Fault and abuse on the real stack (`ledgergate up`: Tansu, a Faust worker, the ledger service, the proxy).

A bounded mix of valid, invalid, refused and hostile requests is sent while each
part is SIGKILLed once (worker, ledger service, broker, proxy). Then:

* every request that got an answer (it has an ``x-request-id``) has exactly one
  ``response`` record in the signed ledger, and there are no others;
* everything the fake upstream received for the enforce route carries a request
  id whose decision was ``allow`` or ``redact``, and every string in the
  forwarded body — values and keys, by an independent walk — was a judged part
  of that request's RequestEvent;
* `ledgergate up` restarted each part (new process) and the stack answered an
  enforce request again each time;
* ``ledgergate verify`` says INTACT.

Honest limits of the kills (see the issue note): the proxy and the broker are
killed between requests, after the traces so far are in the ledger, because a
SIGKILLed proxy loses the events still in its memory (≤ linger, 5 ms) and the
embedded broker keeps its log in memory only.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ledgergate.broker import free_port
from ledgergate.config import default_config_text, load_settings
from ledgergate.devstack.demo import prepare_keys
from ledgergate.devstack.fakeupstream import fake_upstream
from ledgergate.ledger.client import ServiceLedger
from ledgergate.proxy.devissuer import dev_token

from support import wait_for

pytestmark = pytest.mark.timeout(400)

AWS = "AKIAZ7QW3RTY5UIOPL2K"
ENFORCE_MODEL, OBSERVE_MODEL = "gpt-demo", "gpt-demo-observe"
# field names and vocabulary of the OpenAI request shapes: the only strings allowed not to be parts
_FIELDS = {"model", "messages", "role", "content", "type", "text", "name", "tool_calls", "id", "function",
           "arguments", "tools", "description", "parameters", "properties", "required", "user", "stream",
           "tool_call_id", "metadata"}
_WORDS = {"user", "system", "assistant", "tool", "function", "text", "object", "string", "input_text"}


def _strings(v: Any, path: str = ""):
    """(pointer, string, is_key) for every string and key of a JSON document."""
    if isinstance(v, str):
        yield path, v, False
    elif isinstance(v, dict):
        for k, item in v.items():
            p = path + "/" + k.replace("~", "~0").replace("/", "~1")
            yield p, k, True
            yield from _strings(item, p)
    elif isinstance(v, list):
        for i, item in enumerate(v):
            yield from _strings(item, f"{path}/{i}")


def _must_be_judged(path: str, s: str, is_key: bool) -> bool:
    if is_key:
        return s not in _FIELDS
    return not (path == "/model" or (s in _WORDS and path.rsplit("/", 1)[-1] in ("role", "type")))


# ----------------------------------------------------------------------------- the request mix
def _mix(tok: dict[str, str], n: int):
    """(name, path, body, headers, allowed statuses) — valid, invalid, refused and hostile, in turn."""
    def chat(model: str, *msgs: Any, **kw: Any) -> bytes:
        return json.dumps({"model": model, "messages": list(msgs), **kw}).encode()

    def user(text: str) -> dict[str, Any]:
        return {"role": "user", "content": text}

    a, intern = tok["analyst"], tok["intern"]
    kinds = [
        ("enforce ok", chat(ENFORCE_MODEL, user(f"name three rivers, question {n}")), a, {200, 503}),
        ("observe ok", chat(OBSERVE_MODEL, user(f"a title for post {n}")), a, {200}),
        ("enforce secret in tool args", chat(ENFORCE_MODEL, user("hi"), {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c", "type": "function",
                         "function": {"name": "f", "arguments": json.dumps({"k": AWS})}}]}), a, {403, 503}),
        ("enforce secret in unknown field", chat(ENFORCE_MODEL, user(f"hello {n}"), x_vendor={"k": [AWS]}),
         a, {403, 503}),
        ("observe lone surrogate", b'{"model":"gpt-demo-observe","messages":[{"role":"user","content":"\\ud800"}]}',
         a, {400}),
        ("messages [null]", b'{"model":"gpt-demo","messages":[null]}', a, {400}),
        ("deep nesting", b'{"model":"gpt-demo","messages":' + b"[" * 5000 + b"]" * 5000 + b"}", a, {400}),
        ("duplicate messages", b'{"model":"gpt-demo","messages":[],"messages":[{"role":"user","content":"x"}]}',
         a, {400}),
        ("bad token", chat(OBSERVE_MODEL, user("x")), "Bearer not-a-token", {401}),
        ("role not allowed", chat(ENFORCE_MODEL, user("x")), intern, {403}),
        ("enforce tools def", chat(ENFORCE_MODEL, user(f"weather {n}"), tools=[{"type": "function", "function": {
            "name": "weather", "description": "city weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]), a, {200, 503}),
    ]
    name, body, auth, ok = kinds[n % len(kinds)]
    return name, "/v1/chat/completions", body, {"Authorization": auth}, ok


class Traffic:
    """Sends the mix from a thread; remembers every answered request (by x-request-id)."""

    def __init__(self, base: str, tok: dict[str, str]) -> None:
        self.base, self.tok = base, tok
        self.answered: dict[str, tuple[str, int]] = {}
        self.unreached = 0
        self.bad: list[str] = []
        self._n = itertools.count()
        self._lock = threading.Lock()

    def one(self, client: httpx.Client, n: int | None = None) -> int | None:
        n = next(self._n) if n is None else n
        name, path, body, headers, ok = _mix(self.tok, n)
        try:
            r = client.post(self.base + path, content=body,
                            headers={**headers, "content-type": "application/json"})
        except httpx.TransportError:
            with self._lock:
                self.unreached += 1  # the proxy was down: the request never reached the gateway
            return None
        with self._lock:
            self.answered[r.headers["x-request-id"]] = (name, r.status_code)
            if r.status_code not in ok:
                self.bad.append(f"{name}: {r.status_code} {r.text[:200]}")
        return r.status_code

    def burst(self, count: int, on_half: Any = None) -> None:
        with httpx.Client(timeout=30) as c:
            for i in range(count):
                if i == count // 2 and on_half is not None:
                    on_half()
                self.one(c)


# ----------------------------------------------------------------------------- the stack
def _pids(root: int) -> dict[str, int]:
    """Part name → pid among the descendants of the `ledgergate up` process."""
    out: dict[str, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid != root:
            continue
        words = [a.decode(errors="replace") for a in argv]
        for part in ("worker", "ledger", "proxy"):
            if part in words:
                out[part] = int(d.name)
        if words and words[0].endswith("tansu"):
            out["broker"] = int(d.name)
    return out


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    with fake_upstream() as fake:
        data = yaml.safe_load(default_config_text())
        data["broker"] = {"embedded_port": free_port(), "topic_prefix": "flt", "partitions": 2}
        data["proxy"].update(port=free_port(), publish_timeout_ms=1000)
        data["ledger"].update(checkpoint_every=50, checkpoint_seconds=1)
        for u in data["upstreams"]:
            u["base_url"] = fake.base_url
        for r in data["routes"]:
            r["hold_timeout_ms"] = 2000
        cfg = d / "ledgergate.yaml"
        cfg.write_text(yaml.safe_dump(data, sort_keys=False))
        settings = load_settings(cfg)
        prepare_keys(settings)
        log = d / "up.log"
        proc = subprocess.Popen([sys.executable, "-m", "ledgergate", "up", "--config", str(cfg)],
                                stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: b"ledgergate is up" in log.read_bytes(), 180, "up ready", proc, log)
            dev = settings.identity.dev
            tok = {k: "Bearer " + dev_token(dev, sub=k, tenant="acme", roles=[k]) for k in ("analyst", "intern")}
            yield settings, proc, log, fake, tok, cfg
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _service(settings) -> ServiceLedger:
    # only through the service: opening the file directly while `up` restarts the ledger
    # service would hold DuckDB's lock and make that restart fail
    return ServiceLedger(settings.ledger.socket_path)


def _responses(settings) -> dict[str, int]:
    with _service(settings) as led:
        rows = led.list(kind="response", limit=100000)
    out: dict[str, int] = {}
    for r in rows:
        out[r["request_id"]] = out.get(r["request_id"], 0) + 1
    return out


def _caught_up(settings, traffic: Traffic, timeout: float = 60) -> None:
    def ok() -> bool:
        try:
            return set(traffic.answered) <= set(_responses(settings))
        except Exception:  # noqa: BLE001 - the ledger service may be restarting
            return False
    wait_for(ok, timeout, "every answered request traced in the ledger")


def _recovered(settings, traffic: Traffic, timeout: float = 120) -> None:
    """An enforce request is allowed again (worker, broker and ledger all back)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=30) as c:
        while time.monotonic() < deadline:
            if traffic.one(c, n=0) == 200:
                return
            time.sleep(0.5)
    raise AssertionError("the stack did not answer an enforce request again")


def test_kill_each_part_under_mixed_traffic(up):
    settings, proc, log, fake, tok, cfg = up
    fake.app.reset()
    base = f"http://127.0.0.1:{settings.proxy.port}"
    traffic = Traffic(base, tok)
    traffic.burst(11)  # every kind once, all parts up
    judged: dict[str, dict[str, set[str]]] = {}
    for part in ("worker", "ledger", "broker", "proxy"):
        if part in ("broker", "proxy"):
            _caught_up(settings, traffic)  # what is in memory there dies with it (module docstring)
        if part == "broker":  # the held requests judged so far die with its log: read them first
            judged.update(asyncio.run(_judged_parts(settings)))
        old = _pids(proc.pid)
        assert part in old, (part, old)
        victim = old[part]
        if part in ("broker", "proxy"):  # between requests: traffic runs through the outage and recovery
            os.kill(victim, signal.SIGKILL)
            traffic.burst(8)
        else:  # mid-traffic
            traffic.burst(8, on_half=lambda v=victim: os.kill(v, signal.SIGKILL))
        wait_for(lambda p=part, v=victim: _pids(proc.pid).get(p) not in (None, v), 60, f"{part} restarted")
        _recovered(settings, traffic)
        assert proc.poll() is None, "ledgergate up must keep running"
    assert traffic.bad == [], traffic.bad
    statuses = [st for _, st in traffic.answered.values()]
    assert len(statuses) >= 45 and statuses.count(200) >= 10 and {400, 401, 403} <= set(statuses)
    _caught_up(settings, traffic, timeout=90)
    traced = _responses(settings)
    assert set(traced) == set(traffic.answered), "one trace per answered request, and no others"
    assert all(n == 1 for n in traced.values()), "no request traced twice"
    up_log = log.read_text()
    for part in ("worker-0", "ledger", "proxy"):
        assert f"{part}" in up_log and "restarting in" in up_log
    assert "broker   restarted" in up_log
    for rid, by_path in asyncio.run(_judged_parts(settings)).items():
        for path, texts in by_path.items():
            judged.setdefault(rid, {}).setdefault(path, set()).update(texts)
    _enforce_forwarded_only_judged(settings, fake, judged)
    out = subprocess.run([sys.executable, "-m", "ledgergate", "verify", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=120)
    assert "INTACT" in out.stdout, out.stdout + out.stderr


def _enforce_forwarded_only_judged(settings, fake, parts: dict[str, dict[str, set[str]]]) -> None:
    """Every enforce body the upstream got: an allow/redact decision, and all its strings were parts."""
    bodies = [b for b in fake.app.bodies if b.get("model") == ENFORCE_MODEL]
    assert bodies, "some enforce requests were forwarded"
    with _service(settings) as led:
        decisions = {r["request_id"]: r["outcome"] for r in led.list(kind="decision", limit=100000)}
    for b in bodies:
        rid = b["_request_id"]
        assert decisions.get(rid) in ("allow", "redact"), (rid, decisions.get(rid))
        body = {k: v for k, v in b.items() if not k.startswith("_")}
        judged = parts[rid]
        for path, s, is_key in _strings(body):
            if _must_be_judged(path, s, is_key):
                assert path in judged, (rid, path, s)
                if decisions[rid] == "allow":
                    assert s in judged[path], (rid, path, s)


async def _judged_parts(settings) -> dict[str, dict[str, set[str]]]:
    """request id → pointer → judged texts, read from the held-request topic as it is now."""
    from aiokafka import AIOKafkaConsumer

    from ledgergate.schemas.codec import decode

    c = AIOKafkaConsumer(settings.topics.held, bootstrap_servers=settings.broker.bootstrap,
                         auto_offset_reset="earliest", group_id=None)
    await c.start()
    out: dict[str, dict[str, set[str]]] = {}
    try:
        while True:
            batch = await c.getmany(timeout_ms=1500)
            if not batch:
                break
            for ms in batch.values():
                for m in ms:
                    ev = decode(m.value, expect="RequestEvent")
                    d = out.setdefault(ev["request_id"], {})
                    for p in ev["parts"]:
                        d.setdefault(p["path"], set()).add(p["text"])
    finally:
        await c.stop()
    return out
