"""Enforce mode: hold the request until its policy decision arrives, then forward what was judged.

The RequestEvent (with every part the walk found) is published and acked before
anything else (broker down → 503 ``refused-unavailable``); the request then waits
on this instance's reply topic for its Decision, at most the route's
``hold_timeout_ms`` (→ 503 ``refused-timeout``). ``allow`` forwards the judged
canonical bytes, ``redact`` the same body with the decision's ``redacted_parts``
written in, ``block`` is a 403 naming the decision and rule. Fail closed: any
other answer forwards nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ledgergate.proxy.errors import PolicyBlocked, Unavailable
from ledgergate.proxy.events import EventBuilder
from ledgergate.proxy.exchange import Exchange
from ledgergate.proxy.jsonbody import canonical
from ledgergate.proxy.parts import PartsError, apply_redactions, pseudonym_map
from ledgergate.proxy.publisher import Publisher, PublishError
from ledgergate.proxy.waiter import DecisionWaiter


class Enforcer:
    """Publishes held requests and turns their decisions into what may be forwarded."""

    def __init__(self, publisher: Publisher, waiter: DecisionWaiter, events: EventBuilder,
                 publish_timeout_s: float) -> None:
        self.publisher = publisher
        self.waiter = waiter
        self.events = events
        self.publish_timeout = publish_timeout_s

    async def judge(self, x: Exchange, req: dict[str, Any], raw: bytes) -> tuple[bytes, dict[str, str] | None]:
        """The bytes to forward and the pseudonym map, once the decision allows it; else raise."""
        route = x.route
        if route is None:
            raise ValueError("an enforce exchange needs its route")
        hold = route.hold_timeout_ms / 1000
        t0 = time.perf_counter()
        request_record = self.events.request_record(x, req)
        if not self.waiter.running:
            self._refuse(x, "refused-unavailable", request_record,
                         "the decision consumer is not connected to the broker")
            raise Unavailable(f"route {route.id!r} is in enforce mode and decisions cannot be received "
                              "(broker unreachable): retry later; nothing was forwarded",
                              extra={"request_id": x.request_id})
        fut = self.waiter.expect(x.request_id)
        try:
            await self.publisher.send_acked(request_record, min(self.publish_timeout, hold))
        except PublishError as exc:
            self.waiter.forget(x.request_id)
            self._refuse(x, "refused-unavailable", request_record, str(exc))
            raise Unavailable(f"route {route.id!r} is in enforce mode and the broker is unreachable: "
                              "retry later; nothing was forwarded",
                              extra={"request_id": x.request_id}) from exc
        decision = await self.waiter.wait(x.request_id, fut, max(0.0, hold - (time.perf_counter() - t0)))
        x.hold_ms = (time.perf_counter() - t0) * 1000
        if decision is None:
            x.outcome, x.status, x.reason = "refused-timeout", 503, "decision_timeout"
            x.error = f"no decision within {route.hold_timeout_ms} ms"
            raise Unavailable(f"no policy decision within the route's hold timeout of {route.hold_timeout_ms} ms: "
                              "retry later; nothing was forwarded", code="decision_timeout",
                              extra={"request_id": x.request_id})
        x.decision_id = decision["decision_id"]
        return self._apply(x, req, raw, decision)

    def _apply(self, x: Exchange, req: dict[str, Any], raw: bytes,
               decision: dict[str, Any]) -> tuple[bytes, dict[str, str] | None]:
        outcome = decision["outcome"]
        did = decision["decision_id"]
        if outcome == "allow":
            x.forwarded = "original"
            return raw, None
        if outcome == "block":
            x.outcome, x.status = "refused-policy", 403
            raise PolicyBlocked(
                f"blocked by policy {decision['policy']['id']} v{decision['policy']['version']}, "
                f"rule {decision['rule_id']!r} (decision {did}): {decision['explanation']}",
                extra={"decision_id": did, "rule_id": decision["rule_id"],
                       "request_id": x.request_id, "categories": list(decision.get("categories") or [])})
        if outcome == "redact":
            try:
                body = apply_redactions(req, decision.get("redacted_parts") or [])
            except PartsError as exc:
                x.outcome, x.status, x.error, x.reason = "refused-policy", 503, f"bad redaction: {exc}", "bad_redaction"
                raise Unavailable(f"the decision {did} does not fit the request ({exc}); nothing was forwarded",
                                  code="bad_redaction", extra={"request_id": x.request_id}) from exc
            x.forwarded = "redacted"
            mapping = pseudonym_map(x.parts or [], decision.get("findings") or []) or None
            return canonical(body), mapping
        x.outcome, x.status, x.reason = "refused-policy", 503, "unknown_decision"
        x.error = f"unknown decision outcome {outcome!r}"
        raise Unavailable(f"decision {did} has unknown outcome {json.dumps(str(outcome))[:60]} "
                          "(expected allow, redact or block); nothing was forwarded", code="unknown_decision")

    def _refuse(self, x: Exchange, outcome: str, request_record: Any, error: str) -> None:
        """Record a refusal; the request event goes along so the audit trail has the prompt."""
        x.outcome, x.status, x.error, x.reason = outcome, 503, error, "decision_unavailable"
        self.publisher.submit(lambda: [request_record])
