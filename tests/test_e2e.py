"""The whole pipeline as an operator runs it: broker, worker, ledger service and
proxy as real processes (`ledgergate up`'s supervisor), only the LLM upstream fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgergate.broker import free_port
from ledgergate.ledger.client import open_ledger
from ledgergate.proxy.devissuer import dev_token

from support import running_stack, wait_for


@pytest.fixture(scope="module")
def stack(broker, tmp_path_factory) -> Iterator[tuple[Any, Any, httpx.Client]]:
    with running_stack(tmp_path_factory.mktemp("e2e"), bootstrap=broker.bootstrap, tag="e") as (
            settings, cfg, up, client):
        yield settings, up, client


def _auth(settings: Any, person: str, roles: tuple[str, ...] = ("analyst",), tenant: str = "acme",
          **claims: Any) -> dict[str, str]:
    tok = dev_token(settings.identity.dev, sub=person, tenant=tenant, roles=list(roles), **claims)
    return {"Authorization": f"Bearer {tok}"}


def _chat(client: httpx.Client, headers: dict[str, str], text: str, model: str = "gpt-demo") -> httpx.Response:
    return client.post("/v1/chat/completions", headers=headers,
                       json={"model": model, "messages": [{"role": "user", "content": text}]})


def test_the_pipeline_end_to_end(stack) -> None:
    settings, up, client = stack

    # 1. an email and an SSN reach the upstream redacted
    r = _chat(client, _auth(settings, "bob", ("underwriter",)),
              "Write to Maria at maria.lopez@fastmail.com about SSN 536-22-8713, please.")
    assert r.status_code == 200, r.text
    seen = httpx.get(f"{up.origin}/_last").json()
    sent = seen["messages"][0]["content"]
    assert "maria.lopez@fastmail.com" not in sent and "536-22-8713" not in sent
    assert "<EMAIL_ADDRESS>" in sent and "<US_SSN>" in sent
    count_after_redact = httpx.get(f"{up.origin}/_count").json()["count"]

    # 2. an AWS key never reaches the upstream; the caller gets a 403 naming the decision
    r = _chat(client, _auth(settings, "carol", ("engineer",)),
              "debug: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8hT4vB2s key AKIAZ7QW3RTY5UIOPL2K")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "blocked_by_policy" and "block-secrets" in err["message"]
    decision_id = err.get("decision_id") or err["message"].split("decision ")[1].split(")")[0]
    assert decision_id.startswith("dec_")
    assert httpx.get(f"{up.origin}/_count").json()["count"] == count_after_redact

    # 3. expired and unsigned tokens get 401
    r = _chat(client, _auth(settings, "eve", exp=int(time.time()) - 3600, iat=int(time.time()) - 7200,
                            nbf=int(time.time()) - 7200), "hi")
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = _chat(client, {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJldmUifQ."}, "hi")
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"

    # 4. a benign question and an observe-route request are answered
    assert _chat(client, _auth(settings, "alice"), "Name three rivers in Europe.").status_code == 200
    assert _chat(client, _auth(settings, "alice"), "Title for a post on logs?", "gpt-demo-observe").status_code == 200

    # 5. every request that reached the pipeline has exactly one verified decision record
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        wait_for(lambda: len(led.list(kind="decision", limit=1000)) >= 4, 20, "4 decisions")
        wait_for(lambda: len(led.list(kind="response", limit=1000)) >= 4, 20, "4 responses")
        decisions = led.list(kind="decision", limit=1000)
        by_person = {}
        for row in decisions:
            by_person.setdefault(row["person"], []).append(row)
        assert sorted(by_person) == ["alice", "bob", "carol"]
        assert len(by_person["bob"]) == 1 and by_person["bob"][0]["outcome"] == "redact"
        assert len(by_person["carol"]) == 1 and by_person["carol"][0]["outcome"] == "block"
        assert [r["outcome"] for r in by_person["alice"]] == ["allow", "allow"]
        assert len({r["request_id"] for r in decisions}) == len(decisions)
        carol = led.show(by_person["carol"][0]["request_id"])
        assert carol["decision_id"] == decision_id
        # the ledger holds no raw value: only types, offsets, scores and keyed hashes
        bob = led.show(by_person["bob"][0]["request_id"])
        assert "536-22-8713" not in str(bob) and "maria.lopez@fastmail.com" not in str(bob)
        assert {f["entity_type"] for f in bob["findings"]} >= {"EMAIL_ADDRESS", "US_SSN"}
        v = led.verify()
        assert v["ok"] and v["problems"] == []


def test_two_proxy_instances_each_get_only_their_own_replies(stack, tmp_path: Path) -> None:
    import asyncio
    import concurrent.futures

    import yaml
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from ledgergate.schemas import codec

    from support import start_cli, stop_proc

    settings, up, client = stack
    # a second proxy: same deployment, its own port and instance id
    cfg_dir = Path(settings.ledger.path).parent  # relative paths resolve against the config's folder
    raw = yaml.safe_load((cfg_dir / "ledgergate.yaml").read_text())
    raw["proxy"].update(port=free_port(), instance_id="second", spool_dir=str(tmp_path / "spool2"))
    (cfg_dir / "second.yaml").write_text(yaml.safe_dump(raw))
    second = start_cli(["proxy", "--config", str(cfg_dir / "second.yaml")], tmp_path / "proxy2.log")
    try:
        port2 = raw["proxy"]["port"]
        wait_for(lambda: _ok(port2), 30, "second proxy", second, tmp_path / "proxy2.log")
        hdr = _auth(settings, "alice")

        def ask(i: int) -> tuple[int, str]:
            base = client.base_url if i % 2 == 0 else f"http://127.0.0.1:{port2}"
            r = httpx.post(f"{base}/v1/chat/completions", headers=hdr, timeout=30, json={
                "model": "gpt-demo", "messages": [{"role": "user", "content": f"question number {i} about rivers"}]})
            return r.status_code, r.text

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, range(16)))
        for i, (status, text) in enumerate(results):
            assert status == 200, text
            assert f"question number {i} about" in text  # the fake upstream echoes what it got

        async def reply_keys(topic: str) -> set[str]:
            c = AIOKafkaConsumer(bootstrap_servers=settings.broker.bootstrap, auto_offset_reset="earliest")
            await c.start()
            try:
                tp = TopicPartition(topic, 0)
                c.assign([tp])
                await c.seek_to_beginning(tp)
                batch = await c.getmany(timeout_ms=2000)
                return {codec.decode(m.value)["request_id"] for ms in batch.values() for m in ms}
            finally:
                await c.stop()

        mine = asyncio.run(reply_keys(settings.topics.replies("second")))
        assert len(mine) == 8  # the 8 requests it held, and nothing of the other instance's
    finally:
        stop_proc(second)


def _ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False
