"""Judge a request body against its endpoint's schema and collect every text the upstream will read.

One walk over the parsed body does two things:

* **validation** — a body that is not a valid request for its endpoint (no
  ``messages``, ``messages`` a string, ``[null]``, ``temperature: "hot"``, …) is a
  :class:`~ledgergate.proxy.errors.BadRequest` naming the JSON pointer of the bad
  value, before anything is forwarded or published;
* **parts** — every string that reaches the upstream becomes a prompt part with
  its RFC 6901 pointer, so the classifier judges all of it.

The default is to classify: a string is left out only where the schema says it
is a fixed vocabulary word (a message ``role``, a content part's ``type``, a JSON
Schema ``type``) *and* it is one of the known words. Fields the schema does not
name — a new OpenAI parameter, a vendor extension, an attacker's invention —
are walked as free JSON: their keys and every string inside are parts. Object
keys that are data (``metadata`` keys, JSON Schema property names, unknown
fields) are parts with role :data:`KEY_ROLE`; token-id prompts are one part each
with role :data:`TOKEN_IDS_ROLE` whose text is the canonical JSON of the ids.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledgergate.proxy.errors import BadRequest
from ledgergate.proxy.jsonbody import MAX_DEPTH

Part = dict[str, Any]

#: role of a part that is an object key (redaction renames the key)
KEY_ROLE = "json-key"
#: role of a part that is a list of token ids (recorded; it cannot be redacted)
TOKEN_IDS_ROLE = "token-ids"

MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_INT64 = (-(2 ** 63), 2 ** 63 - 1)
_TOKEN_MAX = 2 ** 32


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


class Walk:
    """State of one walk: the parts found so far and the role of the message being walked."""

    __slots__ = ("parts", "role")

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.role: str | None = None

    def text(self, path: str, s: str, role: str | None = None) -> None:
        self.parts.append({"path": path, "role": role if role is not None else self.role, "text": s})

    @staticmethod
    def bad(path: str, message: str) -> BadRequest:
        return BadRequest(f"{message} at {path or '/'}", param=path or None)


class Node:
    """A schema node: checks one value and collects its parts."""

    __slots__ = ()

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        raise NotImplementedError


class Free(Node):
    """Any JSON: every key and every string is a part."""

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise w.bad(path, f"nesting deeper than {MAX_DEPTH} levels")
        if isinstance(v, str):
            w.text(path, v)
        elif isinstance(v, dict):
            for k, item in v.items():
                p = f"{path}/{_esc(k)}"
                w.text(p, k, KEY_ROLE)
                self.walk(w, item, p, depth + 1)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                self.walk(w, item, f"{path}/{i}", depth + 1)


FREE = Free()


class Text(Node):
    """A string the upstream reads: always a part."""

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if not isinstance(v, str):
            raise w.bad(path, f"expected a string, got a JSON {_kind(v)}")
        w.text(path, v)


class Word(Node):
    """A vocabulary word (role, type, ...): a known word is not a part; another one is
    a 400 when ``strict``, else a part (new vocabulary still gets judged)."""

    __slots__ = ("words", "strict")

    def __init__(self, *words: str, strict: bool = False) -> None:
        self.words = frozenset(words)
        self.strict = strict

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if not isinstance(v, str):
            raise w.bad(path, f"expected one of {sorted(self.words)}, got a JSON {_kind(v)}")
        if v in self.words:
            return
        if self.strict:
            raise w.bad(path, f"expected one of {sorted(self.words)}, got {json.dumps(v[:40])}")
        w.text(path, v)


class Scalar(Node):
    """A number, integer or boolean (never a part)."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        k = self.kind
        if k == "boolean":
            ok = isinstance(v, bool)
        elif k == "integer":
            ok = isinstance(v, int) and not isinstance(v, bool)
            if ok and not _INT64[0] <= v <= _INT64[1]:
                raise w.bad(path, "integer out of the 64-bit range")
        else:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            raise w.bad(path, f"expected a {k}, got a JSON {_kind(v)}")


NUM, INT, BOOL, TEXT = Scalar("number"), Scalar("integer"), Scalar("boolean"), Text()


