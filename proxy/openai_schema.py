"""The OpenAI request schemas the proxy judges bodies against (chat, completions, embeddings).

Built from :mod:`ledgergate.proxy.reqschema` nodes. Only what the proxy must
understand is spelled out: the fields that carry text (so they are parts with
the right role), the fixed vocabularies (so their known words are not parts),
and the scalar types (so ``"n": "3"`` is a 400 here, not at the upstream).
Anything else is walked as free JSON and classified in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgergate.proxy.errors import BadRequest
from ledgergate.proxy.reqschema import (
    BOOL,
    FREE,
    INT,
    MESSAGE_ROLES,
    NUM,
    TEXT,
    Arr,
    Either,
    Lazy,
    MapOf,
    Node,
    Obj,
    Part,
    Prompt,
    Walk,
    Word,
)

_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")


def _json_schema() -> Node:
    return JSON_SCHEMA


_SUB = Lazy(_json_schema)
_TYPE = Either(string=Word(*_JSON_TYPES), array=Arr(Word(*_JSON_TYPES)))

#: a JSON Schema (tool parameters, response formats): keywords are structure,
#: property names, descriptions, enums, defaults and patterns are parts
JSON_SCHEMA: Node = Either(boolean=BOOL, object=Obj({
    "type": _TYPE, "properties": MapOf(_SUB), "patternProperties": MapOf(_SUB),
    "items": Either(object=_SUB, boolean=BOOL, array=Arr(_SUB)), "prefixItems": Arr(_SUB),
    "additionalProperties": _SUB, "required": Arr(TEXT),
    "anyOf": Arr(_SUB), "oneOf": Arr(_SUB), "allOf": Arr(_SUB), "not": _SUB,
    "$defs": MapOf(_SUB), "definitions": MapOf(_SUB), "$ref": TEXT, "$schema": TEXT, "$id": TEXT,
    "title": TEXT, "description": TEXT, "enum": FREE, "const": FREE, "default": FREE, "examples": FREE,
    "format": TEXT, "pattern": TEXT,
    "minimum": NUM, "maximum": NUM, "exclusiveMinimum": NUM, "exclusiveMaximum": NUM, "multipleOf": NUM,
    "minLength": INT, "maxLength": INT, "minItems": INT, "maxItems": INT, "uniqueItems": BOOL,
    "minProperties": INT, "maxProperties": INT,
}))

_FUNCTION_DEF = Obj({"name": TEXT, "description": TEXT, "parameters": JSON_SCHEMA, "strict": BOOL},
                    required=("name",))
_TOOL = Obj({"type": Word("function", "custom"), "function": _FUNCTION_DEF})
_TOOL_CALL = Obj({"id": TEXT, "type": Word("function", "custom"),
                  "function": Obj({"name": TEXT, "arguments": TEXT})})
_CONTENT_PART = Obj({
    "type": Word("text", "image_url", "input_audio", "file", "refusal", "input_text", "input_image",
                 "input_file", "output_text"),
    "text": TEXT, "refusal": TEXT,
    "image_url": Either(string=TEXT, object=Obj({"url": TEXT, "detail": Word("auto", "low", "high")})),
    "input_audio": Obj({"data": TEXT, "format": Word("wav", "mp3")}),
    "file": Obj({"file_data": TEXT, "file_id": TEXT, "filename": TEXT}),
}, required=("type",))
_CONTENT = Either(string=TEXT, array=Arr(_CONTENT_PART))
_MESSAGE = Obj({
    "role": Word(*MESSAGE_ROLES, strict=True), "content": _CONTENT, "name": TEXT,
    "tool_calls": Arr(_TOOL_CALL), "tool_call_id": TEXT,
    "function_call": Obj({"name": TEXT, "arguments": TEXT}), "refusal": TEXT,
    "audio": Obj({"id": TEXT}),
}, required=("role",), role_field="role")

_STOP = Either(string=TEXT, array=Arr(TEXT))
_COMMON: dict[str, Node] = {
    "model": TEXT, "user": TEXT, "stream": BOOL, "n": INT, "seed": INT, "max_tokens": INT,
    "temperature": NUM, "top_p": NUM, "presence_penalty": NUM, "frequency_penalty": NUM,
    "stop": _STOP, "logit_bias": MapOf(NUM), "stream_options": Obj({"include_usage": BOOL}),
    "metadata": MapOf(TEXT),
}
_CHAT = Obj({
    **_COMMON, "messages": Arr(_MESSAGE, min_items=1),
    "max_completion_tokens": INT, "logprobs": BOOL, "top_logprobs": INT, "parallel_tool_calls": BOOL,
    "store": BOOL, "tools": Arr(_TOOL), "functions": Arr(_FUNCTION_DEF),
    "tool_choice": Either(string=Word("none", "auto", "required"),
                          object=Obj({"type": Word("function"), "function": Obj({"name": TEXT})})),
    "function_call": Either(string=Word("none", "auto"), object=Obj({"name": TEXT})),
    "response_format": Obj({
        "type": Word("text", "json_object", "json_schema"),
        "json_schema": Obj({"name": TEXT, "description": TEXT, "schema": JSON_SCHEMA, "strict": BOOL}),
    }),
    "modalities": Arr(Word("text", "audio")), "audio": Obj({"voice": TEXT, "format": TEXT}),
    "reasoning_effort": Word("minimal", "low", "medium", "high"),
    "service_tier": Word("auto", "default", "flex", "priority"),
    "prediction": Obj({"type": Word("content"), "content": _CONTENT}),
}, required=("messages",))
_COMPLETIONS = Obj({**_COMMON, "prompt": Prompt(), "suffix": TEXT, "echo": BOOL, "best_of": INT,
                    "logprobs": INT}, required=("prompt",))
_EMBEDDINGS = Obj({"model": TEXT, "user": TEXT, "input": Prompt(), "dimensions": INT,
                   "encoding_format": Word("float", "base64")}, required=("input",))

SCHEMAS: dict[str, Node] = {"chat.completions": _CHAT, "completions": _COMPLETIONS, "embeddings": _EMBEDDINGS}


def judge(endpoint: str, body: Any) -> list[Part]:
    """Validate ``body`` as a request of ``endpoint``; return every text the upstream reads, in body order.

    BadRequest (400, ``param`` = the JSON pointer) when the body is not a valid request.
    """
    node = SCHEMAS.get(endpoint)
    if node is None:
        raise BadRequest(f"endpoint {endpoint!r} takes no request body to judge")
    if not isinstance(body, dict):
        raise BadRequest(f"the request body is a JSON {type(body).__name__}: expected an object",
                         code="invalid_request")
    w = Walk()
    node.walk(w, body, "", 0)
    return w.parts


def judge_lenient(endpoint: str, body: Mapping[str, Any]) -> list[Part]:
    """:func:`judge` for an already-accepted body (never raises): its parts, or every string in it."""
    try:
        return judge(endpoint, body)
    except BadRequest:
        w = Walk()
        FREE.walk(w, body, "", 0)
        return w.parts
