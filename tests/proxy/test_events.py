"""Event building: one ResponseEvent per exchange, whatever it holds; a record that does not encode is repaired."""

from __future__ import annotations

from ledgergate.config import Topics
from ledgergate.proxy.errors import AuthError, BadRequest, Forbidden, PolicyBlocked, ProxyError, Unavailable
from ledgergate.proxy.events import EventBuilder
from ledgergate.proxy.exchange import Exchange, outcome_of
from ledgergate.schemas.codec import decode


def test_refusal_outcomes_by_error():
    assert [outcome_of(e("m")) for e in (AuthError, Forbidden, PolicyBlocked, BadRequest, Unavailable,
                                          ProxyError)] == \
        ["refused-auth", "refused-forbidden", "refused-policy", "refused-invalid", "refused-unavailable",
         "internal-error"]


def test_unrouted_refusal_has_a_trace_without_principal_or_route():
    x = Exchange("r-1", 1, "chat.completions")
    x.refused(BadRequest("bad", code="duplicate_header"))
    x.answered_us = 2
    rec = decode(EventBuilder(Topics.for_prefix("t"), "p1").response_record(x).value, expect="ResponseEvent")
    assert (rec["outcome"], rec["status"], rec["reason"], rec["route_id"], rec["mode"]) == \
        ("refused-invalid", 400, "duplicate_header", "-", "none")
    assert rec["principal"] == {"person": "anonymous", "tenant": "unknown", "roles": [], "auth_method": "none"}


def test_an_answer_id_with_a_lone_surrogate_is_recorded_repaired_not_dropped():
    x = Exchange("r-2", 1, "chat.completions")
    x.outcome, x.status, x.forwarded = "forwarded", 200, "original"
    x.answer = b'{"id": "chat-\\ud800", "usage": {"prompt_tokens": 3}}'
    rec = decode(EventBuilder(Topics.for_prefix("t"), "p1").response_record(x).value, expect="ResponseEvent")
    assert rec["metadata"]["upstream_response_id"] == "chat-\ufffd" and rec["prompt_tokens"] == 3
    assert rec["outcome"] == "forwarded" and "repaired" in rec["error"]
