"""What one HTTP request did, from arrival to answer: the single source of its audit trace.

The handler fills an :class:`Exchange` as the request goes (who, which route,
what was forwarded, what came back, or why it was refused); :mod:`ledgergate.proxy.events`
turns it into the request's one ResponseEvent when it ends. Pure data, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ledgergate.proxy.config import RouteConfig
from ledgergate.proxy.errors import AuthError, Forbidden, PolicyBlocked, ProxyError

#: caller metadata keys starting with this are the proxy's own (dropped from callers)
RESERVED_PREFIX = "lg."



def metadata_of(req: Mapping[str, Any]) -> dict[str, str]:
    """The caller's ``metadata`` tags as strings (keys in the proxy's ``lg.`` namespace dropped)."""
    md = req.get("metadata")
    if isinstance(md, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                for k, v in md.items() if not str(k).startswith(RESERVED_PREFIX)}
    return {}


def outcome_of(exc: ProxyError) -> str:
    """The audit outcome of a refusal the handler did not classify itself."""
    if isinstance(exc, AuthError):
        return "refused-auth"
    if isinstance(exc, PolicyBlocked):
        return "refused-policy"
    if isinstance(exc, Forbidden):
        return "refused-forbidden"
    if exc.code == "route_suspended":  # proxy/suspensions.py
        return "refused-suspended"
    if exc.status == 503:
        return "refused-unavailable"
    if 400 <= exc.status < 500:
        return "refused-invalid"
    return "internal-error"


class Exchange:
    """One request's story. ``outcome`` stays None until the request ends or is refused."""

    __slots__ = ("request_id", "received_us", "principal", "route", "endpoint", "model", "stream",
                 "metadata", "outcome", "reason", "forwarded", "forwarded_us", "answered_us", "status",
                 "latency_ms", "hold_ms", "decision_id", "error", "answer", "answer_head", "answer_tail",
                 "parts", "request")

    def __init__(self, request_id: str, received_us: int, endpoint: str = "unknown") -> None:
        self.request_id = request_id
        self.received_us = received_us
        self.principal: Any = None           # verified Principal, or the claimed one when refused at 401
        self.route: RouteConfig | None = None
        self.endpoint = endpoint
        self.model: str | None = None
        self.stream = False
        self.metadata: dict[str, str] = {}
        self.outcome: str | None = None
        self.reason: str | None = None
        self.forwarded = "none"
        self.forwarded_us: int | None = None
        self.answered_us = 0  # stamped when the exchange ends, not when its event is built
        self.status = 0
        self.latency_ms: float | None = None
        self.hold_ms: float | None = None
        self.decision_id: str | None = None
        self.error: str | None = None
        self.answer: bytes | None = None       # whole JSON answer (non-streaming)
        self.answer_head: bytes | None = None  # first SSE chunk (upstream id)
        self.answer_tail: bytes = b""          # last SSE bytes (usage)
        self.parts: list[dict[str, Any]] | None = None  # every text the walk found (what was judged)
        self.request: dict[str, Any] | None = None  # observe: the body whose RequestEvent goes with the trace

    def refused(self, exc: ProxyError) -> None:
        """Record a refusal unless the handler already recorded a more precise one."""
        if self.outcome is None:
            self.outcome = outcome_of(exc)
        if not self.status:
            self.status = exc.status
        if self.reason is None:
            self.reason = exc.code
        if self.error is None:
            self.error = exc.message

    def failed(self, exc: BaseException) -> None:
        """Record a failure inside the proxy (500)."""
        self.outcome = "internal-error"
        self.status = self.status or 500
        self.reason = "internal_error"
        self.error = f"{type(exc).__name__}: {exc}"[:500]


def usage_and_id(x: Exchange) -> tuple[dict[str, Any], str | None]:
    """Token usage and upstream id from the answer (JSON, or the SSE head/tail)."""
    if x.answer is not None:
        try:
            obj = json.loads(x.answer)
        except (ValueError, RecursionError):
            return {}, None
        if not isinstance(obj, dict):
            return {}, None
        u = obj.get("usage")
        return (u if isinstance(u, dict) else {}), (obj.get("id") if isinstance(obj.get("id"), str) else None)
    usage: dict[str, Any] = {}
    uid = None
    for blob, first in ((x.answer_head, True), (x.answer_tail, False)):
        if not blob:
            continue
        for line in blob.split(b"\n"):
            if not line.startswith(b"data:") or b"[DONE]" in line:
                continue
            try:
                obj = json.loads(line[5:])
            except (ValueError, RecursionError):
                continue  # a partial event at the edge of the kept bytes
            if isinstance(obj, dict):
                if first and uid is None and isinstance(obj.get("id"), str):
                    uid = obj["id"]
                if isinstance(obj.get("usage"), dict):
                    usage = obj["usage"]
    return usage, uid
