"""Prompt parts: extraction, redaction and pseudonym restoration (pure: no I/O).

A *part* is one text the caller sent, located by an RFC 6901 JSON pointer into
the request body: ``{"path": "/messages/1/content", "role": "user", "text": "..."}``
(the Avro ``PromptPart`` record, as a dict so it encodes without conversion).

Pseudonym restoration: a redact decision's findings say which span of which part
was replaced by which token. The tokens that stand for exactly one original value
are mapped back in the answer, so the caller reads the names it wrote while the
upstream only ever saw the tokens. A token that stands for several different
values (e.g. a plain type tag ``<PERSON>``) is left as it is. Tokens are assumed
prefix-free (no token is a prefix of another), which delimited tokens are.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledgergate.errors import LedgergateError
from ledgergate.proxy.openai_schema import judge_lenient
from ledgergate.proxy.reqschema import KEY_ROLE, TOKEN_IDS_ROLE

Part = dict[str, Any]


class PartsError(LedgergateError, ValueError):
    """A decision's redacted part does not fit the request body."""


def _esc(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _unesc(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def extract_parts(endpoint: str, body: Mapping[str, Any]) -> list[Part]:
    """Every text of a chat, completions or embeddings request body that the upstream reads, in body order.

    See :mod:`ledgergate.proxy.openai_schema`; a body that does not fit its schema
    (only possible for bodies the proxy did not judge itself) yields every string in it.
    """
    return judge_lenient(endpoint, body)


def pointer_set(doc: Any, path: str, value: Any, *, rename_key: bool = False) -> None:
    """Replace the value at JSON pointer ``path`` in ``doc`` (in place); it must exist.

    With ``rename_key`` the member's key is replaced by ``value`` instead (its value
    kept, the object's key order kept): that is how a redacted key part is applied.
    """
    if not path.startswith("/"):
        raise PartsError(f"JSON pointer {path!r} does not start with '/': expected e.g. /messages/0/content")
    tokens = [_unesc(t) for t in path[1:].split("/")]
    cur = doc
    for depth, tok in enumerate(tokens):
        last = depth == len(tokens) - 1
        if isinstance(cur, list):
            if not tok.isdigit() or int(tok) >= len(cur):
                raise PartsError(f"JSON pointer {path!r}: no index {tok!r} in a list of {len(cur)}")
            if last:
                cur[int(tok)] = value
                return
            cur = cur[int(tok)]
        elif isinstance(cur, dict):
            if tok not in cur:
                raise PartsError(f"JSON pointer {path!r}: no key {tok!r}; the request has {sorted(cur)}")
            if last and rename_key:
                _rename(cur, tok, value)
                return
            if last:
                cur[tok] = value
                return
            cur = cur[tok]
        else:
            raise PartsError(f"JSON pointer {path!r}: {tok!r} goes into a {type(cur).__name__}")


def apply_redactions(body: Mapping[str, Any], redacted_parts: Iterable[Part]) -> dict[str, Any]:
    """A copy of ``body`` with each redacted part's text written at its path."""
    out = copy.deepcopy(dict(body))
    for p in redacted_parts:
        role = p.get("role")
        if role == TOKEN_IDS_ROLE:
            raise PartsError(f"the token ids at {p['path']} cannot be redacted (they are not text)")
        pointer_set(out, p["path"], p["text"], rename_key=role == KEY_ROLE)
    return out


def _rename(obj: dict[str, Any], old: str, new: Any) -> None:
    if not isinstance(new, str):
        raise PartsError(f"a key can only be renamed to a string, got {type(new).__name__}")
    if new != old and new in obj:
        raise PartsError(f"renaming key {old!r} to {new!r} would overwrite another key")
    items = [(new if k == old else k, v) for k, v in obj.items()]
    obj.clear()
    obj.update(items)


def pseudonym_map(parts: Sequence[Part], findings: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """token → original value, for tokens that stand for exactly one value."""
    seen: dict[str, set[str]] = {}
    for f in findings:
        token = f.get("replacement")
        idx = f.get("part")
        if not token or not isinstance(idx, int) or not 0 <= idx < len(parts):
            continue
        original = parts[idx]["text"][f["start"]:f["end"]]
        if original and original != token:
            seen.setdefault(token, set()).add(original)
    return {t: next(iter(v)) for t, v in seen.items() if len(v) == 1}


class Restorer:
    """Replaces tokens by their originals in a text that arrives in pieces.

    ``feed`` returns what can be emitted now; it holds back only a tail that
    could be the start of a token, so a token split across chunks is restored
    and nothing else is delayed. ``flush`` returns the held tail at the end.
    """

    __slots__ = ("_map", "_re", "_prefixes", "_maxlen", "_buf")

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._map = dict(mapping)
        self._re = re.compile("|".join(re.escape(t) for t in sorted(self._map, key=len, reverse=True))) \
            if self._map else None
        self._prefixes = {t[:k] for t in self._map for k in range(1, len(t))}
        self._maxlen = max((len(t) for t in self._map), default=0)
        self._buf = ""

    def restore(self, text: str) -> str:
        """Restore every token in a complete text."""
        if self._re is None:
            return text
        return self._re.sub(lambda m: self._map[m.group(0)], text)

    def feed(self, text: str) -> str:
        if self._re is None:
            return text
        buf = self._buf + text
        out = []
        pos = 0
        for m in self._re.finditer(buf):
            out.append(buf[pos:m.start()])
            out.append(self._map[m.group(0)])
            pos = m.end()
        rest = buf[pos:]
        hold = 0
        for k in range(min(len(rest), self._maxlen - 1), 0, -1):
            if rest[-k:] in self._prefixes:
                hold = k
                break
        if hold:
            out.append(rest[:-hold])
            self._buf = rest[-hold:]
        else:
            out.append(rest)
            self._buf = ""
        return "".join(out)

    def flush(self) -> str:
        buf, self._buf = self._buf, ""
        return buf


def restore_json_answer(answer: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Restore tokens in a chat (``message.content``) or completions (``text``) answer, in place."""
    r = Restorer(mapping)
    for ch in answer.get("choices") or []:
        if not isinstance(ch, dict):
            continue
        msg = ch.get("message")
        if isinstance(msg, dict) and isinstance(msg.get("content"), str):
            msg["content"] = r.restore(msg["content"])
        if isinstance(ch.get("text"), str):
            ch["text"] = r.restore(ch["text"])
    return answer


class SSERestorer:
    """Restores tokens in an SSE chat/completions stream, upstream chunk by upstream chunk.

    Bytes are split into events on blank lines (an event may span chunks); each
    ``data:`` JSON event has its ``delta.content`` / ``text`` restored per choice;
    held token prefixes are released on the choice's ``finish_reason`` chunk or,
    failing that, in an extra chunk before ``[DONE]``.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapping = dict(mapping)
        self._per_choice: dict[int, Restorer] = {}
        self._pending = b""
        self._template: dict[str, Any] | None = None

    def _restorer(self, idx: int) -> Restorer:
        r = self._per_choice.get(idx)
        if r is None:
            r = self._per_choice[idx] = Restorer(self._mapping)
        return r

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk
        data = data.replace(b"\r\n", b"\n")
        *events, self._pending = data.split(b"\n\n")
        return b"".join(self._event(e) for e in events)

    def flush(self) -> bytes:
        tail = self._pending
        self._pending = b""
        out = self._event(tail) if tail.strip() else b""
        return out + self._leftover()

    def _leftover(self) -> bytes:
        pieces = {i: r.flush() for i, r in self._per_choice.items()}
        pieces = {i: t for i, t in pieces.items() if t}
        if not pieces:
            return b""
        tmpl = dict(self._template or {"object": "chat.completion.chunk"})
        tmpl["choices"] = [{"index": i, "delta": {"content": t}, "finish_reason": None} for i, t in pieces.items()]
        return b"data: " + json.dumps(tmpl).encode() + b"\n\n"

    def _event(self, raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        data_lines = [ln[5:].lstrip() for ln in lines if ln.startswith(b"data:")]
        if not data_lines:
            return raw + b"\n\n"
        payload = b"\n".join(data_lines)
        if payload.strip() == b"[DONE]":
            return self._leftover() + raw + b"\n\n"
        try:
            obj = json.loads(payload)
        except ValueError:
            return raw + b"\n\n"
        if not isinstance(obj, dict):
            return raw + b"\n\n"
        if self._template is None:
            self._template = {k: v for k, v in obj.items() if k in ("id", "object", "created", "model")}
        for ch in obj.get("choices") or []:
            if not isinstance(ch, dict):
                continue
            r = self._restorer(ch.get("index", 0) if isinstance(ch.get("index"), int) else 0)
            delta = ch.get("delta")
            done = ch.get("finish_reason") is not None
            if isinstance(delta, dict):
                text = r.feed(delta["content"]) if isinstance(delta.get("content"), str) else ""
                if done:
                    text += r.flush()
                if isinstance(delta.get("content"), str) or text:
                    delta["content"] = text
            elif isinstance(ch.get("text"), str) or done:
                text = r.feed(ch.get("text") or "")
                if done:
                    text += r.flush()
                ch["text"] = text
        return b"data: " + json.dumps(obj).encode() + b"\n\n"
