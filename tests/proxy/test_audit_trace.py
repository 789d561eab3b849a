"""Issue #14, row by row: every request leaves one trace, and enforce forwards only what it judged.

One proxy on the real broker, a stand-in worker (the Responder) that blocks any
part holding the AWS key, the fake upstream. Each row sends one request and
states the status, the trace's outcome/reason and whether the upstream saw it.
"""

from __future__ import annotations

import json

import httpx
import pytest

from ledgergate.proxy.sdk import EventValidationError, validate

AWS = "AKIAIOSFODNN7EXAMPLE"
ENF = "/r/enf/v1/chat/completions"
OBS = "/r/obs/v1/chat/completions"


def decide(req):
    if any(AWS in p["text"] for p in req["parts"]):
        return {"outcome": "block", "rule_id": "block-secrets"}
    return {"outcome": "allow"}


def chat(*messages, **kw):
    return json.dumps({"messages": list(messages) or [{"role": "user", "content": "hi"}], **kw}).encode()


U = {"role": "user", "content": "hi"}
TOOL_CALL = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": json.dumps({"key": AWS})}}]}
TOOLS = [{"type": "function", "function": {"name": "f", "description": f"uses {AWS}",
                                           "parameters": {"type": "object", "properties": {}}}}]

# (name, path, body bytes, extra headers, status, outcome, reason, reached upstream)
ROWS = [
    ("observe lone surrogate", OBS, b'{"messages":[{"role":"user","content":"\\ud800 ' + AWS.encode() + b'"}]}',
     {}, 400, "refused-invalid", "invalid_unicode", False),
    ("enforce tool_calls arguments", ENF, chat(U, TOOL_CALL), {}, 403, "refused-policy", "blocked_by_policy", False),
    ("enforce tools description", ENF, chat(tools=TOOLS), {}, 403, "refused-policy", "blocked_by_policy", False),
    ("enforce message name", ENF, chat({"role": "user", "content": "hi", "name": AWS}), {},
     403, "refused-policy", "blocked_by_policy", False),
    ("enforce user field", ENF, chat(user=AWS), {}, 403, "refused-policy", "blocked_by_policy", False),
    ("enforce input_text part", ENF, chat({"role": "user", "content": [{"type": "input_text", "text": AWS}]}),
     {}, 403, "refused-policy", "blocked_by_policy", False),
    ("enforce unknown field", ENF, chat(**{"x_vendor": {"k": [AWS]}}), {}, 403, "refused-policy",
     "blocked_by_policy", False),
    ("bad token 401", OBS, chat(), {"Authorization": "Bearer nobody"}, 401, "refused-auth", "invalid_token", False),
    ("role not allowed 403", OBS, chat(), {"Authorization": "Bearer intern"}, 403, "refused-forbidden",
     "role_not_allowed", False),
    ("tenant not allowed 403", "/r/acme/v1/chat/completions", chat(), {"Authorization": "Bearer other"}, 403,
     "refused-forbidden", "tenant_not_allowed", False),
    ("deep nesting", OBS, b'{"messages":' + b"[" * 10000 + b"]" * 10000 + b"}", {}, 400, "refused-invalid",
     "nesting_too_deep", False),
    ("no messages", ENF, b'{"model":"m-enf"}', {}, 400, "refused-invalid", "invalid_request", False),
    ("messages a string", ENF, b'{"messages":"hi"}', {}, 400, "refused-invalid", "invalid_request", False),
    ("messages [null]", ENF, b'{"messages":[null]}', {}, 400, "refused-invalid", "invalid_request", False),
    ("duplicate messages key", ENF, b'{"messages":[],"messages":[{"role":"user","content":"x"}]}', {}, 400,
     "refused-invalid", "duplicate_key", False),
    ("not JSON", OBS, b"{", {}, 400, "refused-invalid", "invalid_json", False),
    ("unknown route", "/r/nope/v1/chat/completions", chat(), {}, 404, "refused-invalid", "route_not_found", False),
    ("allowed enforce", ENF, chat(), {}, 200, "forwarded", None, True),
    ("allowed observe", OBS, chat(), {}, 200, "forwarded", None, True),
]


async def _send(client: httpx.AsyncClient, url: str, path: str, body: bytes, headers: dict[str, str]):
    h = {"Authorization": "Bearer analyst", "content-type": "application/json", **headers}
    return await client.post(url + path, content=body, headers=h)


