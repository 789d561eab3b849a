"""Typed MLflow records → RequestEvent dicts (pure: no I/O, no mlflow import).

The records come from :mod:`.records`, which parses both sources (the live tracking
server and export directories) the same way; this module finds the prompt text in
span inputs and run params and builds one request event per LLM call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ledgergate.schemas.models import RequestEvent

from .config import MlflowConfig
from .errors import ItemError
from .records import RunRecord, SpanRecord, TraceRecord, parse_run, parse_trace, span_id_hex

__all__ = ["MappedTrace", "RunRecord", "SpanRecord", "TraceRecord", "param_events", "parse_run", "parse_trace",
           "prompt_parts", "request_id_for_param", "request_id_for_span", "span_id_hex", "trace_events",
           "validate_event"]

META_EXPERIMENT = "mlflow.experiment_id"
META_EXPERIMENT_NAME = "mlflow.experiment_name"
META_RUN = "mlflow.run_id"
META_TRACE = "mlflow.trace_id"
META_SPAN = "mlflow.span_id"
META_SPAN_NAME = "mlflow.span_name"
META_PARAM = "mlflow.param"

# LangChain / OpenAI Responses message "types" → chat roles, so parts read like the proxy's.
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "AIMessage": "assistant",
                 "HumanMessage": "user", "SystemMessage": "system"}
_TEXT_CONTENT_TYPES = ("text", "input_text")
# Single-string prompt fields of common framework span inputs, in lookup order.
_STRING_KEYS = ("prompt", "prompts", "input", "query", "question", "text", "inputs")


@dataclass(frozen=True)
class MappedTrace:
    """The request events of one trace, and what could not be mapped."""

    events: list[dict[str, Any]]
    problems: list[ItemError]
    llm_spans: int


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
