"""Strict JSON for request bodies: parse once, refuse what two parsers could read differently.

The proxy judges one reading of the body and forwards the canonical bytes of that
same reading (:func:`canonical`), so whatever the upstream parses is exactly what
was classified. A body that different JSON parsers could read differently is
refused rather than guessed at:

* duplicate object keys (first-wins and last-wins parsers disagree),
* bytes that are not UTF-8, and ``\\uD800``-style escapes of lone surrogates
  (no Unicode text has them; encoders, Avro included, reject them),
* ``NaN``, ``Infinity`` and numbers that overflow a double (not JSON),
* nesting deeper than :data:`MAX_DEPTH`.

Pure functions; every refusal is a :class:`~ledgergate.proxy.errors.BadRequest`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ledgergate.proxy.errors import BadRequest

#: deepest nesting of arrays/objects accepted (OpenAI bodies use well under 20)
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"the request body contains {name}, which is not JSON: send numbers as finite values",
                     code="invalid_json")


def _finite_float(text: str) -> float:
    v = float(text)
    if math.isinf(v):
        raise BadRequest(f"the number {text[:40]} is out of range for a double: send a finite number",
                         code="invalid_json")
    return v


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise BadRequest(f"duplicate key {_shown(k)} in a JSON object: send each key once "
                             "(parsers disagree on which copy counts)", code="duplicate_key")
        out[k] = v
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_reject_constant,
                            parse_float=_finite_float)


def _shown(s: str) -> str:
    s = _SURROGATE.sub("\ufffd", s)
    return json.dumps(s[:60] + ("…" if len(s) > 60 else ""), ensure_ascii=False)


def parse(raw: bytes) -> Any:
    """The one reading of ``raw``; BadRequest (400) naming the problem otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not UTF-8 (bad byte at offset {exc.start}): "
                         "send JSON encoded as UTF-8", code="invalid_encoding") from None
    if text.startswith("\ufeff"):
        raise BadRequest("the request body starts with a byte-order mark: send plain UTF-8 JSON",
                         code="invalid_encoding")
    try:
        doc = _DECODER.decode(text)
    except BadRequest:
        raise
    except RecursionError:  # the C scanner's own guard; shallower bodies are checked by depth()
        raise BadRequest(f"the request body nests arrays/objects deeper than {MAX_DEPTH} levels",
                         code="nesting_too_deep") from None
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc}): send an OpenAI request object",
                         code="invalid_json") from None
    # lone surrogates only come from \uD800-style escapes (UTF-8 cannot carry them), and
    # deep nesting needs many brackets: most bodies skip the walk
    if _SURROGATE_ESCAPE.search(text) or text.count("[") + text.count("{") > MAX_DEPTH:
        check_strings(doc, "")
    return doc


def check_strings(doc: Any, path: str) -> None:
    """BadRequest at the first string or key with a lone surrogate, or nesting past MAX_DEPTH."""
    stack: list[tuple[Any, str, int]] = [(doc, path, 0)]
    while stack:
        v, p, d = stack.pop()
        if d > MAX_DEPTH:
            raise BadRequest(f"the request body nests arrays/objects deeper than {MAX_DEPTH} levels",
                             code="nesting_too_deep", param=p)
        if isinstance(v, str):
            if _SURROGATE.search(v):
                raise BadRequest(f"the string at {p or '/'} holds an unpaired UTF-16 surrogate "
                                 "(e.g. \\ud800 alone): send valid Unicode text",
                                 code="invalid_unicode", param=p or None)
        elif isinstance(v, dict):
            for k, item in v.items():
                kp = f"{p}/{_esc(k)}"
                if _SURROGATE.search(k):
                    raise BadRequest(f"an object key at {p or '/'} holds an unpaired UTF-16 surrogate: "
                                     "send valid Unicode text", code="invalid_unicode", param=p or None)
                stack.append((item, kp, d + 1))
        elif isinstance(v, list):
            stack.extend((item, f"{p}/{i}", d + 1) for i, item in enumerate(v))


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def canonical(doc: Any) -> bytes:
    """The bytes forwarded for ``doc``: compact JSON, UTF-8, keys in the order they were read."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
