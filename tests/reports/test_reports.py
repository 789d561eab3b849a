"""Report facts against direct DuckDB queries, integrity, rendering and errors.

The ledger is written by the real LedgerWriter (signed, checkpointed) and
verified by the real ledger.verify; counts are checked against independent SQL
written here, not against the report's own queries.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.store import LedgerWriter, LegalHold, connect
from ledgergate.reports import registry
from ledgergate.reports.errors import ReportError
from ledgergate.reports.queries import DuckDBQuery, Period, gather_article12, gather_ll202604
from ledgergate.reports.render import format_for_path, render, render_to

from report_ledger import LEDGER_ID, NOW, OCTOBER, Ledger, build_ledger

WHERE = "recorded_at_us >= ? AND recorded_at_us < ?"
P = [OCTOBER.start_us, OCTOBER.end_us]


def one(con: Any, sql: str, params: list[Any] | None = None) -> Any:
    return con.execute(sql, P if params is None else params).fetchone()[0]


@pytest.fixture(scope="module")
def a12(ledger: Ledger) -> dict[str, Any]:
    """Article 12 facts as they come back from the JSON form (what an auditor reads)."""
    with ledger.query() as q:
        facts = gather_article12(q, OCTOBER, ledger.context, integrity=ledger.verify(), now=NOW)
    return json.loads(render("article12", facts, "json"))


@pytest.fixture(scope="module")
def ll(ledger: Ledger) -> dict[str, Any]:
    with ledger.query() as q:
        facts = gather_ll202604(q, OCTOBER, ledger.context, integrity=ledger.verify(), now=NOW)
    return json.loads(render("ll-2026-04", facts, "json"))


@pytest.fixture(scope="module")
def con(ledger: Ledger) -> Any:
    c = duckdb.connect(str(ledger.path), read_only=True)
    yield c
    c.close()


# --------------------------------------------------------------------------- counts


def test_coverage_counts_equal_direct_queries(a12: dict[str, Any], con: Any) -> None:
    cov = a12["coverage"]
    assert cov["records"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE}")
    assert cov["seq_first"] == one(con, f"SELECT min(seq) FROM records WHERE {WHERE}")
    assert cov["seq_last"] == one(con, f"SELECT max(seq) FROM records WHERE {WHERE}")
    assert cov["requests"] == one(con, f"SELECT count(DISTINCT request_id) FROM records WHERE {WHERE}")
    # the scenario has records before and after October: they are not counted
    assert cov["records"] < one(con, "SELECT count(*) FROM records", [])
    for k in cov["by_kind"]:
        assert k["records"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = ?", [*P, k["kind"]])
    assert {k["kind"] for k in cov["by_kind"]} == {"decision", "response", "report", "governance"}
    assert cov["checkpoints"]["anchored"] is True
    assert cov["checkpoints"]["covering"]["tree_size"] > cov["seq_last"]
    integrity = dict(cov["integrity"])
    assert integrity.pop("establishes").startswith("Internal consistency only")
    assert integrity == {"verified": True, "ok": True, "problems": [], "trusted": None,
                         "checked_records": one(con, "SELECT count(*) FROM records", []),
                         "checkpoints": one(con, "SELECT count(*) FROM checkpoints", [])}


def test_risk_counts_equal_direct_queries(a12: dict[str, Any], con: Any) -> None:
    risk = a12["risk"]
    assert risk["blocks"]["records"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' AND outcome = 'block'")
    assert risk["blocks"]["records"] > 0
    assert risk["blocks"]["observed_only"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' AND outcome = 'block' "
             "AND mode = 'observe'")
    for r in risk["refusals"]:
        assert r["records"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'response' "
                                        "AND outcome = ?", [*P, r["outcome"]]), r["outcome"]
        assert r["records"] > 0, f"scenario should contain {r['outcome']}"
    for key, cat in (("injection", "PROMPT_INJECTION"), ("secrets", "SECRET"), ("phi", "PHI")):
        assert risk[key]["decisions"] == one(
            con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' AND list_contains(categories, ?)",
            [*P, cat]), cat
        assert risk[key]["decisions"] > 0
    assert [(c["policy_id"], c["from_version"], c["to_version"]) for c in risk["policy_changes"]] == [("default", 1, 2)]
    first_v2 = one(con, f"SELECT min(seq) FROM records WHERE {WHERE} AND policy_id = 'default' AND policy_version = 2")
    assert risk["policy_changes"][0]["first_seq_after"] == first_v2
    assert [(c["route_id"], c["from_model"], c["to_model"]) for c in risk["model_changes"]] == \
        [("underwriting", "uw-llm-1", "uw-llm-2")]


def test_monitoring_and_attribution_equal_direct_queries(a12: dict[str, Any], con: Any) -> None:
    for r in a12["monitoring"]["by_route"]:
        for outcome in ("allow", "redact", "block"):
            assert r[outcome] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND route_id = ? "
                                          "AND kind = 'decision' AND outcome = ?", [*P, r["route_id"], outcome])
        for outcome in ("forwarded", "refused-policy", "refused-timeout", "refused-unavailable", "upstream-error"):
            assert r[outcome] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND route_id = ? "
                                          "AND kind = 'response' AND outcome = ?", [*P, r["route_id"], outcome])
        assert r["total_tokens"] == one(con, f"SELECT coalesce(sum(total_tokens), 0) FROM records WHERE {WHERE} "
                                             "AND route_id = ?", [*P, r["route_id"]])
    buckets = a12["monitoring"]["timeline"]["buckets"]
    assert a12["monitoring"]["timeline"]["unit"] == "day" and len(buckets) == 31
    for b in buckets:
        day = dt.date.fromisoformat(b["bucket"])
        lo = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000
        assert b["decisions"] == one(con, "SELECT count(*) FROM records WHERE kind = 'decision' AND "
                                          "recorded_at_us >= ? AND recorded_at_us < ?", [lo, lo + 86_400_000_000])
    assert sum(b["records"] for b in buckets) == a12["coverage"]["records"]
    rows = a12["attribution"]["rows"]
    assert sum(r["decisions"] for r in rows) == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision'")
    for r in rows:
        assert r["block"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND person = ? AND route_id = ? "
                                      "AND kind = 'decision' AND outcome = 'block'", [*P, r["person"], r["route_id"]])
    op = a12["operation"]
    assert op["unavailable"]["records"] == sum(e["records"] for e in op["outages"]["episodes"]) == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND outcome = 'refused-unavailable'")
    ov = op["oversight"]
    assert ov["overrides"]["count"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'governance' AND outcome = 'override'") == 1
    o = ov["overrides"]["listed"][0]
    assert o["by"] == "rita" and o["decision_id"] and o["allow_until"] and o["event_id"] == "gov_override0"
    assert ov["allowed_by_override"]["decisions"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' AND outcome = 'allow' "
             "AND json_extract_string(metadata, '$.\"lg.override_id\"') = 'gov_override0'") == 1
    assert ov["suspensions"]["count"] == ov["suspensions"]["resumptions"] == 1
    assert [s["action"] for s in ov["suspensions"]["listed"]] == ["route.suspend", "route.resume"]
    assert ov["notifications"]["count"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'governance' AND outcome = 'incident.notify'")
    assert all(n["back_dated"] for n in ov["notifications"]["listed"])
    gate = a12["recording"]["gate_refusals"]
    for outcome, n in gate["by_outcome"].items():
        assert n == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'response' AND outcome = ?",
                        [*P, outcome])
    assert gate["by_outcome"]["refused-auth"] == 2 and gate["records"] == 4


def test_every_figure_names_a_footnoted_query(a12: dict[str, Any]) -> None:
    ids = {q["id"] for q in a12["queries"]}

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "q" or k.startswith("q_"):
                    assert x is None or x in ids, (k, x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(a12)
    # footnoted SQL reproduces the figure it stands for
    q1 = next(q for q in a12["queries"] if q["id"] == a12["coverage"]["q"])
    assert "count(*)" in q1["sql"] and q1["params"] == P


def test_ll202604_counts_equal_direct_queries(ll: dict[str, Any], con: Any) -> None:
    for r in ll["inventory"]["rows"]:
        # requests refused at the gate used no AI: they are counted in Article 12's gate refusals instead
        assert r["requests"] == one(con, f"SELECT count(DISTINCT request_id) FROM records WHERE {WHERE} "
                                         "AND route_id = ? "
                                         "AND kind IN ('decision', 'response') AND outcome NOT LIKE 'refused-%' "
                                         "OR (outcome IN ('refused-policy', 'refused-timeout', 'refused-unavailable') "
                                         f"AND {WHERE} AND route_id = ?)", [*P, r["route_id"], *P, r["route_id"]])
    assert {r["route_id"] for r in ll["inventory"]["rows"]} == {"assistant", "telemetry", "underwriting"}
    uw = next(r for r in ll["inventory"]["rows"] if r["route_id"] == "underwriting")
    assert uw["vendor"] == "in-house MLflow <Gateway>" and uw["models"] == ["uw-llm-1", "uw-llm-2"]
    sec = ll["security"]
    assert sec["injection"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' "
                                        "AND list_contains(categories, 'PROMPT_INJECTION')")
    assert sec["secrets_blocked"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' "
                                              "AND list_contains(categories, 'SECRET') AND outcome = 'block'")
    det = sec["detections"]
    assert det["total"] == sec["events"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind = 'decision' AND "
             "(list_contains(categories, 'PROMPT_INJECTION') OR list_contains(categories, 'SECRET'))")
    concerned = {int(r[0]) for r in con.execute(
        "SELECT json_extract_string(metadata, '$.concerns') FROM records WHERE outcome = 'incident.open'").fetchall()}
    by_seq = {d["seq"]: d for d in det["listed"]}
    # a blocked prompt nobody triaged is a detection, not an incident
    untriaged = [d for s, d in by_seq.items() if s not in concerned]
    assert untriaged and all(d["triage_label"] == "detection, not triaged" for d in untriaged)
    assert det["by_state"]["not-triaged"]["records"] == len(untriaged)
    assert det["by_state"]["incident"]["records"] == 4 and det["by_state"]["not-incident"]["records"] == 1
    inc = sec["incidents"]
    assert [i["clock"] for i in inc["listed"]] == ["missed", "met", "not applicable", "missed", "open"]
    assert [i["hours_to_notice"] for i in inc["listed"][:2]] == [40.0, 10.0]
    assert (inc["met"], inc["missed"], inc["open"], inc["not_incidents"]) == (1, 2, 1, 1)
    assert inc["count"] == one(con, "SELECT count(DISTINCT json_extract_string(metadata, '$.incident_id')) "
                                    "FROM records WHERE kind = 'governance' AND outcome LIKE 'incident.%'", [])
    loans = ll["loans"]
    assert loans["loans"] == one(con, f"SELECT count(DISTINCT json_extract_string(metadata, '$.loan_id')) FROM records "
                                      f"WHERE {WHERE} AND kind IN ('decision', 'response')")
    for row in loans["rows"]:
        assert row["records"] == one(con, f"SELECT count(*) FROM records WHERE {WHERE} "
                                          "AND kind IN ('decision', 'response') "
                                          "AND json_extract_string(metadata, '$.loan_id') = ?", [*P, row["loan"]])
        assert row["seqs"] == sorted(row["seqs"]) and row["seqs"][0] == row["seq_first"]
    assert loans["records_with_loan"] + loans["records_without_loan"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND kind IN ('decision', 'response')")
    by_id = {b["id"]: b for b in ll["safeguards"]["bundles"]}
    assert by_id["underwriting"]["review_overdue"] is True   # reviewed 2025-05-01, > 12 months before NOW
    assert by_id["default"]["review_overdue"] is False
    assert ll["safeguards"]["overdue"] == 1


def test_tenant_and_route_scope(ledger: Ledger, con: Any) -> None:
    with ledger.query() as q:
        f = gather_article12(q, OCTOBER, ledger.context, tenant="globex", route="underwriting",
                             integrity=ledger.verify(), now=NOW)
    assert f["coverage"]["records"] == one(
        con, f"SELECT count(*) FROM records WHERE {WHERE} AND tenant = 'globex' AND route_id = 'underwriting'")
    assert {r["person"] for r in f["attribution"]["rows"]} == {"carol"}
    assert [r["id"] for r in f["identity"]["routes"]] == ["underwriting"]


# --------------------------------------------------------------------------- integrity


def test_tampered_ledger_is_reported(ledger: Ledger, tmp_path: Path) -> None:
    copy = Ledger(tmp_path / "tampered.duckdb", ledger.keydir, ledger.settings)
    shutil.copy(ledger.path, copy.path)
    c = duckdb.connect(str(copy.path))
    seq = c.execute("SELECT min(seq) FROM records WHERE kind = 'decision' AND outcome = 'block' "
                    f"AND {WHERE}", P).fetchone()[0]
    # someone hides a block by editing the query column: the signed payload disagrees
    c.execute("UPDATE records SET outcome = 'allow' WHERE seq = ?", [seq])
    c.close()
    integrity = copy.verify()
    assert integrity["ok"] is False and integrity["problems"]
    with copy.query() as q:
        facts = gather_article12(q, OCTOBER, copy.context, integrity=integrity, now=NOW)
    assert facts["coverage"]["integrity"]["ok"] is False
    html = render("article12", facts, "html").decode()
    assert "VERIFICATION FAILED" in html and "changed-field" in html and f"seq {seq}" in html
    md = render("article12", facts, "md").decode()
    assert "VERIFICATION FAILED" in md
    data = json.loads(render("article12", facts, "json"))
    assert data["coverage"]["integrity"]["problems"][0]["kind"] == "changed-field"


def test_unverified_report_says_so(ledger: Ledger, q: DuckDBQuery) -> None:
    facts = gather_article12(q, OCTOBER, ledger.context, integrity=None, now=NOW)
    assert facts["coverage"]["integrity"]["verified"] is False
    assert "NOT VERIFIED" in render("article12", facts, "html").decode()


def test_flag_ok_with_problems_is_not_ok(ledger: Ledger, q: DuckDBQuery) -> None:
    facts = gather_article12(q, OCTOBER, ledger.context, now=NOW,
                             integrity={"ok": True, "problems": ["seq 3: bad signature"],
                                        "checked_records": 10, "checkpoints": 1})
    assert facts["coverage"]["integrity"]["ok"] is False


def test_pruned_ranges_and_legal_holds_are_reported(tmp_path: Path) -> None:
    led = build_ledger(tmp_path)
    con = connect(str(led.path))
    w = LedgerWriter(con, lkeys.load_dir(led.keydir), ledger_id=LEDGER_ID)
    w.add_hold(LegalHold(tenant="globex", reason="litigation hold 2026-17"), now=OCTOBER.start_us)
    pruned = w.prune(OCTOBER.start_us, reason="retention 400 days", now=OCTOBER.start_us + 1)
    con.close()
    assert pruned
    integrity = led.verify()
    assert integrity["ok"] is True  # pruning is informational, not a problem
    with led.query() as q:
        f = gather_article12(q, OCTOBER, led.context, integrity=integrity, now=NOW)
    ret = f["retention"]
    assert [(p["from_seq"], p["to_seq"]) for p in ret["pruned"]] == [(p.from_seq, p.to_seq) for p in pruned]
    assert ret["legal_holds"]["rows"] and "litigation hold 2026-17" in ret["legal_holds"]["rows"][0]
    html = render("article12", f, "html").decode()
    assert "litigation hold 2026-17" in html and "retention 400 days" in html


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", ["article12", "ll-2026-04"])
def test_empty_period_attests_no_activity(kind: str, ledger: Ledger, q: DuckDBQuery) -> None:
    gather = gather_article12 if kind == "article12" else gather_ll202604
    f = gather(q, Period.parse("2027-01-01", "2027-01-31"), ledger.context, integrity=ledger.verify(), now=NOW)
    assert f["activity"]["empty"] is True
    assert f["activity"]["statement"].startswith("No activity: the ledger holds no records between 2027-01-01")
    assert f["coverage"]["records"] == 0 and f["coverage"]["integrity"]["ok"] is True
    for fmt in ("html", "md"):
        assert "No activity" in render(kind, f, fmt).decode()


def test_unknown_tenant_and_route_are_errors(ledger: Ledger, q: DuckDBQuery) -> None:
    with pytest.raises(ReportError, match=r"unknown tenant 'globx'.*known tenants: acme, globex, initech"):
        gather_article12(q, OCTOBER, ledger.context, tenant="globx", now=NOW)
    with pytest.raises(ReportError, match=r"unknown route 'underwritng'.*assistant, telemetry, underwriting"):
        gather_ll202604(q, OCTOBER, ledger.context, route="underwritng", now=NOW)


def test_known_tenant_without_records_in_period(ledger: Ledger, q: DuckDBQuery) -> None:
    f = gather_article12(q, Period.parse("2027-01-01", "2027-01-02"), ledger.context, tenant="globex", now=NOW)
    assert "no records for tenant 'globex'" in f["activity"]["statement"]


@pytest.mark.parametrize("start, end, message", [
    ("2026-10-31", "2026-10-01", "period from 2026-10-31 is after to 2026-10-01"),
    ("2026-13-01", "2026-10-01", "period from '2026-13-01' is not a date"),
    ("yesterday", "2026-10-01", "expected YYYY-MM-DD"),
])
def test_bad_dates(start: str, end: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        Period.parse(start, end)


def test_naive_now_is_an_error(ledger: Ledger, q: DuckDBQuery) -> None:
    with pytest.raises(ReportError, match="has no time zone"):
        gather_article12(q, OCTOBER, ledger.context, now=dt.datetime(2026, 11, 1))


def test_formats_by_extension() -> None:
    assert [format_for_path(p) for p in ("a.html", "b.MD", "c.json", "d.htm")] == ["html", "md", "json", "html"]
    with pytest.raises(ReportError, match=r"'report\.pdf'.*'\.pdf'.*\.html.*\.json.*\.md"):
        format_for_path("report.pdf")
    with pytest.raises(ReportError, match="unknown report format 'pdf'"):
        render("article12", {"kind": "article12"}, "pdf")


def test_missing_ledger_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="does not exist"):
        DuckDBQuery.open(tmp_path / "nope.duckdb")


def test_registry() -> None:
    assert {"article12", "ll-2026-04"} <= set(registry.names())
    with pytest.raises(ReportError, match="already registered"):
        registry.register("article12", lambda: registry.get("article12"))
    with pytest.raises(ReportError, match="unknown report kind 'article13'"):
        registry.get("article13")
    registry.register("test-kind", lambda: registry.SimpleKind("test-kind", "T", gather_article12, {}))
    try:
        assert registry.get("test-kind").name == "test-kind"
    finally:
        registry.unregister("test-kind")


def test_render_rejects_mismatched_facts(a12: dict[str, Any]) -> None:
    with pytest.raises(ReportError, match="facts are of report kind 'article12', not 'll-2026-04'"):
        render("ll-2026-04", a12, "html")


# --------------------------------------------------------------------------- rendering


def test_json_is_deterministic_and_hash_matches(a12: dict[str, Any]) -> None:
    data, digest = render_to("article12", a12, "out.json")
    assert render("article12", a12, "json") == data
    import hashlib
    assert hashlib.sha256(data).hexdigest() == digest


def test_html_is_self_contained_and_escaped(a12: dict[str, Any], ll: dict[str, Any]) -> None:
    for kind, f in (("article12", a12), ("ll-2026-04", ll)):
        html = render(kind, f, "html").decode()
        assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html and "<link" not in html and "@import" not in html
        assert "Acme Lending &lt;Ops&gt; &amp; Co" in html and "<Ops>" not in html
    a = render("article12", a12, "html").decode()
    assert a.count("<svg") == 3 and "@media print" in a
    assert "Regulation (EU) 2024/1689 (AI Act)" in a and "2027-12-02" in a
    for provision in ("Art. 12(1)", "Art. 12(2)(a)", "Art. 12(2)(b), Art. 72", "Art. 12(2)(c), Art. 26(5)",
                      "Art. 19(1), Art. 26(6)", "ledgergate verify --bundle BUNDLE"):
        assert provision in a
    l = render("ll-2026-04", ll, "html").decode()
    assert "does not certify compliance" in l and "A2-4.1-01" in l and "OVERDUE" in l


def test_markdown_renders(a12: dict[str, Any], ll: dict[str, Any]) -> None:
    md = render("article12", a12, "md").decode()
    assert md.startswith("# Record-keeping report (Article 12)")
    assert "| `underwriting` |" in md and "rita overrode" in md and "INTERNALLY CONSISTENT" in md
    assert "## 8. Retention" in md
    lmd = render("ll-2026-04", ll, "md").decode()
    assert "## 5. AI usage per loan" in lmd and "LN-1002" in lmd
    assert "`SELECT count(*), min(seq)" in lmd and "&#39;" not in lmd.split("## Appendix")[1]


def test_progress_callback(ledger: Ledger, q: DuckDBQuery) -> None:
    seen: list[tuple[str, float]] = []
    gather_article12(q, OCTOBER, ledger.context, now=NOW, progress=lambda s, x: seen.append((s, x)))
    fractions = [x for _, x in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert seen[-1][0] == "done"


def test_long_period_uses_weekly_buckets(ledger: Ledger, q: DuckDBQuery) -> None:
    f = gather_article12(q, Period.parse("2026-09-01", "2026-12-31"), ledger.context, now=NOW)
    tl = f["monitoring"]["timeline"]
    assert tl["unit"] == "week"
    assert all(dt.date.fromisoformat(b["bucket"]).weekday() == 0 for b in tl["buckets"])
    assert sum(b["records"] for b in tl["buckets"]) == f["coverage"]["records"]


def test_badge_states_what_verification_establishes(ledger: Ledger, q: DuckDBQuery) -> None:
    """Without an outside anchor the badge claims internal consistency only; with one, it says so."""
    base = ledger.verify()
    f = gather_article12(q, OCTOBER, ledger.context, integrity=base, now=NOW)
    html = render("article12", f, "html").decode()
    assert "INTERNALLY CONSISTENT" in html and "VERIFIED: no problems" not in html
    assert "rolled back to an earlier state verifies the same" in f["coverage"]["integrity"]["establishes"]
    anchored = {**base, "assurance": {
        "trusted_checkpoint": {"tree_size": 10, "consistent": True, "proven_to": 12},
        "establishes": ["The ledger is consistent with the auditor's checkpoint of size 10."],
        "does_not_establish": ["That events after the checkpoint are complete."]}}
    f = gather_article12(q, OCTOBER, ledger.context, integrity=anchored, now=NOW)
    i = f["coverage"]["integrity"]
    assert i["trusted"]["kind"] == "trusted_checkpoint"
    assert i["establishes"] == ("The ledger is consistent with the auditor's checkpoint of size 10. "
                                "It does not establish: That events after the checkpoint are complete.")
    assert "VERIFIED against an external checkpoint" in render("article12", f, "html").decode()
