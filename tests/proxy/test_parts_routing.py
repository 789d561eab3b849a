"""Pure units: prompt parts, redaction by JSON pointer, pseudonym restoration, routing."""

from __future__ import annotations

import json

import pytest

from ledgergate.config import RouteConfig
from ledgergate.proxy.errors import Forbidden, NotFound
from ledgergate.proxy.parts import (
    PartsError,
    Restorer,
    SSERestorer,
    apply_redactions,
    extract_parts,
    pseudonym_map,
    restore_json_answer,
)
from ledgergate.proxy.routing import Router
from ledgergate.proxy.sdk import EventValidationError, validate


def test_extract_parts_all_shapes():
    body = {"messages": [{"role": "system", "content": "s"},
                         {"role": "user", "content": [{"type": "text", "text": "a"},
                                                      {"type": "image_url", "image_url": {"url": "x"}},
                                                      {"type": "text", "text": "b"}]}]}
    assert extract_parts("chat.completions", body) == [
        {"path": "/messages/0/content", "role": "system", "text": "s"},
        {"path": "/messages/1/content/0/text", "role": "user", "text": "a"},
        {"path": "/messages/1/content/1/image_url/url", "role": "user", "text": "x"},
        {"path": "/messages/1/content/2/text", "role": "user", "text": "b"}]
    assert extract_parts("completions", {"prompt": ["p", "q"]})[1] == {"path": "/prompt/1", "role": None, "text": "q"}
    assert extract_parts("embeddings", {"input": "e"}) == [{"path": "/input", "role": None, "text": "e"}]


def test_apply_redactions_by_pointer_and_bad_path():
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Jane"}]}]}
    out = apply_redactions(body, [{"path": "/messages/0/content/0/text", "role": "user", "text": "<P1>"}])
    assert out["messages"][0]["content"][0]["text"] == "<P1>" and body["messages"][0]["content"][0]["text"] == "Jane"
    with pytest.raises(PartsError, match="no index"):
        apply_redactions(body, [{"path": "/messages/3/content", "text": "x"}])


MAP = {"<PERSON_1>": "Jane Roe", "<EMAIL_1>": "j@x.io"}


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 100])
def test_restorer_tokens_split_across_chunks(size):
    text = "Dear <PERSON_1>, mail <EMAIL_1> or <PERSON_1>. <PERS is not a token <"
    r = Restorer(MAP)
    pieces = [r.feed(text[i:i + size]) for i in range(0, len(text), size)]
    assert "".join(pieces) + r.flush() == "Dear Jane Roe, mail j@x.io or Jane Roe. <PERS is not a token <"


def test_restorer_holds_only_a_possible_prefix():
    r = Restorer(MAP)
    assert r.feed("hello <PER") == "hello "
    assert r.feed("SON_1> and x") == "Jane Roe and x"  # nothing but the prefix was held


def test_pseudonym_map_skips_ambiguous_tokens():
    parts = [{"path": "/p", "role": None, "text": "Jane and Bob"}]
    f = [{"part": 0, "start": 0, "end": 4, "replacement": "<P1>"},
         {"part": 0, "start": 0, "end": 4, "replacement": "<PERSON>"},
         {"part": 0, "start": 9, "end": 12, "replacement": "<PERSON>"}]
    assert pseudonym_map(parts, f) == {"<P1>": "Jane"}


def test_sse_restorer_across_event_and_chunk_boundaries():
    def ev(content, finish=None):
        return ("data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"content": content}, "finish_reason": finish}]}) + "\n\n").encode()
    stream = ev("Hi <PER") + ev("SON_") + ev("1>!") + ev("", "stop") + b"data: [DONE]\n\n"
    for size in (1, 9, 50, len(stream)):
        sse = SSERestorer(MAP)
        out = b"".join(sse.feed(stream[i:i + size]) for i in range(0, len(stream), size)) + sse.flush()
        text = "".join(json.loads(ln[6:])["choices"][0]["delta"].get("content", "")
                       for ln in out.decode().split("\n") if ln.startswith("data: {"))
        assert text == "Hi Jane Roe!" and out.endswith(b"data: [DONE]\n\n")
    sse = SSERestorer(MAP)
    out = sse.feed(ev("bye <PERSON_")) + sse.feed(b"data: [DONE]\n\n")  # no finish chunk: flushed before DONE
    assert b"<PERSON_" in out and out.endswith(b"data: [DONE]\n\n")


def test_restore_json_answer():
    a = {"choices": [{"message": {"content": "to <PERSON_1>"}}, {"text": "<EMAIL_1>"}]}
    assert restore_json_answer(a, MAP)["choices"][0]["message"]["content"] == "to Jane Roe"
    assert a["choices"][1]["text"] == "j@x.io"


class P:
    def __init__(self, roles, tenant="acme"):
        self.person, self.tenant, self.roles = "p", tenant, tuple(roles)


def test_router():
    routes = [RouteConfig(id="a", path_prefix="/r/a", models=("m1",), upstream="u", policy="p", allowed_roles=("x",)),
              RouteConfig(id="b", models=("m2",), upstream="u", policy="p", allowed_roles=("y",),
                          allowed_tenants=("acme",))]
    r = Router(routes)
    t = r.target("/r/a/v1/chat/completions")
    assert t.endpoint == "chat.completions" and t.route.id == "a"
    assert r.resolve(r.target("/v1/embeddings"), "m2").id == "b"
    with pytest.raises(NotFound):
        r.target("/r/zzz/v1/completions")
    with pytest.raises(NotFound):
        r.resolve(r.target("/v1/completions"), "nope")
    with pytest.raises(NotFound):
        r.target("/v2/other")
    with pytest.raises(Forbidden):
        r.authorize(routes[1], P(["y"], tenant="globex"))
    r.authorize(routes[1], P(["y"]))
    assert [m["id"] for m in r.models_for(P(["x", "y"]))["data"]] == ["m1", "m2"]
    assert [m["id"] for m in r.models_for(P(["x"]))["data"]] == ["m1"]


def test_event_validation_paths():
    with pytest.raises(EventValidationError) as e:
        validate("RequestEvent", {"request_id": 1, "received_at_us": 1, "source": "s", "route_id": "r",
                                  "mode": "observe", "principal": {"person": "p", "tenant": "t", "auth_method": 3},
                                  "parts": [{"path": "/a", "text": None}]})
    assert {p for p, _ in e.value.problems} == {"request_id", "principal.auth_method", "parts[0].text"}
