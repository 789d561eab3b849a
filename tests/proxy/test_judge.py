"""Strict JSON and the request-schema walk: what is refused, and that every forwarded string is a part."""

from __future__ import annotations

import json

import pytest

from ledgergate.proxy.errors import BadRequest
from ledgergate.proxy.jsonbody import canonical, parse
from ledgergate.proxy.openai_schema import judge
from ledgergate.proxy.parts import PartsError, apply_redactions
from ledgergate.proxy.reqschema import KEY_ROLE, TOKEN_IDS_ROLE

AWS = "AKIAIOSFODNN7EXAMPLE"
U = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("raw, code", [
    (b'{"messages": [], "messages": [{"role":"user","content":"x"}]}', "duplicate_key"),
    (b'{"model":"m","messages":[{"role":"user","content":"\\ud800 AKIA"}]}', "invalid_unicode"),
    (b'{"model":"m","messages":[{"role":"user","content":"ok","\\udfff":1}]}', "invalid_unicode"),
    (b"[" * 10000 + b"]" * 10000, "nesting_too_deep"),
    (b'{"a":' * 70 + b"1" + b"}" * 70, "nesting_too_deep"),
    (b'{"temperature": NaN}', "invalid_json"),
    (b'{"temperature": 1e999}', "invalid_json"),
    (b'{"a": "\xff"}', "invalid_encoding"),
    (b"\xef\xbb\xbf{}", "invalid_encoding"),
    (b'{"a": 1', "invalid_json"),
])
def test_parse_refuses_what_parsers_read_differently(raw, code):
    with pytest.raises(BadRequest) as ei:
        parse(raw)
    assert ei.value.status == 400 and ei.value.code == code


def test_paired_surrogates_and_canonical_bytes():
    doc = parse(b'{ "b" : "\\ud83d\\ude00 \\u00e9", "a" : [1, 2.5, true, null] }')
    assert canonical(doc) == '{"b":"😀 é","a":[1,2.5,true,null]}'.encode()


@pytest.mark.parametrize("endpoint, body, param", [
    ("chat.completions", {"model": "m"}, "/messages"),
    ("chat.completions", {"messages": "hi"}, "/messages"),
    ("chat.completions", {"messages": [None]}, "/messages/0"),
    ("chat.completions", {"messages": []}, "/messages"),
    ("chat.completions", {"messages": [{"content": "x"}]}, "/messages/0/role"),
    ("chat.completions", {"messages": [{"role": "boss", "content": "x"}]}, "/messages/0/role"),
    ("chat.completions", {"messages": [{"role": "user", "content": 5}]}, "/messages/0/content"),
    ("chat.completions", {"messages": [{"role": "user", "content": [None]}]}, "/messages/0/content/0"),
    ("chat.completions", {"messages": [{"role": "user", "content": [{"text": "x"}]}]},
     "/messages/0/content/0/type"),
    ("chat.completions", {"messages": U, "temperature": "hot"}, "/temperature"),
    ("chat.completions", {"messages": U, "n": True}, "/n"),
    ("chat.completions", {"messages": U, "max_tokens": 2 ** 64}, "/max_tokens"),
    ("chat.completions", {"messages": U, "stream": "yes"}, "/stream"),
    ("chat.completions", {"messages": U, "tools": {"type": "function"}}, "/tools"),
    ("chat.completions", {"messages": U, "metadata": {"k": 1}}, "/metadata/k"),
    ("completions", {"model": "m"}, "/prompt"),
    ("completions", {"prompt": 3}, "/prompt"),
    ("completions", {"prompt": ["a", 1]}, "/prompt/1"),
    ("completions", {"prompt": [1, -2]}, "/prompt/1"),
    ("embeddings", {"input": []}, "/input"),
    ("embeddings", {"input": [[1], "a"]}, "/input/1"),
    ("embeddings", ["input"], None),
])
def test_invalid_requests_are_400_with_the_pointer(endpoint, body, param):
    with pytest.raises(BadRequest) as ei:
        judge(endpoint, body)
    assert ei.value.status == 400 and ei.value.param == param


def _strings(v, path=""):
    """Every string in a document with its pointer, keys included (the reference for 'all of it')."""
    if isinstance(v, str):
        yield path, v
    elif isinstance(v, dict):
        for k, item in v.items():
            p = path + "/" + k.replace("~", "~0").replace("/", "~1")
            yield p, k
            yield from _strings(item, p)
    elif isinstance(v, list):
        for i, item in enumerate(v):
            yield from _strings(item, f"{path}/{i}")


HOSTILE_CHAT = {
    "model": "m", "user": f"u {AWS}",
    "messages": [
        {"role": "system", "content": "be nice", "name": f"n{AWS}"},
        {"role": "user", "content": [{"type": "input_text", "text": AWS},
                                     {"type": f"x{AWS}", "data": AWS},
                                     {"type": "image_url", "image_url": {"url": f"https://x/{AWS}"}}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function",
                         "function": {"name": "f", "arguments": json.dumps({"k": AWS})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": AWS, f"extra{AWS}": {"deep": [AWS]}},
    ],
    "tools": [{"type": "function", "function": {
        "name": "f", "description": f"desc {AWS}",
        "parameters": {"type": "object", "properties": {f"p{AWS}": {"type": "string", "enum": [AWS],
                                                                    "description": AWS}},
                       "required": [f"p{AWS}"], "x-vendor": AWS}}}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": {
        "type": "object", "properties": {"a": {"type": "string", "default": AWS}}}}},
    "metadata": {f"k{AWS}": AWS}, f"vendor_{AWS}": [{"x": AWS}], "stop": [AWS],
}


def test_every_string_holding_the_secret_is_a_part():
    parts = judge("chat.completions", HOSTILE_CHAT)
    got = {(p["path"], p["text"]) for p in parts}
    wanted = {(p, s) for p, s in _strings(HOSTILE_CHAT) if AWS in s}
    assert len(wanted) >= 20 and wanted <= got
    # the vocabulary words are not parts, and the message role travels with its parts
    assert ("/messages/0/role", "system") not in got
    byp = {p["path"]: p for p in parts}
    assert byp["/messages/1/content/0/text"]["role"] == "user"
    assert byp[f"/messages/3/extra{AWS}"]["role"] == KEY_ROLE


def test_completions_and_embeddings_token_ids_are_recorded():
    parts = judge("completions", {"model": "m", "prompt": [[1, 2], [3]], "suffix": AWS})
    assert parts[1:] == [{"path": "/prompt/0", "role": TOKEN_IDS_ROLE, "text": "[1,2]"},
                         {"path": "/prompt/1", "role": TOKEN_IDS_ROLE, "text": "[3]"},
                         {"path": "/suffix", "role": None, "text": AWS}]
    assert judge("embeddings", {"input": [5, 6]}) == [{"path": "/input", "role": TOKEN_IDS_ROLE, "text": "[5,6]"}]
    with pytest.raises(PartsError, match="token ids"):
        apply_redactions({"prompt": [1]}, [{"path": "/prompt", "role": TOKEN_IDS_ROLE, "text": "x"}])


def test_redacting_a_key_renames_it_in_place():
    body = {"metadata": {"a": "1", AWS: "2", "z": "3"}}
    out = apply_redactions(body, [{"path": f"/metadata/{AWS}", "role": KEY_ROLE, "text": "<SECRET>"}])
    assert list(out["metadata"].items()) == [("a", "1"), ("<SECRET>", "2"), ("z", "3")]
