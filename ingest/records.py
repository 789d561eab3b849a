"""MLflow runs and traces as JSON → typed records (pure: no I/O, no mlflow import).

Both sources meet here: the live tracking server's ``Run.to_dictionary()`` /
``Trace.to_dict()`` and the files of an export directory go through the same
parsers, so the two paths cannot map the same trace differently.

Accepted shapes
---------------
Runs
    * mlflow-export-import ``run.json``: ``{"mlflow": {"info", "params", "metrics", "tags"}}``
      (metrics as ``{name: [{"value", "timestamp", "step"}]}``);
    * ``Run.to_dictionary()``: ``{"info", "data": {"params", "metrics", "tags"}}``;
    * the REST ``runs/get`` answer: ``{"run": {"info", "data": {"params": [{"key", "value"}], ...}}}``.
Traces
    * ``Trace.to_json()`` / ``to_dict()`` (trace schema v3): ``{"info": {"trace_id",
      "trace_location", "request_time", "trace_metadata", "tags"}, "data": {"spans": [...]}}``
      with OpenTelemetry-style spans whose attributes are JSON-encoded strings;
    * MLflow 2 (schema v2): ``info.request_id``, ``info.timestamp_ms``,
      ``info.request_metadata``; spans with ``context.span_id`` and ``start_time``;
    * mlflow-export-import ``trace.json``: ``{"mlflow": {"info", "data": [skeleton spans]}}``
      whose full spans come from the exported ``traces.json`` artifact (``sidecar_spans``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ItemError

_HEX_ID = re.compile(r"^(?:0x)?([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$")


@dataclass(frozen=True)
class RunRecord:
    """The parts of an MLflow run that attribute its traffic."""

    run_id: str
    experiment_id: str
    user: str | None
    run_name: str | None
    start_time_ms: int | None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SpanRecord:
    """One span, with its inputs decoded from JSON."""

    span_id: str
    name: str
    span_type: str | None
    inputs: Any
    start_us: int | None
    model: str | None


@dataclass(frozen=True)
class TraceRecord:
    """One trace: who/where it belongs and its spans."""

    trace_id: str
    experiment_id: str | None
    run_id: str | None
    timestamp_ms: int | None
    metadata: Mapping[str, str]
    tags: Mapping[str, str]
    spans: tuple[SpanRecord, ...]
    spans_complete: bool = True  # False: an export carried only span skeletons


# --------------------------------------------------------------------------- helpers

def _obj(v: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(v, Mapping):
        raise ItemError(where, f"{what} is {type(v).__name__}, expected a JSON object")
    return v


def _str_map(v: Any) -> dict[str, str]:
    """A {key: value} map from a dict or from MLflow's [{"key", "value"}] lists."""
    if isinstance(v, Mapping):
        return {str(k): "" if x is None else str(x) for k, x in v.items()}
    if isinstance(v, list):
        return {str(i["key"]): str(i.get("value", "")) for i in v
                if isinstance(i, Mapping) and "key" in i}
    return {}


def _metric_map(v: Any) -> dict[str, float]:
    """Latest value of each metric (export-import keeps the whole history)."""
    out: dict[str, float] = {}
    items: Iterable[tuple[Any, Any]]
    if isinstance(v, Mapping):
        items = v.items()
    elif isinstance(v, list):
        items = ((i.get("key"), i) for i in v if isinstance(i, Mapping))
    else:
        return out
    for k, x in items:
        if k is None:
            continue
        if isinstance(x, list):
            hist = [h for h in x if isinstance(h, Mapping) and isinstance(h.get("value"), (int, float))]
            if hist:
                last = max(hist, key=lambda h: (h.get("step") or 0, h.get("timestamp") or 0))
                out[str(k)] = float(last["value"])
        elif isinstance(x, Mapping) and isinstance(x.get("value"), (int, float)):
            out[str(k)] = float(x["value"])
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out[str(k)] = float(x)
    return out


