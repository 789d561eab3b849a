"""`ingest mlflow` end to end: a real MLflow server, real traces, the real broker."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ledgergate.broker import free_port
from ledgergate.config import Settings
from ledgergate.ingest import (
    IngestConfigError,
    MlflowConfig,
    SourceError,
    run_ingest,
)

from ingest_testkit import MlflowData, consume_requests

CFG = MlflowConfig(route_id="telemetry", roles=("data-scientist",), copy_tags=("loan_id",))


def _spans(uri: str, trace_id: str) -> dict[str, tuple[str, int]]:
    """span name → (hex span id, start µs), read back from the server."""
    from mlflow import MlflowClient

    t = MlflowClient(uri).get_trace(trace_id)
    return {s.name: (s.span_id, s.start_time_ns // 1000) for s in t.data.spans}


def expected_events(d: MlflowData) -> dict[str, dict[str, Any]]:
    """The exact request events the four traces must produce, by request id."""
    def ev(trace_id: str, span: str, person: str, tenant: str, endpoint: str, parts: list[dict[str, Any]],
           model: str | None, run_id: str | None, extra: dict[str, str]) -> dict[str, Any]:
        span_id, start_us = _spans(d.uri, trace_id)[span]
        meta = {"mlflow.trace_id": trace_id, "mlflow.span_id": span_id, "mlflow.span_name": span,
                "mlflow.experiment_id": d.experiment_id, "mlflow.experiment_name": d.experiment, **extra}
        if run_id:
            meta["mlflow.run_id"] = run_id
        return {
            "request_id": f"mlflow:{trace_id}:{span_id}", "received_at_us": start_us, "source": "mlflow",
            "principal": {"person": person, "tenant": tenant, "roles": ["data-scientist"],
                          "auth_method": "mlflow"},
            "route_id": "telemetry", "mode": "observe", "upstream_id": None, "model": model,
            "endpoint": endpoint, "parts": parts, "reply_to": None, "policy_id": None,
            "metadata": meta, "proxy_id": None, "submitted_by": None,
        }

    evs = [
        ev(d.trace_chat, "chat", "alice", "acme", "chat.completions", [
            {"path": "/messages/0/content", "role": "system", "text": "You are a loan assistant."},
            {"path": "/messages/1/content", "role": "user", "text": "Summarise the file of John Smith."}],
           "gpt-test", d.alice_run, {"loan_id": "L-1"}),
        ev(d.trace_chain, "complete", "alice", "acme", "completions", [
            {"path": "/prompt", "role": None, "text": "Draft a reply to jane@example.com"}],
           "gpt-test", d.alice_run, {"loan_id": "L-1"}),
        ev(d.trace_parts, "vision", "bob", "default", "chat.completions", [
            {"path": "/messages/0/content/0/text", "role": "user", "text": "Describe this"}],
           None, d.bob_run, {}),
        ev(d.trace_norun, "bare", "carol", "globex", "completions", [
            {"path": "/prompt", "role": None, "text": "What is the capital of France?"}],
           None, None, {}),
    ]
    return {e["request_id"]: e for e in evs}


def _by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    ids = [e["request_id"] for e in events]
    assert len(ids) == len(set(ids)), f"duplicate events on the topic: {ids}"
    return {e["request_id"]: e for e in events}


# --------------------------------------------------------------------------- live server

def test_live_ingest_publishes_exact_events_and_rerun_sends_nothing(
        mlflow_data: MlflowData, settings: Settings, tmp_path: Path) -> None:
    state = tmp_path / "state"
    s1 = run_ingest(settings, tracking_uri=mlflow_data.uri, experiments=[mlflow_data.experiment],
                    state_dir=state, progress=False, config=CFG)
    assert s1.problems == []
    assert (s1.runs, s1.traces, s1.llm_spans, s1.events, s1.sent, s1.already_ingested) == (2, 4, 4, 4, 4, 0)
    assert _by_id(consume_requests(settings)) == expected_events(mlflow_data)

    s2 = run_ingest(settings, tracking_uri=mlflow_data.uri, experiments=[mlflow_data.experiment],
                    state_dir=state, progress=False, config=CFG)
    assert (s2.traces, s2.sent, s2.already_ingested, s2.problems) == (4, 0, 4, [])
    assert len(consume_requests(settings, idle_s=1.5)) == 4
    assert "4 traces" in s2.lines()[-1] and "0 sent" in s2.lines()[-1]


def test_live_ingest_is_incremental(mlflow_server: str, settings: Settings, tmp_path: Path) -> None:
    import mlflow
    from mlflow.entities import SpanType

    mlflow.set_tracking_uri(mlflow_server)
    exp_id = mlflow.create_experiment(f"lg-incr-{uuid.uuid4().hex[:8]}")

    def traced(text: str) -> None:
        with mlflow.start_run(experiment_id=exp_id, tags={"mlflow.user": "dora"}):
            with mlflow.start_span(name="chat", span_type=SpanType.CHAT_MODEL) as s:
                s.set_inputs({"messages": [{"role": "user", "content": text}]})

    traced("first prompt")
    state = tmp_path / "state"
    s1 = run_ingest(settings, tracking_uri=mlflow_server, experiments=[exp_id], state_dir=state,
                    progress=False, config=CFG)
    assert (s1.sent, s1.problems) == (1, [])
    traced("second prompt")
    s2 = run_ingest(settings, tracking_uri=mlflow_server, experiments=[exp_id], state_dir=state,
                    progress=False, config=CFG)
    assert (s2.sent, s2.already_ingested) == (1, 1)
    events = consume_requests(settings)
    assert sorted(e["parts"][0]["text"] for e in events) == ["first prompt", "second prompt"]
    assert {e["principal"]["person"] for e in events} == {"dora"}


def test_unreachable_tracking_server_fails_fast(settings: Settings, tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    t0 = time.monotonic()
    with pytest.raises(SourceError, match=r"cannot reach the MLflow tracking server.*--tracking-uri"):
        run_ingest(settings, tracking_uri=uri, state_dir=tmp_path, progress=False, config=CFG)
    assert time.monotonic() - t0 < 15


def test_unknown_experiment_is_named(mlflow_server: str, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no experiment 'no-such-exp'"):
        run_ingest(settings, tracking_uri=mlflow_server, experiments=["no-such-exp"], state_dir=tmp_path,
                   progress=False, config=CFG)


# --------------------------------------------------------------------------- export directory

def _write(p: Path, doc: Any) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1), "utf-8")


def build_export(d: MlflowData, root: Path) -> Path:
    """An export directory in mlflow-export-import's layout, from the live server.

    Runs as export-import run.json; the chat trace as export-import trace.json
    (span skeletons) + its traces.json span artifact; the others as
    ``Trace.to_json()`` files.
    """
    from mlflow import MlflowClient

    c = MlflowClient(d.uri)
    exp_dir = root / "experiments" / d.experiment_id
    _write(exp_dir / "experiment.json", {"system": {"script": "export_experiment.py"}, "mlflow": {
        "experiment": {"experiment_id": d.experiment_id, "name": d.experiment},
        "runs": [d.alice_run, d.bob_run]}})
    for run_id in (d.alice_run, d.bob_run):
        r = c.get_run(run_id).to_dictionary()
        _write(exp_dir / "runs" / run_id / "run.json", {"system": {"mlflow_version": "3"}, "mlflow": {
            "info": r["info"], "params": r["data"]["params"],
            "metrics": {k: [{"value": v, "timestamp": 0, "step": 0}] for k, v in r["data"]["metrics"].items()},
            "tags": r["data"]["tags"]}})
    for tid in (d.trace_chain, d.trace_parts, d.trace_norun):
        _write(exp_dir / "traces" / f"{tid}.json", c.get_trace(tid).to_json(pretty=True))
    chat = c.get_trace(d.trace_chat).to_dict()
    skeleton = [{"name": s["name"], "trace_id": s["trace_id"], "span_id": s["span_id"],
                 "parent_id": s["parent_span_id"]} for s in chat["data"]["spans"]]
    _write(exp_dir / "traces" / d.trace_chat / "trace.json",
           {"system": {"script": "export_trace.py"}, "mlflow": {"info": chat["info"], "data": skeleton}})
    _write(exp_dir / "traces" / d.trace_chat / "traces.json", {"spans": chat["data"]["spans"]})
    return root


def test_export_dir_ingests_like_the_live_server_and_reports_bad_items(
        mlflow_data: MlflowData, settings: Settings, tmp_path: Path) -> None:
    root = build_export(mlflow_data, tmp_path / "export")
    exp_dir = root / "experiments" / mlflow_data.experiment_id
    broken = exp_dir / "traces" / "broken.json"
    _write(broken, '{"info": {"trace_id": "tr-broken"')            # truncated file
    no_id = exp_dir / "runs" / "deadbeef" / "run.json"
    _write(no_id, {"mlflow": {"info": {"experiment_id": mlflow_data.experiment_id}, "tags": {}}})
    partial = exp_dir / "traces" / "tr-partial" / "trace.json"     # skeleton, artifact missing
    _write(partial, {"mlflow": {"info": {"trace_id": "tr-partial", "request_time": 0},
                                "data": [{"name": "chat", "span_id": "00000000000000aa"}]}})
    # a run artifact that happens to be JSON is not mistaken for a trace
    _write(exp_dir / "runs" / mlflow_data.alice_run / "artifacts" / "traces" / "x.json", "not json")

    seen: list[str] = []
    s = run_ingest(settings, export_dir=root, state_dir=tmp_path / "state", progress=False, config=CFG,
                   on_problem=lambda p: seen.append(p.line()))
    problems = {p.where: p.message for p in s.problems}
    assert set(problems) == {str(broken), str(no_id), str(partial)}
    assert "not valid JSON" in problems[str(broken)]
    assert 'no "info.run_id"' in problems[str(no_id)]
    assert "only span names" in problems[str(partial)] and "--tracking-uri" in problems[str(partial)]
    assert seen == [p.line() for p in s.problems]
    assert sum(line.startswith("problem: ") for line in s.lines()) == 3
    assert (s.runs, s.traces, s.sent) == (2, 5, 4)
    assert _by_id(consume_requests(settings)) == expected_events(mlflow_data)

    again = run_ingest(settings, export_dir=root, state_dir=tmp_path / "state", progress=False, config=CFG)
    assert (again.sent, again.already_ingested) == (0, 4)


def test_export_dir_since_and_experiment_filter(mlflow_data: MlflowData, settings: Settings,
                                                tmp_path: Path) -> None:
    root = build_export(mlflow_data, tmp_path / "export")
    want = expected_events(mlflow_data)
    latest = max(e["received_at_us"] for e in want.values())
    # progress on: the bar goes to stderr and must not disturb the ingest
    s = run_ingest(settings, export_dir=root, since_us=latest, state_dir=tmp_path / "s1", progress=True,
                   config=CFG)
    assert (s.sent, s.before_since, s.problems) == (1, 3, [])
    none = run_ingest(settings, export_dir=root, experiments=["other-experiment"],
                      state_dir=tmp_path / "s2", progress=False, config=CFG)
    assert (none.traces, none.sent) == (0, 0)
    [ev] = consume_requests(settings)
    assert ev["received_at_us"] == latest and ev == want[ev["request_id"]]


def test_export_dir_missing_is_an_error_naming_it(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"export directory '.*nowhere' does not exist"):
        run_ingest(settings, export_dir=tmp_path / "nowhere", state_dir=tmp_path, progress=False,
                   config=CFG)


def test_config_errors(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(IngestConfigError, match=r"both --tracking-uri"):
        run_ingest(settings, tracking_uri="http://x", export_dir=tmp_path, state_dir=tmp_path,
                   progress=False, config=CFG)
    with pytest.raises(IngestConfigError, match=r"no MLflow source"):
        run_ingest(settings, state_dir=tmp_path, progress=False, config=CFG)
    with pytest.raises(IngestConfigError, match=r"mlflow.route_id 'nope' is not a route.*telemetry"):
        run_ingest(settings, export_dir=tmp_path, state_dir=tmp_path, progress=False,
                   config=MlflowConfig(route_id="nope"))
    # a policy hint makes an unconfigured route acceptable
    s = run_ingest(settings, export_dir=tmp_path, state_dir=tmp_path / "s", progress=False,
                   config=MlflowConfig(route_id="nope", policy_id="default"))
    assert s.sent == 0


def test_state_dir_not_writable(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from ledgergate.ingest import StateError

    with pytest.raises(StateError, match=r"cannot open the ingest state"):
        run_ingest(settings, export_dir=tmp_path, state_dir=blocker / "sub", progress=False, config=CFG)
    shutil.rmtree(tmp_path / "sub", ignore_errors=True)


def test_a_flat_folder_of_trace_dumps_is_ingested_and_the_rest_counted(
        mlflow_data: MlflowData, settings: Settings, tmp_path: Path) -> None:
    """Trace.to_json() files anywhere (here: side by side, no traces/ folder); every
    other file is counted with the reason it was not read."""
    from mlflow import MlflowClient

    c = MlflowClient(mlflow_data.uri)
    flat = tmp_path / "dumps"
    for tid in (mlflow_data.trace_chain, mlflow_data.trace_parts):
        _write(flat / f"{tid}.json", c.get_trace(tid).to_json(pretty=True))
    _write(flat / "nested" / "deeper" / "third.json", c.get_trace(mlflow_data.trace_norun).to_json())
    _write(flat / "notes.txt", "not a trace")
    _write(flat / "settings.json", {"theme": "dark"})
    _write(flat / "half.json", '{"info": ')
    s = run_ingest(settings, export_dir=flat, state_dir=tmp_path / "state", progress=False, config=CFG)
    assert s.ok and s.traces == 3 and s.sent == s.events > 0
    assert s.skipped == {"not a .json file": 1, "not readable JSON": 1,
                         "JSON that is not an MLflow trace, run or experiment": 1}
    assert s.lines()[-1] == ("skipped 3 files in the export directory: 1 JSON that is not an MLflow "
                             "trace, run or experiment; 1 not a .json file; 1 not readable JSON")
