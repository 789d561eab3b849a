"""Human facts through the CLI on the real pipeline (broker, worker, ledger service, proxy as processes).

A blocked request is overridden by a reviewer: re-sent within the window it is
allowed and its decision cites the override, re-sent after it is blocked again.
A route suspended on the CLI refuses on the running proxy and serves again once
resumed. Incidents recorded with back-dated detection and notification show as
missed (40 h) and met (10 h); a blocked prompt nobody triaged stays a detection.
Every report count is checked against SQL written here, the HTML renders in
headless Chromium, and the whole ledger verifies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledgergate.ledger.client import open_ledger
from ledgergate.proxy.devissuer import dev_token

from support import running_stack, wait_for

AWS = "debug: aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8hT4vB2s key AKIAZ7QW3RTY5UIOPL2K"
H = 3600


@pytest.fixture(scope="module")
def stack(broker, tmp_path_factory) -> Iterator[tuple[Any, Path, httpx.Client]]:
    with running_stack(tmp_path_factory.mktemp("governance"), bootstrap=broker.bootstrap, tag="g") as (
            settings, cfg, up, client):
        yield settings, cfg, client


def token(settings: Any, person: str, *roles: str) -> str:
    return dev_token(settings.identity.dev, sub=person, tenant="acme", roles=list(roles))


def chat(settings: Any, client: httpx.Client, person: str, text: str, role: str = "engineer") -> httpx.Response:
    return client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token(settings, person, role)}"},
                       json={"model": "gpt-demo", "messages": [{"role": "user", "content": text}]})


def cli(cfg: Path, *args: str, who: str | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--token", who] if who else []
    return subprocess.run([sys.executable, "-m", "ledgergate", *args, "--config", str(cfg), *extra],
                          capture_output=True, text=True, timeout=120)


def iso(seconds_ago: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def governance_rows(led: Any, action: str) -> list[tuple[Any, ...]]:
    return led.query("SELECT seq, metadata FROM records WHERE kind = 'governance' AND outcome = ? ORDER BY seq",
                     [action])


def decision_of(led: Any, request_id: str) -> dict[str, Any]:
    wait_for(lambda: led.query("SELECT 1 FROM records WHERE kind = 'decision' AND request_id = ?", [request_id]),
             20, f"decision of {request_id}")
    return led.show(request_id)


def blocked_decision_id(r: httpx.Response) -> str:
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    return err.get("decision_id") or err["message"].split("decision ")[1].split(")")[0]


def latest_decision(led: Any, person: str, before: int) -> tuple[Any, ...]:
    wait_for(lambda: led.query("SELECT 1 FROM records WHERE kind = 'decision' AND person = ? AND seq > ?",
                               [person, before]), 20, f"a new decision for {person}")
    return led.query("SELECT seq, outcome, rule_id, metadata, request_id FROM records WHERE kind = 'decision' "
                     "AND person = ? ORDER BY seq DESC LIMIT 1", [person])[0]


def test_override_window_allows_the_identical_request_then_blocks_again(stack) -> None:
    settings, cfg, client = stack
    rita = token(settings, "rita", "reviewer")
    dec = blocked_decision_id(chat(settings, client, "carol", AWS))
    # no reviewer role: refused with one line, exit 2
    r = cli(cfg, "override", dec, "--reason", "mine", "--allow-for", "5m", who=token(settings, "carol", "engineer"))
    assert r.returncode == 2 and "may not override a decision" in r.stderr and "reviewer" in r.stderr
    r = cli(cfg, "override", dec, "--reason", "test key from the docs", "--allow-for", "12s", who=rita)
    assert r.returncode == 0, r.stderr
    override_id = r.stdout.split("override ")[1].split()[0]
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        wait_for(lambda: governance_rows(led, "override"), 20, "the override record")
        seq, meta = governance_rows(led, "override")[0]
        meta = json.loads(meta)
        assert meta["decision_id"] == dec and meta["event_id"] == override_id
        until = int(meta["allow_until_us"]) / 1e6
        head = led.query("SELECT max(seq) FROM records")[0][0]
        ok = chat(settings, client, "carol", AWS)
        assert ok.status_code == 200, ok.text
        s, outcome, rule, m, _ = latest_decision(led, "carol", head)
        assert (outcome, rule, json.loads(m)["lg.override_id"]) == ("allow", "human-override", override_id)
        # not the identical request, or not the same caller: the policy still blocks
        blocked_decision_id(chat(settings, client, "carol", AWS + " again"))
        blocked_decision_id(chat(settings, client, "dave", AWS))
        time.sleep(max(0.0, until - time.time()) + 0.5)
        head = led.query("SELECT max(seq) FROM records")[0][0]
        blocked_decision_id(chat(settings, client, "carol", AWS))
        s, outcome, rule, m, _ = latest_decision(led, "carol", head)
        assert outcome == "block" and "lg.override_id" not in json.loads(m)


def test_route_suspension_takes_effect_on_the_running_proxy(stack) -> None:
    settings, cfg, client = stack
    rita = token(settings, "rita", "reviewer")
    route_id = "assistant"  # the demo config's enforce route for gpt-demo
    assert chat(settings, client, "alice", "Name three rivers.", "analyst").status_code == 200
    r = cli(cfg, "route", "suspend", route_id, "--reason", "risk identified: Art. 26(5)", who=rita)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: chat(settings, client, "alice", "Name three rivers.", "analyst").status_code == 503, 20,
             "the proxy to refuse the suspended route")
    err = chat(settings, client, "alice", "Name three rivers.", "analyst").json()["error"]
    assert err["code"] == "route_suspended" and "rita" in err["message"]
    r = cli(cfg, "route", "resume", route_id, "--reason", "risk mitigated", who=rita)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: chat(settings, client, "alice", "Name three rivers.", "analyst").status_code == 200, 20,
             "the proxy to serve the resumed route")
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:  # the refusals are events too
        wait_for(lambda: led.query("SELECT count(*) FROM records WHERE kind = 'response' AND route_id = ? "
                                   "AND outcome = 'refused-suspended' AND status = 503", [route_id])[0][0] >= 2,
                 20, "the refusals of the suspended route recorded")


def screenshot(html: Path, png: Path) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="lg-chromium-")
    try:
        return subprocess.run(
            [shutil.which("chromium") or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1200,2000",
             html.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def test_incidents_notifications_and_reports(stack, tmp_path: Path) -> None:
    settings, cfg, client = stack
    sam = token(settings, "sam", "security")
    decs = [blocked_decision_id(chat(settings, client, f"eve{k}", AWS + f" {k}")) for k in range(3)]
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        wait_for(lambda: len(led.query("SELECT 1 FROM records WHERE kind = 'decision' AND person LIKE 'eve%'")) == 3,
                 20, "three blocked decisions")
        ids = []
        # detected 50 h ago, noticed 10 h ago: 40 h → missed; detected 20 h ago, noticed 10 h ago → met
        for dec, detected_h in ((decs[0], 50), (decs[1], 20)):
            r = cli(cfg, "incident", "open", "--concerns", dec, "--detected-at", iso(detected_h * H),
                    "--at", iso(detected_h * H - 600), "--reason", "credential pasted into a prompt", who=sam)
            assert r.returncode == 0, r.stderr
            inc = r.stdout.split("incident ")[1].split()[0]
            ids.append(inc)
            assert cli(cfg, "incident", "triage", inc, "--as", "incident", "--reason", "live key",
                       who=sam).returncode == 0
            r = cli(cfg, "incident", "notify", inc, "--to", "Fannie Mae information security", "--at", iso(10 * H),
                    who=sam)
            assert r.returncode == 0, r.stderr
        # a notice dated in the future is refused
        r = cli(cfg, "incident", "notify", ids[0], "--to", "x", "--at", iso(-3 * H), who=sam)
        assert r.returncode == 2 and "in the future" in r.stderr
        wait_for(lambda: len(governance_rows(led, "incident.notify")) == 2, 20, "two notifications recorded")
        today = dt.datetime.now(dt.UTC).date()
        period = (str(today - dt.timedelta(days=3)), str(today))
        for kind in ("ll-2026-04", "article12"):
            for ext in ("json", "html"):
                out = tmp_path / f"{kind}.{ext}"
                r = subprocess.run([sys.executable, "-m", "ledgergate", "report", kind, "--from", period[0],
                                    "--to", period[1], "--out", str(out), "--config", str(cfg), "--quiet"],
                                   capture_output=True, text=True, timeout=300)
                assert r.returncode == 0, r.stderr
        # an empty period is a report too: it attests no activity and its hash is signed into the ledger
        empty = tmp_path / "empty.json"
        r = subprocess.run([sys.executable, "-m", "ledgergate", "report", "article12", "--from", "2020-01-01",
                            "--to", "2020-01-31", "--out", str(empty), "--config", str(cfg), "--quiet"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert json.loads(empty.read_text())["activity"]["empty"] is True
        sha = hashlib.sha256(empty.read_bytes()).hexdigest()
        wait_for(lambda: any(sha in str(led.show(rid)) for (rid,) in led.query(
            "SELECT record_id FROM records WHERE kind = 'report'")), 20, "the empty report's hash recorded")
        ll = json.loads((tmp_path / "ll-2026-04.json").read_text())
        a12 = json.loads((tmp_path / "article12.json").read_text())
        check_counts(led, ll, a12, ids, decs)
        # the badge carries the verifier's own statement of what it establishes
        assert a12["coverage"]["integrity"]["ok"] and a12["coverage"]["integrity"]["establishes"]
        assert led.verify()["ok"]
    for kind in ("ll-2026-04", "article12"):
        png = tmp_path / f"{kind}.png"
        proc = screenshot(tmp_path / f"{kind}.html", png)
        assert proc.returncode == 0 and png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 20_000


def check_counts(led: Any, ll: dict[str, Any], a12: dict[str, Any], ids: list[str], decs: list[str]) -> None:
    def one(sql: str, params: list[Any] | None = None) -> Any:
        return led.query(sql, params or [])[0][0]

    inc = {i["incident_id"]: i for i in ll["security"]["incidents"]["listed"]}
    assert (inc[ids[0]]["clock"], inc[ids[0]]["hours_to_notice"]) == ("missed", 40.0)
    assert (inc[ids[1]]["clock"], inc[ids[1]]["hours_to_notice"]) == ("met", 10.0)
    det = ll["security"]["detections"]
    assert det["total"] == ll["security"]["events"] == one(
        "SELECT count(*) FROM records WHERE kind = 'decision' AND (list_contains(categories, 'SECRET') "
        "OR list_contains(categories, 'PROMPT_INJECTION'))")
    concerned = {int(r[0]) for r in led.query(
        "SELECT json_extract_string(metadata, '$.concerns') FROM records WHERE outcome = 'incident.open'")}
    assert det["by_state"]["incident"]["records"] == len(concerned) == 2
    assert det["by_state"]["not-triaged"]["records"] == det["total"] - 2
    third = [d for d in det["listed"] if d["seq"] not in concerned]
    assert third and {d["triage_label"] for d in third} == {"detection, not triaged"}
    ov = a12["operation"]["oversight"]
    for key, action in (("overrides", "override"), ("notifications", "incident.notify")):
        assert ov[key]["count"] == one("SELECT count(*) FROM records WHERE kind = 'governance' AND outcome = ?",
                                       [action])
    assert ov["suspensions"]["count"] == one(
        "SELECT count(*) FROM records WHERE kind = 'governance' AND outcome = 'route.suspend'")
    assert ov["allowed_by_override"]["decisions"] == one(
        "SELECT count(*) FROM records WHERE kind = 'decision' AND rule_id = 'human-override'")
    # records up to the report's last seq (the reports generated afterwards are records too)
    assert a12["coverage"]["records"] == one("SELECT count(*) FROM records WHERE recorded_at_us >= ? AND "
                                             "recorded_at_us < ? AND seq <= ?",
                                             [a12["header"]["period"]["start_us"],
                                              a12["header"]["period"]["end_us_exclusive"], a12["coverage"]["seq_last"]])
    gate = a12["recording"]["gate_refusals"]
    assert gate["records"] == one("SELECT count(*) FROM records WHERE kind = 'response' AND outcome IN "
                                  "('refused-auth', 'refused-forbidden', 'refused-invalid', 'refused-suspended') "
                                  "AND seq <= ?", [a12["coverage"]["seq_last"]])
