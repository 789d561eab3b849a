"""The judge without a broker: real classifier, real default policy, real Avro codec."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ledgergate.config import default_settings
from ledgergate.schemas.codec import decode, default_codec, encode
from ledgergate.streams.decide import Decider
from ledgergate.streams.judge import Judge
from ledgergate.streams.wiring import build_decider


@pytest.fixture(scope="module")
def decider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Decider]:
    settings = default_settings(Path(tmp_path_factory.mktemp("judge")))
    d, _ = build_decider(settings, wid="w-test")
    yield d


def request(text: str, *, route: str = "assistant", reply_to: str | None = None) -> dict[str, Any]:
    return {"request_id": f"req-{uuid.uuid4().hex[:12]}", "received_at_us": time.time_ns() // 1000,
            "source": "ingest", "route_id": route, "mode": "observe", "reply_to": reply_to,
            "principal": {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
            "parts": [{"path": "/messages/0/content", "role": "user", "text": text}]}


def test_a_mixed_batch_comes_back_in_order_with_each_record_handled(decider: Decider) -> None:
    judge = Judge(decider, default_codec(), worker_id="w-test")
    allow = request("What is the capital of France?", reply_to="lg.replies.p1")
    pii = request("Mail jane.doe@fastmail.com about SSN 536-22-8713")
    unknown = request("hello", route="no-such-route")
    values = [encode("RequestEvent", allow), b"\x00garbage", encode("RequestEvent", unknown),
              encode("RequestEvent", pii)]
    got = judge.judge(values)

    assert [j.request_id for j in got] == [allow["request_id"], None, unknown["request_id"], pii["request_id"]]
    ok, bad, unjudged, red = got
    assert (ok.outcome, ok.error, ok.reply_to) == ("allow", None, "lg.replies.p1")
    assert decode(ok.payload, expect="Decision")["request_id"] == allow["request_id"]
    # undecodable: nothing to publish, dead-letter it
    assert bad.payload is None and bad.reason == "undecodable" and "undecodable request event" in bad.error
    # decodable but unjudgeable: dead-letter it AND answer with a fail-closed block
    assert unjudged.reason == "undecidable" and "no-such-route" in unjudged.error
    d = decode(unjudged.payload, expect="Decision")
    assert (d["outcome"], d["rule_id"]) == ("block", "error-fail-closed")
    assert (red.outcome, red.categories) == ("redact", ("PII",))
    text = decode(red.payload, expect="Decision")["redacted_parts"][0]["text"]
    assert "jane.doe@fastmail.com" not in text and "536-22-8713" not in text
    t = judge.last_timing
    assert t.decide > 0 and t.decode >= 0 and t.encode >= 0


def test_amend_sees_each_decision_before_it_is_encoded(decider: Decider) -> None:
    seen: list[str] = []

    def amend(req: Mapping[str, Any], dec: dict[str, Any]) -> dict[str, Any]:
        seen.append(req["request_id"])
        return {**dec, "outcome": "block", "rule_id": "reviewer-override", "explanation": "held for review"}

    r = request("What is the capital of France?")
    (j,) = Judge(decider, default_codec(), worker_id="w-test", amend=amend).judge([encode("RequestEvent", r)])
    assert seen == [r["request_id"]]
    assert (j.outcome, j.error) == ("block", None)
    assert decode(j.payload, expect="Decision")["rule_id"] == "reviewer-override"


def test_an_amend_that_fails_fails_closed(decider: Decider) -> None:
    def amend(req: Mapping[str, Any], dec: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("override store unavailable")

    (j,) = Judge(decider, default_codec(), worker_id="w-test", amend=amend).judge(
        [encode("RequestEvent", request("What is the capital of France?"))])
    assert j.reason == "undecidable" and "override store unavailable" in j.error
    assert decode(j.payload, expect="Decision")["rule_id"] == "error-fail-closed"


class _PoisonedDecider:
    """A decider whose batch call fails when any request holds the word 'poison'."""

    def __init__(self, real: Decider) -> None:
        self.real = real
        self.calls: list[int] = []

    def decide_batch(self, requests: Sequence[Mapping[str, Any]]) -> list[Any]:
        self.calls.append(len(requests))
        if any("poison" in p["text"] for r in requests for p in r["parts"]):
            raise RuntimeError("classifier crashed")
        return self.real.decide_batch(requests)


def test_one_poison_record_fails_alone_not_its_batch(decider: Decider) -> None:
    poisoned = _PoisonedDecider(decider)
    reqs = [request("first question"), request("poison pill"), request("third question")]
    got = Judge(poisoned, default_codec(), worker_id="w-test").judge(  # type: ignore[arg-type]
        [encode("RequestEvent", r) for r in reqs])
    assert poisoned.calls == [3, 1, 1, 1]  # the batch, then one by one
    assert [j.outcome for j in got] == ["allow", "block", "allow"]
    assert got[1].reason == "undecidable" and "classifier crashed" in got[1].error
    assert [j.error for j in (got[0], got[2])] == [None, None]