class Arr(Node):
    __slots__ = ("item", "min_items")

    def __init__(self, item: Node, min_items: int = 0) -> None:
        self.item = item
        self.min_items = min_items

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if not isinstance(v, list):
            raise w.bad(path, f"expected an array, got a JSON {_kind(v)}")
        if len(v) < self.min_items:
            raise w.bad(path, f"expected at least {self.min_items} item(s), got an empty array")
        if depth >= MAX_DEPTH:
            raise w.bad(path, f"nesting deeper than {MAX_DEPTH} levels")
        for i, item in enumerate(v):
            self.item.walk(w, item, f"{path}/{i}", depth + 1)


class Either(Node):
    """Dispatch by the value's JSON type (``"string"``, ``"array"``, ``"object"``, ...)."""

    __slots__ = ("by_kind",)

    def __init__(self, **by_kind: Node) -> None:
        self.by_kind = by_kind

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        node = self.by_kind.get(_kind(v))
        if node is None:
            raise w.bad(path, f"expected a {' or '.join(self.by_kind)}, got a JSON {_kind(v)}")
        node.walk(w, v, path, depth)


class MapOf(Node):
    """An object whose keys are data (parts) and whose values follow ``value``."""

    __slots__ = ("value",)

    def __init__(self, value: Node) -> None:
        self.value = value

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if not isinstance(v, dict):
            raise w.bad(path, f"expected an object, got a JSON {_kind(v)}")
        if depth >= MAX_DEPTH:
            raise w.bad(path, f"nesting deeper than {MAX_DEPTH} levels")
        for k, item in v.items():
            p = f"{path}/{_esc(k)}"
            w.text(p, k, KEY_ROLE)
            self.value.walk(w, item, p, depth + 1)


class Obj(Node):
    """An object with named fields. A field may be null unless required; fields the
    schema does not name are walked as :data:`FREE` (their key is a part too)."""

    __slots__ = ("fields", "required", "role_field")

    def __init__(self, fields: Mapping[str, Node], required: Iterable[str] = (),
                 role_field: str | None = None) -> None:
        self.fields = dict(fields)
        self.required = tuple(required)
        self.role_field = role_field

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if not isinstance(v, dict):
            raise w.bad(path, f"expected an object, got a JSON {_kind(v)}")
        if depth >= MAX_DEPTH:
            raise w.bad(path, f"nesting deeper than {MAX_DEPTH} levels")
        for name in self.required:
            if v.get(name) is None:
                raise w.bad(f"{path}/{name}", f"missing required field {name!r}")
        outer = w.role
        if self.role_field is not None:
            r = v.get(self.role_field)
            w.role = r if isinstance(r, str) and r in MESSAGE_ROLES else None
        try:
            for k, item in v.items():
                p = f"{path}/{_esc(k)}"
                node = self.fields.get(k)
                if node is None:
                    w.text(p, k, KEY_ROLE)
                    FREE.walk(w, item, p, depth + 1)
                elif item is not None:
                    node.walk(w, item, p, depth + 1)
        finally:
            w.role = outer


class Lazy(Node):
    """A node defined later (recursive schemas)."""

    __slots__ = ("get",)

    def __init__(self, get: Callable[[], Node]) -> None:
        self.get = get

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        self.get().walk(w, v, path, depth)


class TokenIds(Node):
    """A list of token ids: one part (role ``token-ids``, text = the ids' JSON)."""

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        for i, t in enumerate(v):
            if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < _TOKEN_MAX:
                raise w.bad(f"{path}/{i}", "expected a token id (an integer from 0 to 2^32-1)")
        w.text(path, json.dumps(v, separators=(",", ":")), TOKEN_IDS_ROLE)


class Prompt(Node):
    """``prompt``/``input``: a string, a list of strings, token ids, or lists of token ids."""

    def walk(self, w: Walk, v: Any, path: str, depth: int) -> None:
        if isinstance(v, str):
            w.text(path, v)
            return
        if not isinstance(v, list) or not v:
            raise w.bad(path, f"expected a string, an array of strings or of token ids, got "
                              f"{'an empty array' if isinstance(v, list) else 'a JSON ' + _kind(v)}")
        first = _kind(v[0])
        if first == "number":
            TOKEN_IDS.walk(w, v, path, depth)
            return
        for i, item in enumerate(v):
            p = f"{path}/{i}"
            if first == "string" and isinstance(item, str):
                w.text(p, item)
            elif first == "array" and isinstance(item, list) and item:
                TOKEN_IDS.walk(w, item, p, depth + 1)
            else:
                raise w.bad(p, "expected every item to be a string, or every item a non-empty array "
                               f"of token ids, got a JSON {_kind(item)}")


TOKEN_IDS = TokenIds()
