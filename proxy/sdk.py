"""A small producer for other gateways: publish RequestEvent / ResponseEvent like the proxy does.

::

    from ledgergate.proxy.sdk import EventProducer

    async with EventProducer("127.0.0.1:19092", "lg") as p:
        rid = await p.publish_request(principal={"person": "alice", "tenant": "acme",
                                                 "roles": ["analyst"], "auth_method": "jwt"},
                                      route_id="assistant", mode="observe",
                                      parts=[{"path": "/messages/0/content", "role": "user", "text": "hi"}])
        await p.publish_response(request_id=rid, ..., outcome="forwarded", forwarded="original", status=200)

Records are validated against the packaged Avro schemas (the same ones the
proxy and the workers use) and encoded with the same single-object encoding;
:class:`EventValidationError` lists every failing field path. Missing
``request_id``/``received_at_us``/``answered_at_us`` are filled in; ``source``
defaults to ``ingest``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from ledgergate.broker.config import Topics
from ledgergate.clock import now_us
from ledgergate.errors import LedgergateError
from ledgergate.schemas.codec import SchemaError, encode, schema
from ledgergate.schemas.store import SchemaTopic, WriterSchemas

_PRIMS = {
    "string": (str,), "long": (int,), "int": (int,), "double": (float, int), "float": (float, int),
    "boolean": (bool,), "bytes": (bytes,), "null": (type(None),),
}


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class EventValidationError(LedgergateError, ValueError):
    """A record does not fit its schema; ``problems`` lists ``(field path, message)``."""

    def __init__(self, name: str, problems: list[tuple[str, str]]) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"invalid {name}: " + "; ".join(f"{p}: {m}" for p, m in problems))


def _check_primitive(t: str, v: Any, path: str, out: list[tuple[str, str]]) -> None:
    """Type and range of one primitive value (the encoder would fail on what this lets through)."""
    ok = _PRIMS.get(t)
    if ok is None:
        out.append((path, f"unknown Avro type {t!r}"))
        return
    if isinstance(v, bool) and t != "boolean":
        ok = ()
    if not isinstance(v, ok):
        out.append((path, f"expected {t}, got {type(v).__name__} {v!r:.40}"))
    elif t == "int" and isinstance(v, int) and not -2**31 <= v < 2**31:
        out.append((path, f"{v!r:.40} is out of range: an int is 32-bit ({-2**31} to {2**31 - 1})"))
    elif t == "long" and isinstance(v, int) and not -2**63 <= v < 2**63:
        out.append((path, f"{v!r:.40} is out of range: a long is 64-bit ({-2**63} to {2**63 - 1})"))
    elif t == "string" and isinstance(v, str) and not _encodable(v):
        out.append((path, "the string holds an unpaired UTF-16 surrogate: send valid Unicode text"))


def _check(t: Any, v: Any, path: str, named: dict[str, Any], out: list[tuple[str, str]]) -> Any:
    """Validate ``v`` against Avro type ``t``; returns the value with defaults filled."""
    if isinstance(t, str) and t in named:
        t = named[t]
    if isinstance(t, str):
        _check_primitive(t, v, path, out)
        return v
    if isinstance(t, list):  # union: null first in our schemas
        if v is None and "null" in t:
            return None
        non_null = [x for x in t if x != "null"]
        if len(non_null) == 1:
            return _check(non_null[0], v, path, named, out)
        for x in non_null:
            trial: list[tuple[str, str]] = []
            r = _check(x, v, path, named, trial)
            if not trial:
                return r
        out.append((path, f"matches none of {t}"))
        return v
    kind = t.get("type")
    if kind == "record":
        named[t["name"]] = t
        if "namespace" in t:
            named[f"{t['namespace']}.{t['name']}"] = t
        if not isinstance(v, Mapping):
            out.append((path, f"expected an object ({t['name']}), got {type(v).__name__}"))
            return v
        res: dict[str, Any] = {}
        known = set()
        for f in t["fields"]:
            known.add(f["name"])
            fp = f"{path}.{f['name']}" if path else f["name"]
            if f["name"] in v:
                res[f["name"]] = _check(f["type"], v[f["name"]], fp, named, out)
            elif "default" in f:
                res[f["name"]] = f["default"] if not isinstance(f["default"], (list, dict)) else type(f["default"])()
            else:
                out.append((fp, "required field is missing"))
        for k in v:
            if k not in known:
                out.append((f"{path}.{k}" if path else str(k), f"unknown field; {t['name']} has {sorted(known)}"))
        return res
    if kind == "array":
        if not isinstance(v, list):
            out.append((path, f"expected an array, got {type(v).__name__}"))
            return v
        return [_check(t["items"], x, f"{path}[{i}]", named, out) for i, x in enumerate(v)]
    if kind == "map":
        if not isinstance(v, Mapping):
            out.append((path, f"expected an object of {t['values']}, got {type(v).__name__}"))
            return v
        for k in v:
            if not isinstance(k, str) or not _encodable(k):
                out.append((f"{path}.{k!r:.40}", "map keys must be valid Unicode strings"))
        return {k: _check(t["values"], x, f"{path}.{k}", named, out) for k, x in v.items()}
    return _check(kind, v, path, named, out)


def validate(name: str, record: Any) -> dict[str, Any]:
    """The record with defaults filled; EventValidationError listing every failing path."""
    problems: list[tuple[str, str]] = []
    out = _check(schema(name).raw, record, "", {}, problems)
    if problems:
        raise EventValidationError(name, problems)
    return out


def complete_request(record: Mapping[str, Any], source: str = "ingest") -> dict[str, Any]:
    """Fill the fields a producer may leave out: request_id, received_at_us, source."""
    r = dict(record)
    r.setdefault("request_id", str(uuid.uuid4()))
    r.setdefault("received_at_us", now_us())
    r.setdefault("source", source)
    return r


class EventProducer:
    """Publishes validated RequestEvent/ResponseEvent records (key = request_id, acks=all)."""

    def __init__(self, bootstrap: str, topic_prefix: str = "lg", *, source: str = "ingest",
                 timeout_ms: int = 5000) -> None:
        self.topics = Topics.for_prefix(topic_prefix)
        self.source = source
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
                                          linger_ms=0, request_timeout_ms=timeout_ms)
        self._schemas = WriterSchemas(SchemaTopic(bootstrap, self.topics.schemas),
                                      [schema("RequestEvent"), schema("ResponseEvent")])
        self._started = False

    async def start(self) -> None:
        """Connect, and publish our writer schemas to the schemas topic before any event."""
        try:
            await self._producer.start()
        except KafkaError as exc:
            raise ConnectionError(f"cannot reach the broker: {exc!r}; check the bootstrap address") from exc
        self._started = True
        try:
            await self._schemas.ensure()
        except SchemaError:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._started:
            await self._producer.stop()
            self._started = False

    async def __aenter__(self) -> EventProducer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish_request(self, record: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Validate, encode and publish a RequestEvent; returns its request_id."""
        rec = validate("RequestEvent", complete_request({**(record or {}), **fields}, self.source))
        await self._producer.send_and_wait(self.topics.requests, encode("RequestEvent", rec),
                                           key=rec["request_id"].encode())
        return str(rec["request_id"])

    async def publish_response(self, record: Mapping[str, Any] | None = None, **fields: Any) -> str:
        """Validate, encode and publish a ResponseEvent; returns its request_id."""
        r = {**(record or {}), **fields}
        now = now_us()
        r.setdefault("answered_at_us", now)
        r.setdefault("received_at_us", now)
        r.setdefault("source", self.source)
        rec = validate("ResponseEvent", r)
        await self._producer.send_and_wait(self.topics.responses, encode("ResponseEvent", rec),
                                           key=rec["request_id"].encode())
        return str(rec["request_id"])
