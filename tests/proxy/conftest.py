"""Proxy test helpers: a stub authenticator, settings, the proxy on a real port, a decision responder."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from ledgergate.broker import free_port
from ledgergate.config import Settings, Topics, settings_from_mapping
from ledgergate.devstack.fakeupstream import RunningFake, fake_upstream
from ledgergate.proxy.errors import AuthError
from ledgergate.proxy.wiring import build_proxy, uvicorn_config
from ledgergate.schemas.codec import decode, encode

try:  # the identity module is written in parallel; fall back to a stand-in
    from ledgergate.proxy.identity import Principal
except ImportError:  # pragma: no cover - depends on the other engineer's progress
    @dataclass(frozen=True, slots=True)
    class Principal:  # type: ignore[no-redef]
        person: str
        tenant: str
        roles: tuple[str, ...]
        auth_method: str


TOKENS = {
    "analyst": Principal("alice", "acme", ("analyst",), "dev"),
    "intern": Principal("ivan", "acme", ("intern",), "dev"),
    "other": Principal("olga", "globex", ("analyst",), "dev"),
}


class StubAuth:
    """Bearer <name> → the principal TOKENS[name]; anything else → 401."""

    extra: dict[str, Principal] = {}  # tests add callers here

    async def authenticate(self, authorization: str | None, api_key: str | None = None) -> Principal:
        token = (authorization or "").removeprefix("Bearer ").strip() or (api_key or "")
        p = TOKENS.get(token) or self.extra.get(token)
        if p is None:
            raise AuthError("missing or unknown token: send Authorization: Bearer <token>")
        return p


def H(name: str = "analyst") -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


@pytest.fixture(scope="session")
def fake() -> Iterator[RunningFake]:
    with fake_upstream() as f:
        yield f


@pytest.fixture(autouse=False)
def fresh_fake(fake: RunningFake) -> RunningFake:
    fake.app.reset()
    return fake


def make_settings(prefix: str, bootstrap: str, upstream_url: str, spool: Path, *,
                  hold_ms: int = 3000, upstream_timeout: float = 5.0, extra_routes: list[dict] | None = None,
                  extra_upstreams: list[dict] | None = None, publish_linger_ms: int = 5) -> Settings:
    host, port = bootstrap.split(":")
    data: dict[str, Any] = {
        "broker": {"bootstrap_servers": bootstrap, "topic_prefix": prefix, "partitions": 4, "kind": "tansu"},
        "upstreams": [{"id": "fake", "base_url": upstream_url, "timeout_seconds": upstream_timeout,
                       "connect_timeout_seconds": 1.0}] + (extra_upstreams or []),
        "routes": [
            {"id": "obs", "path_prefix": "/r/obs", "models": ["m-obs"], "upstream": "fake", "mode": "observe",
             "policy": "p", "allowed_roles": ["analyst"]},
            {"id": "enf", "path_prefix": "/r/enf", "models": ["m-enf"], "upstream": "fake", "mode": "enforce",
             "hold_timeout_ms": hold_ms, "policy": "p", "allowed_roles": ["analyst"]},
            {"id": "acme-only", "path_prefix": "/r/acme", "models": ["m-acme"], "upstream": "fake",
             "mode": "observe", "policy": "p", "allowed_roles": ["analyst"], "allowed_tenants": ["acme"]},
        ] + (extra_routes or []),
        "policies": [{"id": "p", "bundle": {"id": "p", "version": 1, "rules": [
            {"id": "allow", "action": "allow", "match": {"always": True}}]}}],
        "proxy": {"spool_dir": str(spool), "publish_timeout_ms": 1000, "publish_linger_ms": publish_linger_ms},
    }
    return settings_from_mapping(data, source="test")


@contextlib.asynccontextmanager
async def running_proxy(settings: Settings, instance_id: str | None = None) -> AsyncIterator[tuple[str, Any]]:
    """The proxy served by uvicorn in this loop on a free port; yields (base URL, app)."""
    app = build_proxy(settings, authenticator=StubAuth(), instance_id=instance_id or f"i{uuid.uuid4().hex[:8]}")
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, loop="none"))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("proxy server stopped during startup")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


Decider = Callable[[dict[str, Any]], dict[str, Any] | None]


class Responder:
    """Stands in for the worker: consumes the real request topic, publishes Decisions to reply_to."""

    def __init__(self, bootstrap: str, topics: Topics, decide: Decider) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.decide = decide
        self.seen: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Responder:
        self.consumer = AIOKafkaConsumer(self.topics.requests, self.topics.held, bootstrap_servers=self.bootstrap,
                                         group_id=f"resp-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
                                         fetch_max_wait_ms=50)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=False, acks="all")
        await self.consumer.start()
        await self.producer.start()
        self._task = asyncio.create_task(self._loop())
        return self

    async def _loop(self) -> None:
        async for m in self.consumer:
            req = decode(m.value, expect="RequestEvent")
            self.seen.append(req)
            d = self.decide(req)
            if d is None or not req.get("reply_to"):
                continue
            await self.producer.send_and_wait(req["reply_to"], encode("Decision", decision_for(req, **d)),
                                              key=req["request_id"].encode())

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        await self.consumer.stop()
        await self.producer.stop()


def decision_for(req: dict[str, Any], outcome: str = "allow", rule_id: str = "allow",
                 findings: list[dict[str, Any]] | None = None,
                 redacted_parts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "decision_id": f"d-{uuid.uuid4().hex[:10]}", "request_id": req["request_id"], "decided_at_us": 1,
        "received_at_us": req["received_at_us"], "outcome": outcome, "rule_id": rule_id,
        "explanation": f"test {outcome}", "policy": {"id": "p", "version": 1, "hash": "0" * 64},
        "categories": ["PII"] if findings else [], "findings": findings or [],
        "redacted_parts": redacted_parts or [], "principal": req["principal"], "source": req["source"],
        "route_id": req["route_id"], "mode": req["mode"], "upstream_id": req["upstream_id"],
        "model": req["model"], "endpoint": req["endpoint"], "metadata": req["metadata"], "worker_id": "test",
    }


async def read_topic(bootstrap: str, topic: str, expect: str, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Read at least ``n`` records of ``topic`` from the start (or fewer on timeout)."""
    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                         fetch_max_wait_ms=50)
    await c.start()
    out: list[dict[str, Any]] = []
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while len(out) < n and loop.time() < end:
            batch = await c.getmany(timeout_ms=200)
            for msgs in batch.values():
                out += [decode(m.value, expect=expect) for m in msgs]
    finally:
        await c.stop()
    return out


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as c:
        yield c


@pytest.fixture
def kit() -> Any:
    """The helpers above, for test modules (importlib import mode cannot import conftest)."""
    import types

    return types.SimpleNamespace(H=H, make_settings=make_settings, running_proxy=running_proxy,
                                 Responder=Responder, decision_for=decision_for, read_topic=read_topic,
                                 Principal=Principal, StubAuth=StubAuth)
