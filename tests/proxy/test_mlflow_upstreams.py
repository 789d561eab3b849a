"""The official openai client through ledgergate to real MLflow processes.

(a) ``mlflow models serve`` of a pyfunc ChatModel written for the test
    (``mlflow_chat_model.py``: echoes the last user message, no weights),
    reached by an upstream of kind ``mlflow-serving`` (``POST /invocations``);
(b) the MLflow AI Gateway inside ``mlflow server`` (MLflow 3), with an endpoint
    seeded over its REST API that points at the local fake OpenAI upstream,
    reached by an upstream of kind ``mlflow-gateway`` (its OpenAI-compatible
    base ``/gateway/mlflow/v1``).

Everything else is the real stack as ``ledgergate up`` runs it (broker, worker,
ledger service, proxy as processes) with the built-in default policy: answers
match a direct call to the same MLflow process, an email reaches the model
type-tagged, an AWS key is refused with 403 and never reaches it, and every
request leaves a decision and a response record in a ledger that verifies.

The MLflow processes start once per module, in parallel with the stack. They
get MLFLOW_DISABLE_TELEMETRY / DO_NOT_TRACK and an unreachable HTTP(S) proxy
for everything but loopback, so nothing they do can reach the internet.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from ledgergate.broker import free_port
from ledgergate.config import Settings, load_settings
from ledgergate.devstack.fakeupstream import RunningFake, fake_upstream
from ledgergate.devstack.supervisor import Stack
from ledgergate.ledger.client import open_ledger
from ledgergate.proxy.devissuer import dev_token

from support import wait_for, write_config

HELPER = Path(__file__).with_name("mlflow_chat_model.py")
BIN = Path(sys.executable).parent
SERVING_MODEL = "echo-serving"          # the route's model name for (a)
GATEWAY_MODEL = "mlflow-chat"           # the route's model name for (b) ...
GATEWAY_ENDPOINT = "chat"               # ... rewritten to the MLflow gateway endpoint's name

EMAIL = "billing.desk@corp-mail.net"
EMAIL_PROMPT = f"Send the overdue invoice to {EMAIL} by Friday."
EMAIL_REDACTED = "Send the overdue invoice to <EMAIL_ADDRESS> by Friday."  # the default policy's type_tag
AWS_PROMPT = ("debug: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8hT4vB2s "
              "key AKIAZ7QW3RTY5UIOPL2K")
BENIGN_PROMPT = "Name three rivers in Europe."


def _mlflow_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
        # `mlflow models serve` execs `uvicorn` by name: it must find the venv's
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        # anything but loopback goes to a closed port: no process here may reach the internet
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "PYTHONWARNINGS": "ignore::FutureWarning",
    })
    env.update(extra)
    return env


def _die_with_parent() -> None:  # in the child between fork and exec: no orphan if pytest is killed
    import ctypes

    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class _Proc:
    """An MLflow command in its own process group (its CLI spawns uvicorn as a grandchild)."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=workdir, env=env, start_new_session=True,
                                         preexec_fn=_die_with_parent if sys.platform == "linux" else None)

    def wait_http(self, url: str, timeout: float) -> None:
        def up() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout, f"{self.name} at {url}", proc=self.proc, log=self.log)

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)  # the group this test created for the command
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
            with contextlib.suppress(ProcessLookupError):  # the uvicorn grandchild, if it lingers
                os.killpg(self.proc.pid, signal.SIGKILL)
            break


@dataclass
class World:
    settings: Settings
    proxy_v1: str
    serving: str            # http://127.0.0.1:<port> of `mlflow models serve`
    gateway_v1: str         # http://127.0.0.1:<port>/gateway/mlflow/v1 of `mlflow server`
    fake: RunningFake       # what the gateway endpoint forwards to
    seen: Path              # one JSON line per call the echo model received

    def client(self, person: str) -> openai.OpenAI:
        tok = dev_token(self.settings.identity.dev, sub=person, tenant="acme", roles=["analyst"])
        return openai.OpenAI(base_url=self.proxy_v1, api_key=tok, max_retries=0, timeout=60)

    def seen_calls(self) -> list[list[dict[str, Any]]]:
        if not self.seen.exists():
            return []
        return [json.loads(line) for line in self.seen.read_text().splitlines()]