async def test_every_row_of_the_issue_table(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path, hold_ms=3000)
    fake = fresh_fake.app
    sent: dict[str, tuple] = {}
    async with kit.running_proxy(s) as (url, app), kit.Responder(broker.bootstrap, s.topics, decide):
        for name, path, body, headers, status, outcome, reason, forwarded in ROWS:
            before = fake.count
            r = await _send(client, url, path, body, headers)
            assert r.status_code == status, (name, r.text)
            assert fake.count == before + (1 if forwarded else 0), name
            if status >= 400:
                err = r.json()["error"]
                assert set(err) >= {"message", "type", "param", "code"}, name
            sent[r.headers["x-request-id"]] = (name, status, outcome, reason)
        # a repeated Authorization header: 400, traced, with its request id
        raw = httpx.Request("POST", url + OBS, content=chat(),
                            headers=[("Authorization", "Bearer analyst"), ("Authorization", "Bearer intern"),
                                     ("content-type", "application/json")])
        r = await client.send(raw)
        assert r.status_code == 400 and r.json()["error"]["code"] == "duplicate_header"
        sent[r.headers["x-request-id"]] = ("duplicate authorization", 400, "refused-invalid", "duplicate_header")
    traces = await kit.read_topic(broker.bootstrap, s.topics.responses, "ResponseEvent", len(sent) + 1, timeout=10)
    by_id: dict[str, list] = {}
    for t in traces:
        by_id.setdefault(t["request_id"], []).append(t)
    assert set(by_id) == set(sent), "exactly the requests sent are traced"
    for rid, (name, status, outcome, reason) in sent.items():
        (t,) = by_id[rid]  # exactly one trace each
        assert (t["status"], t["outcome"], t["reason"]) == (status, outcome, reason), name
        if outcome == "refused-auth":
            assert t["principal"]["auth_method"] in ("none", "unverified-token", "unverified-jwt")
            assert "nobody" not in json.dumps(t)  # the presented token is never recorded


async def test_503_refusal_carries_request_id_and_trace(broker, topic_prefix, fresh_fake, tmp_path, kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path, hold_ms=300)
    async with kit.running_proxy(s) as (url, app):  # no worker: the hold times out
        r = await _send(client, url, ENF, chat(), {})
    assert r.status_code == 503 and r.headers["x-request-id"]
    traces = await kit.read_topic(broker.bootstrap, s.topics.responses, "ResponseEvent", 1)
    (t,) = [t for t in traces if t["request_id"] == r.headers["x-request-id"]]
    assert t["outcome"] == "refused-timeout" and t["forwarded"] == "none"


@pytest.mark.parametrize("caller, principal, status", [
    ("analyst", {"person": "ceo", "tenant": "acme", "roles": ["admin"], "auth_method": "jwt"}, 403),
    ("analyst", {"person": "alice", "tenant": "acme", "roles": ["admin"], "auth_method": "jwt"}, 403),
    ("analyst", None, 202),
    ("gateway", {"person": "ceo", "tenant": "acme", "roles": ["admin"], "auth_method": "jwt"}, 202),
    ("gateway", {"person": "ceo", "tenant": "globex", "roles": [], "auth_method": "jwt"}, 403),
])
async def test_ingest_on_behalf_needs_the_ingest_role(broker, topic_prefix, fresh_fake, tmp_path, kit, client,
                                                      caller, principal, status):
    kit.StubAuth.extra = {"gateway": kit.Principal("gw-1", "acme", ("ingest",), "api_key")}
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    ev = {"route_id": "ext", "mode": "observe", "parts": [{"path": "/p", "text": "hi"}]}
    if principal is not None:
        ev["principal"] = principal
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/v1/events", json=ev, headers=kit.H(caller))
    assert r.status_code == status, r.text
    if status == 202:
        rid = r.json()["request_ids"][0]
        got = await kit.read_topic(broker.bootstrap, s.topics.requests, "RequestEvent", 1)
        (e,) = [e for e in got if e["request_id"] == rid]
        submitter = e["submitted_by"]
        assert submitter["person"] == ("gw-1" if caller == "gateway" else "alice")
        assert e["principal"]["person"] == (principal or {"person": "alice"})["person"]
        assert e["metadata"]["ingested_by"].endswith(f"({submitter['auth_method']})")


async def test_out_of_range_long_is_400_with_path_in_api_and_sdk(broker, topic_prefix, fresh_fake, tmp_path,
                                                                kit, client):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    ev = {"route_id": "ext", "mode": "observe", "received_at_us": 2 ** 64}
    async with kit.running_proxy(s) as (url, app):
        r = await client.post(f"{url}/v1/events", json=ev, headers=kit.H())
    assert r.status_code == 400 and r.json()["error"]["param"] == "received_at_us"
    with pytest.raises(EventValidationError) as ei:
        validate("RequestEvent", dict(ev, request_id="r", source="ingest",
                                      principal={"person": "a", "tenant": "t", "auth_method": "x"}))
    assert ei.value.problems[0][0] == "received_at_us"
