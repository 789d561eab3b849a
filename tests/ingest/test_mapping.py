"""The pure mapping: run/trace JSON shapes → request events (no server, no broker)."""

from __future__ import annotations

import pytest

from ledgergate.ingest import ItemError, MlflowConfig
from ledgergate.ingest.mapping import (
    parse_run,
    parse_trace,
    prompt_parts,
    span_id_hex,
    trace_events,
    validate_event,
)

CFG = MlflowConfig(route_id="telemetry")


def test_span_ids_in_every_encoding() -> None:
    assert span_id_hex("rRecDTQEaGY=") == "ad179c0d34046866"       # OTel JSON (base64)
    assert span_id_hex("0xAD179C0D34046866") == "ad179c0d34046866"  # MLflow 2 context
    assert span_id_hex("ad179c0d34046866") == "ad179c0d34046866"
    assert span_id_hex("") is None


@pytest.mark.parametrize("inputs, endpoint, parts", [
    ("hi", "completions", [{"path": "", "role": None, "text": "hi"}]),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]},
     "chat.completions", [{"path": "/messages/0/content", "role": "user", "text": "a"}]),
    # LangChain chat model: a list of message lists, message "type" instead of "role"
    ([[{"type": "system", "content": "s"}, {"type": "human", "content": "u"}]], "chat.completions",
     [{"path": "/0/0/content", "role": "system", "text": "s"},
      {"path": "/0/1/content", "role": "user", "text": "u"}]),
    # OpenAI Responses API
    ({"input": [{"role": "user", "content": [{"type": "input_text", "text": "r"}]}]}, "chat.completions",
     [{"path": "/input/0/content/0/text", "role": "user", "text": "r"}]),
    ({"prompts": ["p1", "p2"]}, "completions",
     [{"path": "/prompts/0", "role": None, "text": "p1"}, {"path": "/prompts/1", "role": None, "text": "p2"}]),
    ({"query": "q"}, "completions", [{"path": "/query", "role": None, "text": "q"}]),
    ({"temperature": 0.1}, "completions", []),
    (None, "completions", []),
])
def test_prompt_parts(inputs: object, endpoint: str, parts: list[dict[str, object]]) -> None:
    assert prompt_parts(inputs) == (endpoint, parts)


def test_parse_run_shapes() -> None:
    export_import = {"mlflow": {"info": {"run_id": "r1", "experiment_id": "2", "user_id": "andre",
                                         "start_time": 5},
                                "params": {"model": "m"},
                                "metrics": {"acc": [{"value": 0.5, "step": 0, "timestamp": 1},
                                                    {"value": 0.7, "step": 1, "timestamp": 2}]},
                                "tags": {"mlflow.user": "andre", "tenant": "acme"}}}
    run = parse_run(export_import, "run.json")
    assert (run.run_id, run.experiment_id, run.user, run.metrics, run.params) == (
        "r1", "2", "andre", {"acc": 0.7}, {"model": "m"})
    rest = {"run": {"info": {"run_uuid": "r2", "experiment_id": "3", "user_id": "u"},
                    "data": {"tags": [{"key": "mlflow.user", "value": "bea"}],
                             "metrics": [{"key": "loss", "value": 1.5}]}}}
    run = parse_run(rest, "rest")
    assert (run.run_id, run.user, run.metrics) == ("r2", "bea", {"loss": 1.5})
    with pytest.raises(ItemError, match=r"^x.json: the run document is list, expected a JSON object"):
        parse_run([], "x.json")


def test_trace_with_unreadable_llm_span_reports_it_and_keeps_the_rest() -> None:
    doc = {"info": {"trace_id": "tr-1", "request_time": "2026-10-01T00:00:00Z",
                    "trace_location": {"mlflow_experiment": {"experiment_id": "7"}},
                    "trace_metadata": {"mlflow.trace.user": "eve"}},
           "data": {"spans": [
               {"span_id": "00000000000000a1", "name": "ok", "start_time_unix_nano": 2_000,
                "attributes": {"mlflow.spanType": '"LLM"', "mlflow.spanInputs": '{"prompt": "hello"}'}},
               {"span_id": "00000000000000a2", "name": "odd", "start_time_unix_nano": 3_000,
                "attributes": {"mlflow.spanType": '"LLM"', "mlflow.spanInputs": '{"tokens": [1, 2]}'}},
               {"span_id": "00000000000000a3", "name": "tool", "attributes": {"mlflow.spanType": '"TOOL"'}},
           ]}}
    mapped = trace_events(parse_trace(doc, "t.json"), None, CFG, where="t.json")
    assert mapped.llm_spans == 2
    [ev] = mapped.events
    assert ev["request_id"] == "mlflow:tr-1:00000000000000a1"
    assert (ev["received_at_us"], ev["principal"]["person"], ev["principal"]["tenant"]) == (2, "eve", "default")
    assert ev["metadata"]["mlflow.experiment_id"] == "7"
    assert validate_event(ev, "t.json")["source"] == "mlflow"
    [p] = mapped.problems
    assert p.where == "t.json" and "span 00000000000000a2" in p.message and "['tokens']" in p.message


def test_trace_without_spans_is_an_item_error() -> None:
    with pytest.raises(ItemError, match=r'trace tr-2 has no "data.spans" list'):
        parse_trace({"info": {"trace_id": "tr-2"}}, "t.json")
    with pytest.raises(ItemError, match=r'trace has no "info.trace_id"'):
        parse_trace({"info": {}, "data": {"spans": []}}, "t.json")


def test_parse_since() -> None:
    from ledgergate.ingest import IngestConfigError
    from ledgergate.ingest.mlflow import parse_since

    now = 1_790_000_000_000_000
    assert parse_since("2026-10-01", now) == 1_790_812_800_000_000
    assert parse_since("2026-10-01T01:00:00+01:00", now) == 1_790_812_800_000_000
    assert parse_since("24h", now) == now - 86_400_000_000
    assert parse_since("123", now) == 123
    with pytest.raises(IngestConfigError, match=r"--since 'yesterday' is not a time"):
        parse_since("yesterday", now)