def _seed_gateway(base: str, upstream_v1: str) -> None:
    """Create secret → model definition → endpoint ``chat`` over the tracking server's REST API."""
    api = f"{base}/api/3.0/mlflow/gateway"
    with httpx.Client(timeout=60) as c:
        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            r = c.post(api + path, json=body)
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:500]}"
            return r.json()

        secret = post("/secrets/create", {
            "secret_name": "fake-upstream-key", "secret_value": {"api_key": "sk-fake-upstream"},
            "provider": "openai", "auth_config": {"api_base": upstream_v1}})["secret"]
        model = post("/model-definitions/create", {
            "name": "fake-model", "secret_id": secret["secret_id"], "provider": "openai",
            "model_name": "mock-gpt"})["model_definition"]
        post("/endpoints/create", {
            "name": GATEWAY_ENDPOINT, "usage_tracking": False,
            "model_configs": [{"model_definition_id": model["model_definition_id"],
                               "linkage_type": "PRIMARY", "weight": 1.0}]})


@pytest.fixture(scope="module")
def world(broker, tmp_path_factory) -> Iterator[World]:
    from ledgergate.devstack.demo import prepare_keys

    d = tmp_path_factory.mktemp("mlflow-upstreams")
    serving_port, server_port, proxy_port = free_port(), free_port(), free_port()
    model_dir, seen = d / "echo-model", d / "echo-seen.jsonl"
    with fake_upstream() as fake, contextlib.ExitStack() as cleanup:
        # (a) save the ChatModel, then serve it — in the background while the rest starts
        save = shlex.join([sys.executable, str(HELPER), str(model_dir)])
        serve = shlex.join([str(BIN / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
                            "--host", "127.0.0.1", "--port", str(serving_port)])
        serving = _Proc("mlflow-serving", ["sh", "-c", f"{save} && exec {serve}"], d,
                        _mlflow_env(LG_ECHO_SEEN=str(seen)))
        cleanup.callback(serving.stop)
        # (b) the tracking server with its AI Gateway; the KEK encrypts the stored upstream key,
        # the two GATEWAY_API_BASE settings let an http loopback api_base through its SSRF checks;
        # no job execution (a runner and 7 huey consumers the gateway does not use)
        server = _Proc("mlflow-server", [
            str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{d / 'mlflow.db'}",
            "--default-artifact-root", str(d / "mlartifacts"), "--host", "127.0.0.1",
            "--port", str(server_port), "--workers", "1"], d,
            _mlflow_env(MLFLOW_CRYPTO_KEK_PASSPHRASE=uuid.uuid4().hex,
                        MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS="true",
                        MLFLOW_GATEWAY_API_BASE_ALLOWED_SCHEMES="http,https",
                        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"))
        cleanup.callback(server.stop)

        prefix = f"ml{uuid.uuid4().hex[:6]}"
        route = {"mode": "enforce", "hold_timeout_ms": 20000, "policy": "default",
                 "allowed_roles": ["analyst"]}
        cfg = write_config(
            d, bootstrap=broker.bootstrap, prefix=prefix, proxy_port=proxy_port,
            upstreams=[
                {"id": "mlflow-serving", "kind": "mlflow-serving", "vendor": "MLflow Model Serving (test)",
                 "base_url": f"http://127.0.0.1:{serving_port}"},
                {"id": "mlflow-gateway", "kind": "mlflow-gateway", "vendor": "MLflow AI Gateway (test)",
                 "base_url": f"http://127.0.0.1:{server_port}/gateway/mlflow/v1"}],
            routes=[
                dict(route, id="serving", path_prefix="/r/serving", models=[SERVING_MODEL],
                     upstream="mlflow-serving"),
                dict(route, id="gateway", path_prefix="/r/gateway", models=[GATEWAY_MODEL],
                     upstream="mlflow-gateway", upstream_model=GATEWAY_ENDPOINT)])
        settings = load_settings(cfg)
        prepare_keys(settings)
        stack = Stack(settings, cfg, d, say=lambda s: None)
        cleanup.callback(stack.stop)
        stack.start()

        serving.wait_http(f"http://127.0.0.1:{serving_port}/ping", 180)
        server.wait_http(f"http://127.0.0.1:{server_port}/health", 180)
        _seed_gateway(f"http://127.0.0.1:{server_port}", fake.base_url)
        yield World(settings, f"http://127.0.0.1:{proxy_port}/v1", f"http://127.0.0.1:{serving_port}",
                    f"http://127.0.0.1:{server_port}/gateway/mlflow/v1", fake, seen)
        assert stack.dead() == [], f"parts of the stack died: {stack.dead()} (logs in {d / 'logs'})"
    # the worker's Faust app leaves "<group id>-data" in the working directory
    shutil.rmtree(Path.cwd() / f"{prefix}-workers-data", ignore_errors=True)


def _sans_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without what differs per call (its id and creation time)."""
    return {k: v for k, v in answer.items() if k not in ("id", "created")}


def _restored(answer: dict[str, Any]) -> dict[str, Any]:
    """A direct answer to the redacted prompt as the proxy hands it back: the tag that stood
    for exactly one value of the caller's request is replaced by that value."""
    return json.loads(json.dumps(answer).replace("<EMAIL_ADDRESS>", EMAIL))


def _direct(url: str, model: str, text: str) -> dict[str, Any]:
    r = httpx.post(url, json={"model": model, "messages": [{"role": "user", "content": text}]}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def _via_proxy(oc: openai.OpenAI, model: str, text: str) -> tuple[dict[str, Any], str, str]:
    """(raw JSON answer, parsed content, proxy request id) of one chat through the proxy."""
    raw = oc.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": text}])
    parsed = raw.parse()
    return raw.http_response.json(), parsed.choices[0].message.content, raw.headers["x-request-id"]


def _blocked(oc: openai.OpenAI, model: str) -> str:
    """Send the AWS-key prompt; assert the policy refusal; return the refused request's id."""
    with pytest.raises(openai.PermissionDeniedError) as ei:
        oc.chat.completions.create(model=model, messages=[{"role": "user", "content": AWS_PROMPT}])
    err = ei.value
    assert err.status_code == 403
    body = err.body if isinstance(err.body, dict) else {}
    body = body.get("error", body)
    assert body["code"] == "blocked_by_policy" and "block-secrets" in body["message"], body
    return body["request_id"]


_RESPONSE_FOR = {  # decision outcome → (response outcome, what was forwarded, status to the caller)
    "allow": ("forwarded", "original", 200),
    "redact": ("forwarded", "redacted", 200),
    "block": ("refused-policy", "none", 403),
}


def _assert_ledger(settings: Settings, person: str, route: str, upstream: str, expected: dict[str, str]) -> None:
    """Exactly one decision and one response record per request of ``person`` (request id →
    decision outcome in ``expected``), consistent with each other, and the ledger verifies."""
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        def rows(kind: str) -> list[dict[str, Any]]:
            return led.list(kind=kind, person=person, limit=1000)

        wait_for(lambda: len(rows("decision")) >= len(expected) and len(rows("response")) >= len(expected),
                 30, f"{len(expected)} decisions and responses of {person}")
        decisions, responses = rows("decision"), rows("response")
        assert sorted(r["request_id"] for r in decisions) == sorted(expected)
        assert sorted(r["request_id"] for r in responses) == sorted(expected)
        assert {r["request_id"]: r["outcome"] for r in decisions} == expected
        assert {(r["route_id"], r["upstream_id"]) for r in decisions + responses} == {(route, upstream)}
        for r in responses:
            assert (r["outcome"], r["forwarded"], r["status"]) == _RESPONSE_FOR[expected[r["request_id"]]], r
        for rid, outcome in expected.items():
            rec = led.show(rid)
            assert rec["request_id"] == rid
            if outcome == "redact":
                assert [f["replacement"] for f in rec["findings"]] == ["<EMAIL_ADDRESS>"]
                assert EMAIL not in json.dumps(rec, default=str)  # types, offsets and keyed hashes only
            if outcome == "block":
                assert rec["rule_id"] == "block-secrets" and "SECRET" in rec["categories"]
        v = led.verify()
        assert v["ok"] and v["problems"] == [], v


def test_mlflow_serving_chat_model_through_the_proxy(world: World) -> None:
    person = f"serving-{uuid.uuid4().hex[:8]}"
    oc = world.client(person)
    invocations = f"{world.serving}/invocations"

    # a benign question: the same chat completion as POST /invocations on the served model
    answer, content, allowed_id = _via_proxy(oc, SERVING_MODEL, BENIGN_PROMPT)
    assert content == f"echo: {BENIGN_PROMPT}"
    assert answer["object"] == "chat.completion"
    assert _sans_ids(answer) == _sans_ids(_direct(invocations, SERVING_MODEL, BENIGN_PROMPT))
    assert world.seen_calls()[-1] == [{"role": "user", "content": BENIGN_PROMPT}]

    # an email reaches the model type-tagged; the caller gets the model's answer to the tagged
    # text with its own email put back in place of the tag
    answer, content, redacted_id = _via_proxy(oc, SERVING_MODEL, EMAIL_PROMPT)
    assert world.seen_calls()[-1] == [{"role": "user", "content": EMAIL_REDACTED}]
    assert content == f"echo: {EMAIL_PROMPT}"
    direct = _direct(invocations, SERVING_MODEL, EMAIL_REDACTED)
    assert direct["choices"][0]["message"]["content"] == f"echo: {EMAIL_REDACTED}"
    assert _sans_ids(answer) == _sans_ids(_restored(direct))

    # an AWS key is refused and never reaches the model
    calls = len(world.seen_calls())
    blocked_id = _blocked(oc, SERVING_MODEL)
    assert len(world.seen_calls()) == calls
    assert not any("AKIA" in m["content"] or EMAIL in m["content"]
                   for call in world.seen_calls() for m in call)

    _assert_ledger(world.settings, person, "serving", "mlflow-serving",
                   {allowed_id: "allow", redacted_id: "redact", blocked_id: "block"})


def test_mlflow_ai_gateway_through_the_proxy(world: World) -> None:
    person = f"gateway-{uuid.uuid4().hex[:8]}"
    oc = world.client(person)
    completions = f"{world.gateway_v1}/chat/completions"
    fake = world.fake.app

    # a benign question: the same answer as a direct call to the gateway endpoint, which
    # forwarded it (under its configured model name) to the fake upstream
    answer, content, allowed_id = _via_proxy(oc, GATEWAY_MODEL, BENIGN_PROMPT)
    assert content == f"echo: {BENIGN_PROMPT}"
    assert fake.last["model"] == "mock-gpt" and fake.last["_path"] == "/v1/chat/completions"
    assert fake.last["messages"] == [{"role": "user", "content": BENIGN_PROMPT}]
    assert _sans_ids(answer) == _sans_ids(_direct(completions, GATEWAY_ENDPOINT, BENIGN_PROMPT))

    # an email reaches the upstream type-tagged; the caller gets its email back in the answer
    answer, content, redacted_id = _via_proxy(oc, GATEWAY_MODEL, EMAIL_PROMPT)
    assert fake.last["messages"] == [{"role": "user", "content": EMAIL_REDACTED}]
    assert content == f"echo: {EMAIL_PROMPT}"
    direct = _direct(completions, GATEWAY_ENDPOINT, EMAIL_REDACTED)
    assert direct["choices"][0]["message"]["content"] == f"echo: {EMAIL_REDACTED}"
    assert _sans_ids(answer) == _sans_ids(_restored(direct))

    # an AWS key is refused and reaches neither the gateway's upstream nor (so) the model
    count = fake.count
    blocked_id = _blocked(oc, GATEWAY_MODEL)
    assert fake.count == count

    # streaming through proxy and gateway with the official client: the upstream sees the tag,
    # the caller's stream has the email back even though the tag arrives split over chunks
    stream = oc.chat.completions.with_raw_response.create(
        model=GATEWAY_MODEL, stream=True, messages=[{"role": "user", "content": EMAIL_PROMPT}])
    streamed_id = stream.headers["x-request-id"]
    chunks = [c for c in stream.parse() if c.choices]
    assert len(chunks) > 1, "the answer arrived in one piece: not a stream"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == f"echo: {EMAIL_PROMPT}"
    assert fake.last["stream"] is True
    assert fake.last["messages"] == [{"role": "user", "content": EMAIL_REDACTED}]
    assert not any(EMAIL in json.dumps(b) or "AKIA" in json.dumps(b) for b in fake.bodies)

    _assert_ledger(world.settings, person, "gateway", "mlflow-gateway",
                   {allowed_id: "allow", redacted_id: "redact", blocked_id: "block", streamed_id: "redact"})