def _json_attr(v: Any) -> Any:
    """Span attributes are JSON-encoded strings; older exports hold plain values."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _int_or_none(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    return None


def _time_ms(v: Any) -> int | None:
    """Epoch milliseconds from an int or an ISO-8601 string (trace schema v3)."""
    n = _int_or_none(v)
    if n is not None:
        return n
    if isinstance(v, str):
        try:
            t = dt.datetime.fromisoformat(v)
        except ValueError:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return int(t.timestamp() * 1000)
    return None


def span_id_hex(v: Any) -> str | None:
    """A span id as lowercase hex whether the JSON holds hex, 0x-hex or base64 bytes."""
    if not isinstance(v, str) or not v:
        return None
    m = _HEX_ID.match(v)
    if m:
        return m.group(1).lower()
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        return v  # unknown encoding: still deterministic, so still idempotent
    return raw.hex() if len(raw) in (8, 16) else v


# --------------------------------------------------------------------------- runs

def parse_run(doc: Any, where: str) -> RunRecord:
    """A :class:`RunRecord` from any accepted run JSON; raises ItemError if malformed."""
    root = _obj(doc, where, "the run document")
    if "mlflow" in root:  # mlflow-export-import
        body = _obj(root["mlflow"], where, '"mlflow"')
        info = _obj(body.get("info"), where, '"mlflow.info"')
        data: Mapping[str, Any] = body
    else:
        if "run" in root:  # REST runs/get
            root = _obj(root["run"], where, '"run"')
        info = _obj(root.get("info"), where, '"info"')
        data = _obj(root.get("data", {}), where, '"data"')
    run_id = info.get("run_id") or info.get("run_uuid")
    if not isinstance(run_id, str) or not run_id:
        raise ItemError(where, 'run has no "info.run_id": expected the 32-hex id MLflow assigns')
    exp = info.get("experiment_id")
    if exp is None or str(exp) == "":
        raise ItemError(where, f'run {run_id} has no "info.experiment_id"')
    tags = _str_map(data.get("tags"))
    # the tag is what `mlflow.start_run(tags={"mlflow.user": ...})` sets; user_id mirrors it
    user = tags.get("mlflow.user") or info.get("user_id") or None
    return RunRecord(
        run_id=run_id, experiment_id=str(exp), user=str(user) if user else None,
        run_name=info.get("run_name") or tags.get("mlflow.runName"),
        start_time_ms=_int_or_none(info.get("start_time")),
        tags=tags, params=_str_map(data.get("params")), metrics=_metric_map(data.get("metrics")),
    )


# --------------------------------------------------------------------------- traces

def _parse_span(s: Any, where: str, index: int) -> SpanRecord:
    span = _obj(s, where, f"span {index}")
    attrs_raw = span.get("attributes") or {}
    attrs = {k: _json_attr(v) for k, v in attrs_raw.items()} if isinstance(attrs_raw, Mapping) else {}
    ctx_raw = span.get("context")
    ctx: Mapping[str, Any] = ctx_raw if isinstance(ctx_raw, Mapping) else {}
    sid = span_id_hex(span.get("span_id") or ctx.get("span_id"))
    if sid is None:
        raise ItemError(where, f"span {index} has no span_id: expected span_id (hex or base64)")
    start_ns = _int_or_none(span.get("start_time_unix_nano"))
    if start_ns is None:
        start_ns = _int_or_none(span.get("start_time_ns") or span.get("start_time"))
    span_type = attrs.get("mlflow.spanType") or span.get("span_type")
    inputs = attrs["mlflow.spanInputs"] if "mlflow.spanInputs" in attrs else _json_attr(span.get("inputs"))
    model = attrs.get("mlflow.llm.model")
    if not isinstance(model, str) and isinstance(inputs, Mapping):
        model = inputs.get("model")
        invocation = inputs.get("invocation_params")  # LangChain puts it here
        if not isinstance(model, str) and isinstance(invocation, Mapping):
            model = invocation.get("model") or invocation.get("model_name")
    return SpanRecord(
        span_id=sid, name=str(span.get("name") or ""),
        span_type=str(span_type) if span_type else None, inputs=inputs,
        start_us=start_ns // 1000 if start_ns is not None else None,
        model=model if isinstance(model, str) else None,
    )


def parse_trace(doc: Any, where: str, *, sidecar_spans: Any = None) -> TraceRecord:
    """A :class:`TraceRecord` from any accepted trace JSON; raises ItemError if malformed.

    ``sidecar_spans`` is the parsed ``traces.json`` artifact that mlflow-export-import
    downloads next to its ``trace.json`` (which itself holds only span skeletons).
    """
    root = _obj(doc, where, "the trace document")
    export_import = "mlflow" in root and "info" not in root
    if export_import:
        root = _obj(root["mlflow"], where, '"mlflow"')
    info = _obj(root.get("info"), where, '"info"')
    trace_id = info.get("trace_id") or info.get("request_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise ItemError(where, 'trace has no "info.trace_id": expected e.g. "tr-<32 hex>"')
    loc = info.get("trace_location")
    exp = info.get("experiment_id")
    if exp is None and isinstance(loc, Mapping):
        mexp = loc.get("mlflow_experiment")
        if isinstance(mexp, Mapping):
            exp = mexp.get("experiment_id")
    metadata = _str_map(info.get("trace_metadata") or info.get("request_metadata"))
    tags = _str_map(info.get("tags"))
    ts = _time_ms(info.get("request_time"))
    if ts is None:
        ts = _time_ms(info.get("timestamp_ms"))

    data = root.get("data")
    complete = True
    if isinstance(sidecar_spans, Mapping) and isinstance(sidecar_spans.get("spans"), list):
        raw_spans: Any = sidecar_spans["spans"]
    elif isinstance(data, Mapping):
        raw_spans = data.get("spans")
    elif isinstance(data, list):  # export-import skeleton: names and ids, no inputs
        raw_spans = data
        complete = False
    else:
        raw_spans = None
    if not isinstance(raw_spans, list):
        raise ItemError(where, f'trace {trace_id} has no "data.spans" list: expected the span list '
                               "Trace.to_json() writes")
    spans = tuple(_parse_span(s, where, i) for i, s in enumerate(raw_spans))
    if not complete:
        complete = any(s.inputs is not None or s.span_type for s in spans)
    run_id = metadata.get("mlflow.sourceRun") or None
    return TraceRecord(trace_id=trace_id, experiment_id=str(exp) if exp is not None else None,
                       run_id=run_id, timestamp_ms=ts, metadata=metadata, tags=tags,
                       spans=spans, spans_complete=complete)
