"""Enforce mode: the hold, each decision outcome, fail-closed refusals."""

from __future__ import annotations

import json

from ledgergate.broker import free_port
from ledgergate.config import Topics

SECRET = "Jane Roe"


def chat(text: str, model: str = "m-enf", **kw):
    return {"model": model, "messages": [{"role": "user", "content": text}], **kw}


def decide(req):
    text = req["parts"][-1]["text"]
    if "password" in text:
        return {"outcome": "block", "rule_id": "block-secrets"}
    if "silent" in text:
        return None  # no decision: the hold times out
    if SECRET in text:
        start = text.index(SECRET)
        idx = len(req["parts"]) - 1
        red = text.replace(SECRET, "<PERSON_1>")
        return {"outcome": "redact", "rule_id": "redact-pii",
                "findings": [{"entity_type": "PERSON", "category": "PII", "part": idx, "start": start,
                              "end": start + len(SECRET), "score": 0.9, "recognizer": "test",
                              "value_hash": None, "replacement": "<PERSON_1>"}],
                "redacted_parts": [dict(req["parts"][idx], text=red)]}
    return {"outcome": "allow"}


async def test_enforce_outcomes(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path, hold_ms=1500)
    fake = fresh_fake.app
    async with kit.running_proxy(s) as (url, app), kit.Responder(broker.bootstrap, s.topics, decide):
        r = await client.post(f"{url}/v1/chat/completions", json=chat("hello"), headers=kit.H())
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "echo: hello"
        # redact: the upstream sees the token, the caller gets the name back
        r = await client.post(f"{url}/r/enf/v1/chat/completions", json=chat(f"write to {SECRET} today"),
                              headers=kit.H())
        assert r.status_code == 200, r.text
        assert fake.last["messages"][0]["content"] == "write to <PERSON_1> today"
        assert r.json()["choices"][0]["message"]["content"] == f"echo: write to {SECRET} today"
        # redact + stream: token restored across chunk boundaries (the fake splits every 4 chars)
        fake.chunk_chars = 3
        async with client.stream("POST", f"{url}/v1/chat/completions", json=chat(f"hi {SECRET}!", stream=True),
                                 headers=kit.H()) as sr:
            raw = b"".join([c async for c in sr.aiter_raw()]).decode()
        assert fake.last["messages"][0]["content"] == "hi <PERSON_1>!"
        content = "".join(json.loads(ln[6:])["choices"][0]["delta"].get("content", "")
                          for ln in raw.split("\n") if ln.startswith("data: {"))
        assert content == f"echo: hi {SECRET}!" and raw.rstrip().endswith("[DONE]")
        count = fake.count
        # block: 403 names the decision and rule, nothing forwarded
        r = await client.post(f"{url}/v1/chat/completions", json=chat("my password is hunter2"), headers=kit.H())
        err = r.json()["error"]
        assert r.status_code == 403 and err["code"] == "blocked_by_policy"
        assert err["decision_id"] in err["message"] and "block-secrets" in err["message"]
        # hold timeout: 503, nothing forwarded
        r = await client.post(f"{url}/v1/chat/completions", json=chat("stay silent"), headers=kit.H())
        assert r.status_code == 503 and "hold timeout" in r.json()["error"]["message"]
        assert fake.count == count
        rr = await client.get(f"{url}/ready")
        assert rr.status_code == 503 and rr.json()["decisions_flowing"] is False
    resps = await kit.read_topic(broker.bootstrap, Topics.for_prefix(topic_prefix).responses, "ResponseEvent", 5)
    by_outcome = {(e["outcome"], e["forwarded"]) for e in resps}
    assert {("forwarded", "original"), ("forwarded", "redacted"), ("refused-policy", "none"),
            ("refused-timeout", "none")} <= by_outcome
    held = [e for e in resps if e["outcome"] == "forwarded"]
    assert all(e["hold_ms"] is not None and e["decision_id"] for e in held)
    # held requests travel on their own topic (the worker's priority lane)
    topics = Topics.for_prefix(topic_prefix)
    lane = await kit.read_topic(broker.bootstrap, topics.held, "RequestEvent", 5)
    assert {e["mode"] for e in lane} == {"enforce"} and all(e["reply_to"] for e in lane)


async def test_broker_unreachable_enforce_503_observe_forwards(fresh_fake, tmp_path, kit, client):
    dead = f"127.0.0.1:{free_port()}"
    s = kit.make_settings("down", dead, fresh_fake.base_url, tmp_path)
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/v1/chat/completions", json=chat("hello"), headers=kit.H())
        assert r.status_code == 503 and r.json()["error"]["code"] == "decision_unavailable"
        assert fresh_fake.app.count == 0
        r = await client.post(f"{url}/v1/chat/completions", json=chat("hello", model="m-obs"), headers=kit.H())
        assert r.status_code == 200  # observe mode does not depend on the broker
        r = await client.post(f"{url}/v1/events", json={"route_id": "x", "mode": "observe"}, headers=kit.H())
        assert r.status_code == 202 and r.json()["stored"] == "spool"
        assert (await client.get(f"{url}/ready")).status_code == 503
    # refusal + observe events + ingested event all landed in the spool
    assert app.publisher.spool.pending >= 4
