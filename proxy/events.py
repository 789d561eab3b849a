"""The one place the proxy builds its audit events (RequestEvent, ResponseEvent) from an Exchange.

Shapes follow ``ledgergate.schemas`` (the .avsc contract); encoding is the
codec's. A builder never raises: a record that does not encode (say, a lone
surrogate in an upstream's answer id) is encoded again with every string made
valid and the failure written into its ``error``, so the trace exists and says
what went wrong instead of vanishing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from ledgergate.broker.config import Topics
from ledgergate.proxy.exchange import RESERVED_PREFIX, Exchange, usage_and_id
from ledgergate.proxy.openai_schema import judge_lenient
from ledgergate.proxy.spool import Record
from ledgergate.schemas.codec import SchemaError, encode

log = logging.getLogger("ledgergate.proxy.events")

#: route id and mode of a trace whose request never reached a route
NO_ROUTE, NO_MODE = "-", "none"


def principal_record(p: Any) -> dict[str, Any]:
    return {"person": p.person, "tenant": p.tenant, "roles": list(p.roles), "auth_method": p.auth_method}


_SURROGATE = re.compile("[\ud800-\udfff]")
_NOBODY = {"person": "anonymous", "tenant": "unknown", "roles": [], "auth_method": "none"}


def _scrub(v: Any) -> Any:
    """``v`` with every string made encodable (lone surrogates → U+FFFD)."""
    if isinstance(v, str):
        return _SURROGATE.sub("\ufffd", v)
    if isinstance(v, dict):
        return {_scrub(k): _scrub(item) for k, item in v.items()}
    if isinstance(v, list):
        return [_scrub(item) for item in v]
    return v


def _encode(name: str, rec: dict[str, Any]) -> bytes:
    try:
        return encode(name, rec)
    except SchemaError as exc:
        log.error("%s for request %s does not encode (%s); recording it with its strings repaired",
                  name, rec.get("request_id"), exc)
        fixed = _scrub(rec)
        note = f"audit event repaired: {exc}"[:300]
        if name == "ResponseEvent":
            fixed["error"] = f"{fixed['error']}; {note}" if fixed.get("error") else note
        else:
            fixed["metadata"] = dict(fixed.get("metadata") or {}, **{f"{RESERVED_PREFIX}repaired": note})
        return encode(name, fixed)


class EventBuilder:
    """Builds the records of one proxy instance (its id and reply topic are in every event)."""

    def __init__(self, topics: Topics, instance_id: str) -> None:
        self.topics = topics
        self.instance_id = instance_id
        self.reply_topic = topics.replies(instance_id)

    def request_record(self, x: Exchange, req: dict[str, Any]) -> Record:
        """The RequestEvent of a routed inference request (parts as judged, else walked now)."""
        route = x.route
        if route is None:
            raise ValueError(f"request {x.request_id} has no route: only routed requests have a RequestEvent")
        # held requests (a caller is waiting) name the reply topic and travel on their
        # own topic, so a burst of observe traffic never queues ahead of them in the worker
        held = route.mode == "enforce"
        rec = {
            "request_id": x.request_id, "received_at_us": x.received_us, "source": "proxy",
            "principal": principal_record(x.principal), "route_id": route.id, "mode": route.mode,
            "upstream_id": route.upstream, "model": x.model, "endpoint": x.endpoint,
            "parts": x.parts if x.parts is not None else judge_lenient(x.endpoint, req),
            "reply_to": self.reply_topic if held else None,
            "policy_id": route.policy, "metadata": x.metadata, "proxy_id": self.instance_id,
            "submitted_by": None,
        }
        topic = self.topics.held if held else self.topics.requests
        return Record(topic, x.request_id.encode(), _encode("RequestEvent", rec))

    def response_record(self, x: Exchange) -> Record:
        """The request's one ResponseEvent: what happened, whatever happened."""
        usage, upstream_id = usage_and_id(x)
        md = dict(x.metadata)
        if upstream_id:
            md["upstream_response_id"] = upstream_id

        def tok(k: str) -> int | None:
            v = usage.get(k)
            return v if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2 ** 31 else None

        route = x.route
        outcome = x.outcome or "internal-error"
        rec = {
            "request_id": x.request_id, "answered_at_us": x.answered_us, "received_at_us": x.received_us,
            "source": "proxy", "principal": principal_record(x.principal) if x.principal else dict(_NOBODY),
            "route_id": route.id if route else NO_ROUTE, "mode": route.mode if route else NO_MODE,
            "upstream_id": route.upstream if route else None, "model": x.model, "endpoint": x.endpoint,
            "outcome": outcome,
            "forwarded": x.forwarded if outcome in ("forwarded", "upstream-error", "internal-error") else "none",
            "forwarded_at_us": x.forwarded_us, "status": x.status or 500, "latency_ms": x.latency_ms,
            "hold_ms": x.hold_ms, "prompt_tokens": tok("prompt_tokens"),
            "completion_tokens": tok("completion_tokens"), "total_tokens": tok("total_tokens"),
            "decision_id": x.decision_id, "error": x.error, "stream": x.stream, "metadata": md,
            "proxy_id": self.instance_id, "reason": x.reason,
        }
        return Record(self.topics.responses, x.request_id.encode(), _encode("ResponseEvent", rec))

    def trace(self, x: Exchange, req: dict[str, Any] | None = None) -> Callable[[], list[Record]]:
        """What to submit when an exchange ends: its ResponseEvent, after its RequestEvent when
        ``req`` is given (observe: built off the hot path, one produce request for both)."""
        if req is not None:
            return lambda: [self.request_record(x, req), self.response_record(x)]
        return lambda: [self.response_record(x)]
