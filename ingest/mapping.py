"""MLflow runs and traces as JSON → RequestEvent dicts (pure: no I/O, no mlflow import).

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ledgergate.schemas.models import RequestEvent

from .config import MlflowConfig
from .errors import ItemError

# Keys of request metadata; a report filters ingested traffic by them.
META_EXPERIMENT = "mlflow.experiment_id"
META_EXPERIMENT_NAME = "mlflow.experiment_name"
META_RUN = "mlflow.run_id"
META_TRACE = "mlflow.trace_id"
META_SPAN = "mlflow.span_id"
META_SPAN_NAME = "mlflow.span_name"
META_PARAM = "mlflow.param"

_HEX_ID = re.compile(r"^(?:0x)?([0-9a-fA-F]{16}|[0-9a-fA-F]{32})$")
# LangChain / OpenAI Responses message "types" → chat roles, so parts read like the proxy's.
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "AIMessage": "assistant",
                 "HumanMessage": "user", "SystemMessage": "system"}
_TEXT_CONTENT_TYPES = ("text", "input_text")
# Single-string prompt fields of common framework span inputs, in lookup order.
_STRING_KEYS = ("prompt", "prompts", "input", "query", "question", "text", "inputs")


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


@dataclass(frozen=True)
class MappedTrace:
    """The request events of one trace, and what could not be mapped."""

    events: list[dict[str, Any]]
    problems: list[ItemError]
    llm_spans: int


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


# --------------------------------------------------------------------------- prompt text

def _esc(key: str | int) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _role_of(m: Mapping[str, Any]) -> str | None:
    r = m.get("role") or m.get("type")
    if isinstance(m.get("id"), list) and m.get("id"):  # LangChain serialised constructor
        r = m["id"][-1]
    if not isinstance(r, str) or r == "constructor":
        return None
    return _ROLE_ALIASES.get(r, r)


def _message_parts(msgs: Sequence[Any], base: str) -> list[dict[str, Any]]:
    """Parts of a list of chat messages (or LangChain's list of message lists)."""
    parts: list[dict[str, Any]] = []
    for i, m in enumerate(msgs):
        path = f"{base}/{i}"
        if isinstance(m, list):
            parts += _message_parts(m, path)
            continue
        if not isinstance(m, Mapping):
            continue
        body: Mapping[str, Any] = m
        cpath = f"{path}/content"
        if "content" not in m and isinstance(m.get("kwargs"), Mapping):
            body, cpath = m["kwargs"], f"{path}/kwargs/content"
        role = _role_of(m)
        content = body.get("content")
        if isinstance(content, str):
            if content:
                parts.append({"path": cpath, "role": role, "text": content})
        elif isinstance(content, list):
            for j, c in enumerate(content):
                if isinstance(c, Mapping) and c.get("type") in _TEXT_CONTENT_TYPES \
                        and isinstance(c.get("text"), str) and c["text"]:
                    parts.append({"path": f"{cpath}/{j}/text", "role": role, "text": c["text"]})
                elif isinstance(c, str) and c:
                    parts.append({"path": f"{cpath}/{j}", "role": role, "text": c})
    return parts


def _looks_like_messages(v: Any) -> bool:
    if not isinstance(v, list) or not v:
        return False
    first = v[0][0] if isinstance(v[0], list) and v[0] else v[0]
    return isinstance(first, Mapping) and ("content" in first or "kwargs" in first)


def prompt_parts(inputs: Any) -> tuple[str, list[dict[str, Any]]]:
    """(endpoint, parts) of an LLM span's inputs; no parts when none are recognised.

    Paths are RFC 6901 pointers into the span inputs, like the proxy's pointers
    into a request body.
    """
    if isinstance(inputs, str):
        return "completions", ([{"path": "", "role": None, "text": inputs}] if inputs else [])
    if _looks_like_messages(inputs):
        return "chat.completions", _message_parts(inputs, "")
    if isinstance(inputs, list):
        return "completions", [{"path": f"/{i}", "role": None, "text": s}
                               for i, s in enumerate(inputs) if isinstance(s, str) and s]
    if not isinstance(inputs, Mapping):
        return "completions", []
    for key in ("messages", "input"):
        if _looks_like_messages(inputs.get(key)):
            return "chat.completions", _message_parts(inputs[key], f"/{key}")
    for key in _STRING_KEYS:
        v = inputs.get(key)
        if isinstance(v, str) and v:
            return "completions", [{"path": f"/{_esc(key)}", "role": None, "text": v}]
        if isinstance(v, list) and v and all(isinstance(s, str) for s in v):
            return "completions", [{"path": f"/{_esc(key)}/{i}", "role": None, "text": s}
                                   for i, s in enumerate(v) if s]
    return "completions", []


# --------------------------------------------------------------------------- events

def request_id_for_span(trace_id: str, span_id: str) -> str:
    """Deterministic, so re-ingesting the same span is a duplicate the ledger drops."""
    return f"mlflow:{trace_id}:{span_id}"


def request_id_for_param(run_id: str, name: str) -> str:
    return f"mlflow:run:{run_id}:param:{name}"


def _principal(run: RunRecord | None, trace: TraceRecord | None, cfg: MlflowConfig) -> dict[str, Any]:
    # the run's user is who ran the experiment; a trace outside any run can still
    # name its user (mlflow.trace.user, set with mlflow.update_current_trace)
    person = (run.user if run else None) \
        or (trace.metadata.get("mlflow.trace.user") if trace else None) \
        or (trace.metadata.get("mlflow.user") if trace else None) \
        or cfg.default_person
    tenant = (run.tags.get(cfg.tenant_tag) if run else None) \
        or (trace.tags.get(cfg.tenant_tag) if trace else None) \
        or (trace.metadata.get(cfg.tenant_tag) if trace else None) \
        or cfg.default_tenant
    return {"person": person, "tenant": tenant, "roles": list(cfg.roles), "auth_method": "mlflow"}


def _copied_tags(run: RunRecord | None, trace: TraceRecord | None, cfg: MlflowConfig) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in cfg.copy_tags:
        v = (run.tags.get(name) if run else None) or (trace.tags.get(name) if trace else None) \
            or (trace.metadata.get(name) if trace else None)
        if v:
            out[name] = v
    return out


def _base_event(request_id: str, received_at_us: int, principal: dict[str, Any], cfg: MlflowConfig,
                endpoint: str, parts: list[dict[str, Any]], model: str | None,
                metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "request_id": request_id, "received_at_us": received_at_us, "source": "mlflow",
        "principal": principal, "route_id": cfg.route_id, "mode": "observe",
        "upstream_id": None, "model": model, "endpoint": endpoint, "parts": parts,
        "reply_to": None, "policy_id": cfg.policy_id, "metadata": metadata, "proxy_id": None,
    }


def trace_events(trace: TraceRecord, run: RunRecord | None, cfg: MlflowConfig, *,
                 where: str, experiment_name: str | None = None) -> MappedTrace:
    """The request events of the LLM spans of ``trace`` (one per span with prompt text)."""
    problems: list[ItemError] = []
    if not trace.spans_complete:
        return MappedTrace([], [ItemError(where, (
            f"trace {trace.trace_id}: the export holds only span names, not span inputs; "
            "expected the traces.json artifact next to trace.json: re-export with the "
            "trace artifacts, or ingest from the tracking server with --tracking-uri"))], 0)
    wanted = set(cfg.span_types)
    events: list[dict[str, Any]] = []
    llm = 0
    principal = _principal(run, trace, cfg)
    exp = trace.experiment_id or (run.experiment_id if run else None)
    for span in trace.spans:
        if span.span_type not in wanted:
            continue
        llm += 1
        endpoint, parts = prompt_parts(span.inputs)
        if not parts:
            keys = sorted(span.inputs)[:8] if isinstance(span.inputs, Mapping) else type(span.inputs).__name__
            problems.append(ItemError(where, (
                f"trace {trace.trace_id} span {span.span_id} ({span.span_type} {span.name!r}): "
                f"no prompt text in its inputs ({keys}); expected messages, prompt or input")))
            continue
        received = span.start_us if span.start_us is not None else (
            trace.timestamp_ms * 1000 if trace.timestamp_ms is not None else None)
        if received is None:
            problems.append(ItemError(where, (
                f"trace {trace.trace_id} span {span.span_id}: no start time; expected "
                "start_time_unix_nano on the span or request_time on the trace")))
            continue
        meta = {META_TRACE: trace.trace_id, META_SPAN: span.span_id, META_SPAN_NAME: span.name}
        if exp:
            meta[META_EXPERIMENT] = exp
        if experiment_name:
            meta[META_EXPERIMENT_NAME] = experiment_name
        run_id = trace.run_id or (run.run_id if run else None)
        if run_id:
            meta[META_RUN] = run_id
        meta.update(_copied_tags(run, trace, cfg))
        model = span.model or ((run.params.get("model") or run.params.get("model_name")) if run else None)
        events.append(_base_event(request_id_for_span(trace.trace_id, span.span_id), received,
                                  principal, cfg, endpoint, parts, model, meta))
    return MappedTrace(events, problems, llm)


def param_events(run: RunRecord, cfg: MlflowConfig, *,
                 experiment_name: str | None = None) -> list[dict[str, Any]]:
    """Request events for the run params configured as prompts (``prompt_params``)."""
    out: list[dict[str, Any]] = []
    if run.start_time_ms is None:
        return out
    for name in cfg.prompt_params:
        text = run.params.get(name)
        if not text:
            continue
        meta = {META_EXPERIMENT: run.experiment_id, META_RUN: run.run_id, META_PARAM: name}
        if experiment_name:
            meta[META_EXPERIMENT_NAME] = experiment_name
        meta.update(_copied_tags(run, None, cfg))
        parts = [{"path": f"/params/{_esc(name)}", "role": None, "text": text}]
        out.append(_base_event(request_id_for_param(run.run_id, name), run.start_time_ms * 1000,
                               _principal(run, None, cfg), cfg, "completions", parts,
                               run.params.get("model") or run.params.get("model_name"), meta))
    return out


def validate_event(ev: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The Avro-ready dict of ``ev`` after pydantic validation; ItemError naming the field."""
    try:
        return RequestEvent.model_validate(ev).to_avro()
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ItemError(where, f"request {ev.get('request_id')!r} does not fit RequestEvent: "
                               f"{loc}: {first['msg']}") from exc
