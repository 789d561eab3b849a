"""The pipeline under a burst, and what its /metrics say — the whole stack as real processes.

`ledgergate up`'s supervisor runs broker, ledger service, two workers (one
consumer group) and the proxy; only the LLM upstream is fake. Every /metrics
endpoint is read with prometheus-client's own text parser.

* Backpressure: 5,000 observe events published with the SDK in one burst wait
  in the broker; enforce requests sent while that backlog drains are answered
  before it has drained; every event ends up recorded exactly once and the
  workers' consumer lag returns to zero.
* Metrics: the counters of proxy, workers and ledger service move by exactly
  what was sent.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ledgergate.broker import free_port
from ledgergate.config import load_settings
from ledgergate.devstack.fakeupstream import fake_upstream
from ledgergate.devstack.supervisor import Stack
from ledgergate.ledger.client import open_ledger
from ledgergate.proxy.devissuer import dev_token

from support import wait_for, write_config

BURST = 5000
WORKERS = 2


def _port_pair() -> int:
    """A port p with p and p+1 free (worker i serves on p+i)."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
                return p
            except OSError:
                continue
    raise RuntimeError("no two adjacent free ports")


@pytest.fixture(scope="module")
def stack(broker, tmp_path_factory) -> Iterator[dict[str, Any]]:
    from ledgergate.devstack.demo import prepare_keys

    d = tmp_path_factory.mktemp("load")
    with fake_upstream() as up:
        prefix = f"l{uuid.uuid4().hex[:6]}"
        wport, lport = _port_pair(), free_port()
        cfg = write_config(d, bootstrap=broker.bootstrap, prefix=prefix, upstream_url=up.base_url,
                           proxy_port=free_port(), worker={"metrics_port": wport},
                           ledger={"metrics_port": lport})
        raw = yaml.safe_load(cfg.read_text())
        for r in raw["routes"]:
            r["hold_timeout_ms"] = 60_000  # a loaded CI box must not turn "slow" into "refused"
        cfg.write_text(yaml.safe_dump(raw, sort_keys=False))
        settings = load_settings(cfg)
        prepare_keys(settings)
        st = Stack(settings, cfg, d, workers=WORKERS, say=lambda s: None)
        st.start()
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{settings.proxy.port}", timeout=120) as client:
                yield {"settings": settings, "client": client,
                       "worker_urls": [f"http://127.0.0.1:{wport + i}/metrics" for i in range(WORKERS)],
                       "ledger_url": f"http://127.0.0.1:{lport}/metrics"}
        finally:
            st.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, parsed by prometheus-client: (name, labels) -> value."""
    text = httpx.get(url, timeout=10).text
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def total(samples: dict[tuple[str, Any], float], name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all(dict(ls).get(k) == want for k, want in labels.items()))


def workers_total(st: dict[str, Any], name: str, **labels: str) -> float:
    return sum(total(scrape(u), name, **labels) for u in st["worker_urls"])


def _auth(settings: Any, person: str = "alice") -> dict[str, str]:
    return {"Authorization": "Bearer " + dev_token(settings.identity.dev, sub=person, tenant="acme",
                                                   roles=["analyst"])}


def _ledger_decisions(settings: Any) -> list[str]:
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        return [r["request_id"] for r in led.list(kind="decision", limit=1_000_000)]


async def _publish_burst(settings: Any, n: int) -> list[str]:
    from ledgergate.proxy.sdk import EventProducer

    principal = {"person": "loadtest", "tenant": "acme", "roles": ["analyst"], "auth_method": "api_key"}
    ids: list[str] = []
    async with EventProducer(settings.broker.bootstrap, settings.broker.topic_prefix) as sdk:
        for i in range(0, n, 500):
            ids += await asyncio.gather(*(sdk.publish_request(
                principal=principal, route_id="telemetry", mode="observe",
                parts=[{"path": "/messages/0/content", "role": "user",
                        "text": f"Summarise the notes of meeting {j} in three bullet points."}])
                for j in range(i, min(n, i + 500))))
    return ids


def test_a_burst_drains_to_zero_lag_while_enforce_requests_are_answered(stack) -> None:
    settings, client = stack["settings"], stack["client"]
    ids = asyncio.run(_publish_burst(settings, BURST))
    assert len(set(ids)) == BURST

    # enforce requests while the backlog drains: each is answered, and ahead of the backlog

    for i in range(5):

        r = client.post("/v1/chat/completions", headers=_auth(settings), json={
            "model": "gpt-demo", "messages": [{"role": "user", "content": f"Name a river, take {i}."}]})
        assert r.status_code == 200, r.text

    recorded_when_answered = len(set(_ledger_decisions(settings)) & set(ids))
    assert recorded_when_answered < BURST, "the burst drained before the enforce requests were answered"

    # nothing lost, nothing twice, and lag back at zero
    wait_for(lambda: len(set(_ledger_decisions(settings)) & set(ids)) >= BURST, 600,
             f"{BURST} decision records")
    wait_for(lambda: workers_total(stack, "ledgergate_worker_consumer_lag") == 0, 60, "zero consumer lag")
    recorded = [rid for rid in _ledger_decisions(settings) if rid in set(ids)]
    assert sorted(recorded) == sorted(ids)  # every event exactly once
    lags = [total(scrape(u), "ledgergate_worker_consumer_lag", topic=settings.topics.requests)
            for u in stack["worker_urls"]]
    assert lags == [0] * WORKERS


def test_each_parts_metrics_count_what_was_sent(stack) -> None:
    settings, client = stack["settings"], stack["client"]
    proxy_url = f"{client.base_url}/metrics"

    def snapshot() -> dict[str, float]:
        p, led = scrape(str(proxy_url)), scrape(stack["ledger_url"])
        return {
            "observe": total(p, "ledgergate_proxy_requests_total", route="telemetry", mode="observe",
                             outcome="forwarded"),
            "enforce": total(p, "ledgergate_proxy_requests_total", route="assistant", mode="enforce",
                             outcome="forwarded"),
            "refused_auth": total(p, "ledgergate_proxy_requests_total", route="-", outcome="refused-auth"),
            "holds": total(p, "ledgergate_proxy_hold_seconds_count", route="assistant"),
            "judged_observe": workers_total(stack, "ledgergate_worker_events_judged_total", path="observe"),
            "judged_held": workers_total(stack, "ledgergate_worker_events_judged_total", path="held"),
            "pii_redacted": workers_total(stack, "ledgergate_worker_event_categories_total", category="PII",
                                          outcome="redact"),
            "classify_batches": workers_total(stack, "ledgergate_worker_classify_seconds_count"),
            "ledger_decisions": total(led, "ledgergate_ledger_records_appended_total", kind="decision"),
            "ledger_responses": total(led, "ledgergate_ledger_records_appended_total", kind="response"),
        }

    before = snapshot()
    hdr = _auth(settings, "bob")
    for i in range(6):
        r = client.post("/v1/chat/completions", headers=hdr, json={
            "model": "gpt-demo-observe", "messages": [{"role": "user", "content": f"Title for post {i}?"}]})
        assert r.status_code == 200, r.text
    r = client.post("/v1/chat/completions", headers=hdr, json={
        "model": "gpt-demo-observe",
        "messages": [{"role": "user", "content": "Mail jane.doe@fastmail.com about SSN 536-22-8713."}]})
    assert r.status_code == 200, r.text
    for i in range(3):
        r = client.post("/v1/chat/completions", headers=hdr, json={
            "model": "gpt-demo", "messages": [{"role": "user", "content": f"Name a mountain, take {i}."}]})
        assert r.status_code == 200, r.text
    for _ in range(2):
        r = client.post("/v1/chat/completions", headers={"Authorization": "Bearer not-a-token"}, json={
            "model": "gpt-demo", "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 401

    want = {"observe": 7, "enforce": 3, "refused_auth": 2, "holds": 3, "judged_observe": 7, "judged_held": 3,
            "pii_redacted": 1, "ledger_decisions": 10, "ledger_responses": 12}

    def delta() -> dict[str, float]:
        now = snapshot()
        return {k: now[k] - before[k] for k in now}

    wait_for(lambda: all(delta()[k] >= v for k, v in want.items()), 120, f"metrics to reach {want}")
    time.sleep(1.5)  # anything counted twice would show by now
    got = delta()
    assert {k: got[k] for k in want} == want
    assert got["classify_batches"] >= 1

    p = scrape(str(proxy_url))
    assert total(p, "ledgergate_proxy_spool_events") == 0
    assert total(p, "ledgergate_proxy_publish_failures_total") == 0
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        assert led.verify()["ok"]
    led_m = scrape(stack["ledger_url"])
    assert total(led_m, "ledgergate_ledger_verify_ok") == 1
    assert total(led_m, "ledgergate_ledger_size_records") >= 10
    assert 0 <= total(led_m, "ledgergate_ledger_checkpoint_age_seconds") < 600


def test_metrics_endpoint_refuses_other_methods(stack) -> None:
    r = stack["client"].post("/metrics")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"

