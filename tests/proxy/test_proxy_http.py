"""The proxy over real HTTP, with a real broker and the fake upstream."""

from __future__ import annotations

import asyncio
import json

from ledgergate.broker import free_port
from ledgergate.config import Topics

CHAT = {"model": "m-obs", "messages": [{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hello there"}]}


async def test_observe_forwards_and_publishes(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "echo: hello there"
        assert fresh_fake.app.last["messages"] == CHAT["messages"]
        assert fresh_fake.app.last["_authorization"] is None  # caller's token never goes upstream
        rid = r.headers["x-request-id"]
        r2 = await client.post(f"{url}/r/obs/v1/completions", json={"model": "m-obs", "prompt": ["a", "b"]},
                               headers=kit.H())
        assert r2.status_code == 200 and r2.json()["choices"][0]["text"] == "echo: a b"
        r3 = await client.post(f"{url}/r/obs/v1/embeddings", json={"model": "m-obs", "input": "x"}, headers=kit.H())
        assert r3.status_code == 200 and len(r3.json()["data"]) == 1
    t = Topics.for_prefix(topic_prefix)
    reqs = await kit.read_topic(broker.bootstrap, t.requests, "RequestEvent", 3)
    resps = await kit.read_topic(broker.bootstrap, t.responses, "ResponseEvent", 3)
    first = next(e for e in reqs if e["request_id"] == rid)
    assert first["parts"] == [{"path": "/messages/0/content", "role": "system", "text": "be brief"},
                              {"path": "/messages/1/content", "role": "user", "text": "hello there"}]
    assert first["mode"] == "observe" and first["reply_to"] is None and first["principal"]["person"] == "alice"
    resp = next(e for e in resps if e["request_id"] == rid)
    assert resp["status"] == 200 and resp["outcome"] == "forwarded" and resp["forwarded"] == "original"
    assert resp["total_tokens"] == 5 and resp["metadata"]["upstream_response_id"].startswith("chatcmpl-")
    assert {e["endpoint"] for e in reqs} == {"chat.completions", "completions", "embeddings"}


async def test_event_times_are_the_exchange_times_not_the_publish_times(broker, topic_prefix, fresh_fake,
                                                                       tmp_path, kit, client):
    """Events linger before they are built and sent; their timestamps must not."""
    import time

    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path, publish_linger_ms=400)
    async with kit.running_proxy(s) as (url, app):
        before = time.time_ns() // 1000
        r = await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=kit.H())
        after = time.time_ns() // 1000
        assert r.status_code == 200
        rid = r.headers["x-request-id"]
    resps = await kit.read_topic(broker.bootstrap, Topics.for_prefix(topic_prefix).responses, "ResponseEvent", 1)
    resp = next(e for e in resps if e["request_id"] == rid)
    assert before <= resp["received_at_us"] <= resp["forwarded_at_us"] <= resp["answered_at_us"] <= after


async def test_request_errors(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    async with kit.running_proxy(s) as (url, app):
        chat = f"{url}/v1/chat/completions"
        r = await client.post(chat, content=b"{not json", headers=kit.H())
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = await client.post(chat, content=b"x" * (s.proxy.max_body_bytes + 1), headers=kit.H())
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        r = await client.post(f"{url}/r/nope/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 404 and "/r/nope" in r.json()["error"]["message"]
        r = await client.post(chat, json=dict(CHAT, model="unknown-model"), headers=kit.H())
        assert r.status_code == 404 and "unknown-model" in r.json()["error"]["message"]
        r = await client.post(chat, json=CHAT)
        assert r.status_code == 401
        r = await client.post(chat, json=CHAT, headers=kit.H("intern"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_allowed"
        r = await client.post(f"{url}/r/acme/v1/chat/completions", json=dict(CHAT, model="m-acme"),
                              headers=kit.H("other"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "tenant_not_allowed"
        r = await client.get(f"{url}/v1/models", headers=kit.H())
        assert {m["id"] for m in r.json()["data"]} == {"m-obs", "m-enf", "m-acme"}
        r = await client.get(f"{url}/v1/models", headers=kit.H("other"))
        assert {m["id"] for m in r.json()["data"]} == {"m-obs", "m-enf"}
        r = await client.get(f"{url}/health")
        assert r.status_code == 200
    assert fresh_fake.app.count == 0  # nothing refused reached the upstream


async def test_upstream_failures(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path, upstream_timeout=0.3,
                          extra_upstreams=[{"id": "dead", "base_url": dead}],
                          extra_routes=[{"id": "d", "path_prefix": "/r/dead", "upstream": "dead", "mode": "observe",
                                         "policy": "p", "allowed_roles": ["analyst"]}])
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/r/dead/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
        fresh_fake.app.delay_ms = 1000
        r = await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout"
        fresh_fake.app.delay_ms = 0
        fresh_fake.app.fail_status = 429
        r = await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 429 and r.json() == fresh_fake.app.fail_body
        fresh_fake.app.fail_status = None
        r = await client.post(f"{url}/v1/chat/completions", json=CHAT, headers=kit.H())
        assert r.status_code == 200  # the pool recovered from the timed-out connection


async def test_streaming_relayed_chunk_by_chunk(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    fresh_fake.app.chunk_delay_ms = 80
    body = dict(CHAT, stream=True, messages=[{"role": "user", "content": "one two three four"}])
    async with kit.running_proxy(s) as (url, app):
        loop = asyncio.get_running_loop()
        arrivals: list[tuple[float, bytes]] = []
        t0 = loop.time()
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body, headers=kit.H()) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            async for chunk in r.aiter_raw():
                arrivals.append((loop.time() - t0, chunk))
        text = b"".join(c for _, c in arrivals).decode()
        assert text.rstrip().endswith("data: [DONE]")
        content = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                          for line in text.split("\n") if line.startswith("data: {"))
        assert content == "echo: one two three four"
        # the first piece arrived long before the stream ended: relayed, not buffered
        assert len(arrivals) >= 4 and arrivals[0][0] < arrivals[-1][0] - 0.3


async def test_events_ingest(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    good = {"route_id": "external", "mode": "observe", "model": "gpt-x",
            "parts": [{"path": "/messages/0/content", "role": "user", "text": "hi"}], "metadata": {"loan_id": "L1"}}
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/v1/events", json=good, headers=kit.H())
        assert r.status_code == 202, r.text
        rid = r.json()["request_ids"][0]
        assert r.json()["stored"] == "broker"
        bad = {"route_id": 5, "parts": [{"path": "/x"}], "mode": "observe", "bogus": 1}
        r = await client.post(f"{url}/v1/events", json=bad, headers=kit.H())
        assert r.status_code == 400
        paths = {p["path"] for p in r.json()["error"]["problems"]}
        assert paths == {"route_id", "parts[0].text", "bogus"}
        r = await client.post(f"{url}/v1/events", json=good)
        assert r.status_code == 401
        r = await client.post(f"{url}/v1/events", json=dict(good, principal={
            "person": "x", "tenant": "globex", "roles": [], "auth_method": "jwt"}), headers=kit.H())
        assert r.status_code == 403
    got = await kit.read_topic(broker.bootstrap, Topics.for_prefix(topic_prefix).requests, "RequestEvent", 1)
    ev = next(e for e in got if e["request_id"] == rid)
    assert ev["source"] == "ingest" and ev["principal"]["person"] == "alice"
    assert ev["metadata"] == {"loan_id": "L1", "ingested_by": "alice@acme (dev)"}
    assert ev["submitted_by"] == {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "dev"}
