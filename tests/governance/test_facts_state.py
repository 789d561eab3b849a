"""The pure core of human facts: building and checking events, folding them, and the 36-hour clock."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from ledgergate.governance import facts
from ledgergate.governance.errors import GovernanceError
from ledgergate.governance.state import GovernanceBook, apply_override, override_for, request_hash, stamp
from ledgergate.reports.governance import clock
from ledgergate.schemas import codec

US, H = 1_000_000, 3_600_000_000
RITA = facts.actor("rita", "acme", ["reviewer"], "jwt")
REQ = {"principal": {"person": "carol", "tenant": "acme", "roles": ["engineer"], "auth_method": "jwt"},
       "route_id": "assistant", "model": "gpt-demo", "endpoint": "chat.completions",
       "parts": [{"path": "messages[0].content", "role": "user", "text": "key AKIA..."}]}
BLOCK = {"decision_id": "dec_1", "request_id": "r1", "outcome": "block", "rule_id": "block-secrets",
         "explanation": "a secret", "principal": REQ["principal"], "route_id": "assistant",
         "metadata": {"loan_id": "LN-1", "lg.override_id": "forged"}, "redacted_parts": []}


def test_request_hash_is_hmac_over_who_asked_what_where() -> None:
    canon = json.dumps(["acme", "carol", "assistant", "gpt-demo", "chat.completions",
                        [["user", "messages[0].content", "key AKIA..."]]], separators=(",", ":"))
    assert request_hash(REQ, b"k") == hmac.new(b"k", canon.encode(), hashlib.sha256).hexdigest()
    assert request_hash(REQ, b"other") != request_hash(REQ, b"k")


def _book(until_us: int) -> tuple[GovernanceBook, str]:
    h = request_hash(REQ, b"k")
    ev = facts.override(RITA, 0, 10 * US, decision={**BLOCK, "metadata": {"lg.request_hash": h}}, reason="fp",
                        allow_for_s=(until_us - 10 * US) // US, max_allow_for_s=3600)
    book = GovernanceBook()
    book.offer(codec.decode(codec.encode("GovernanceEvent", ev)))  # as read from the topic
    return book, ev["event_id"]


@pytest.mark.parametrize("change, now_s, applies", [
    ({}, 20, True),                                            # same caller, same request, in the window
    ({}, 70, False),                                           # after the window
    ({"route_id": "telemetry"}, 20, False),                    # another route
    ({"principal": {**REQ["principal"], "person": "dave"}}, 20, False),   # another caller
    ({"principal": {**REQ["principal"], "tenant": "globex"}}, 20, False),  # another tenant
])
def test_override_applies_only_to_the_same_callers_identical_request_in_its_window(change, now_s, applies) -> None:
    book, oid = _book(70 * US)
    req = {**REQ, **change}
    ov = override_for(book, req, request_hash(REQ, b"k"), now_s * US)
    assert (ov is not None) == applies
    if applies:
        d = apply_override(stamp(BLOCK, "h"), ov)
        assert (d["outcome"], d["rule_id"], d["metadata"]["lg.override_id"]) == ("allow", "human-override", oid)
        assert oid in d["explanation"] and "block-secrets" in d["explanation"]


def test_stamp_drops_a_caller_sent_override_id() -> None:
    d = stamp(BLOCK, "abc")
    assert d["metadata"] == {"loan_id": "LN-1", "lg.request_hash": "abc"}


def test_suspend_and_resume_fold_in_topic_order() -> None:
    book = GovernanceBook()
    for action in ("route.suspend", "route.resume", "route.suspend"):
        book.offer(facts.route_change(action, RITA, 1, 1, route_id="a", known_routes=["a"], reason="r"))
    assert "a" in book.suspended
    book.offer(facts.route_change("route.resume", RITA, 1, 1, route_id="a", known_routes=["a"], reason="r"))
    assert book.suspended == {}


@pytest.mark.parametrize("call, message", [
    (lambda: facts.parse_duration("15 minutes"), "not a positive duration"),
    (lambda: facts.parse_duration("0m"), "not a positive duration"),
    (lambda: facts.check_times(10 * H, 0, 30), "in the future"),
    (lambda: facts.check_times(0, 31 * 24 * H, 30), "more than 30 days back"),
    (lambda: facts.require_role(facts.actor("x", "t", ["engineer"], "jwt"), ["reviewer"], "override"),
     "may not override: one of the roles reviewer"),
    (lambda: facts.override(RITA, 0, 0, decision={**BLOCK, "outcome": "allow"}, reason="r", allow_for_s=None,
                            max_allow_for_s=60), "was 'allow', not 'block'"),
    (lambda: facts.override(RITA, 0, 0, decision=BLOCK, reason="r", allow_for_s=600, max_allow_for_s=60),
     "outside 1s..60s"),
    (lambda: facts.route_change("route.suspend", RITA, 0, 0, route_id="x", known_routes=["a"], reason="r"),
     "unknown route 'x'"),
    (lambda: facts.incident_triage(RITA, 0, 0, incident_id="inc_1", classification="maybe", reason="r"),
     "not one of incident, not-incident"),
    (lambda: facts.incident_open(RITA, 0, 0, concerns=[], detected_at_us=None, reason="r"), "--concerns"),
])
def test_bad_facts_are_refused_with_the_fix(call, message) -> None:
    with pytest.raises(GovernanceError, match=message):
        call()


@pytest.mark.parametrize("detected, cls, notified, now, status, hours", [
    (0, "incident", 10 * H, 50 * H, "met", 10.0),
    (0, "incident", 36 * H, 50 * H, "met", 36.0),
    (0, "incident", 40 * H, 50 * H, "missed", 40.0),
    (0, "incident", None, 50 * H, "missed", 50.0),      # never notified, window over
    (0, "incident", None, 20 * H, "open", 20.0),        # not notified yet, within the window
    (0, "not-incident", None, 50 * H, "not applicable", None),
    (0, None, None, 50 * H, "not applicable", None),    # a detection nobody triaged starts no clock
])
def test_the_36_hour_clock(detected, cls, notified, now, status, hours) -> None:
    c = clock(detected, cls, notified, now)
    assert (c["status"], c["hours"]) == (status, hours)
