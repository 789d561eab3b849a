"""MLflow integration: ingest experiment traffic, log governance metrics back.

Two topologies
==============

(a) ledgergate in front of MLflow for production traffic
--------------------------------------------------------
Applications call the ledgergate proxy; the proxy holds each request until a
worker's decision (``enforce``) or forwards at once and audits (``observe``),
then forwards to an MLflow-hosted upstream::

    app ──► ledgergate proxy ──► MLflow AI Gateway   (mlflow server, MLflow 3)
                 │                 POST /gateway/mlflow/v1/chat/completions
                 │                 OpenAI-compatible; "model" = the gateway
                 │                 endpoint name. upstream kind: mlflow-gateway,
                 │                 base_url: http://mlflow:5000/gateway/mlflow/v1
                 │
                 └──────────────► MLflow Model Serving (`mlflow models serve`)
                                   POST /invocations (pyfunc input, not OpenAI).
                                   upstream kind: mlflow-serving

    requests/decisions/responses ─► Kafka ─► workers ─► signed ledger (DuckDB)

Every production prompt is judged before it reaches the model (enforce) and
recorded with the caller's verified identity. The proxy routes to these
upstreams; this package only documents them. Put the gateway's provider keys
in MLflow, not in the apps: the apps then hold only ledgergate credentials.

(b) MLflow experiment traffic ingested from tracking data
---------------------------------------------------------
Data scientists call models directly from notebooks and jobs, traced with
``mlflow.<flavor>.autolog()`` / ``@mlflow.trace``. Those prompts never cross the
proxy, so ``ledgergate ingest mlflow`` reads them after the fact, from a live
tracking server (``--tracking-uri``) or an export directory
(``--export-dir``: mlflow-export-import output or ``Trace.to_json()`` files)::

    notebooks/jobs ──► MLflow tracking (runs + traces)
                           │  ledgergate ingest mlflow   (scheduled or by hand)
                           ▼
             <prefix>.requests  (source "mlflow", mode "observe")
                           ▼
                 workers ─► decisions ─► signed ledger ─► reports
                           │  ledgergate mlflow log-metrics
                           ▼
             MLflow experiment "ledgergate-governance": one run per period
             (requests, allowed/redacted/blocked by route and category,
             hold latency p50/p95)

Each LLM span (span type ``LLM`` or ``CHAT_MODEL`` by default) with prompt
text in its inputs becomes one RequestEvent: request id
``mlflow:<trace_id>:<span_id>``, principal = the run's user (``mlflow.user``),
tenant from a run tag, roles and route from the ``mlflow:`` config section,
metadata = experiment, run, trace and span ids. Ingested traffic is observed,
never blocked: it already happened. The decisions still classify and record
it, so reports cover experiments as well as production.

API
===
* :func:`run_ingest` / :func:`run_ingest_async` → :class:`IngestSummary`;
  :func:`parse_since` for the ``--since`` argument
* :func:`log_metrics` (and :func:`governance_metrics`, :class:`MetricsPeriod`)
* :class:`MlflowConfig`: the ``mlflow:`` config section
* :class:`IngestError` and subclasses

``run_ingest``/``run_ingest_async``/``IngestSummary`` live in
:mod:`ledgergate.ingest.mlflow` and ``log_metrics`` in
:mod:`ledgergate.ingest.logback`; both are imported here lazily, so importing
the package loads neither aiokafka nor mlflow.
"""

from __future__ import annotations

from typing import Any

from .config import MlflowConfig, mlflow_config
from .errors import (
    IngestConfigError,
    IngestError,
    ItemError,
    LogBackError,
    PublishError,
    SourceError,
    StateError,
)

__all__ = [
    "IngestConfigError", "IngestError", "ItemError", "LogBackError", "MlflowConfig", "PublishError",
    "SourceError", "StateError", "mlflow_config",
    "IngestSummary", "ItemProblem", "parse_since", "run_ingest", "run_ingest_async",
    "GovernanceMetrics", "MetricsPeriod", "governance_metrics", "log_metrics",
]

_LAZY = {
    "IngestSummary": "mlflow", "ItemProblem": "mlflow", "run_ingest": "mlflow",
    "run_ingest_async": "mlflow", "parse_since": "mlflow",
    "GovernanceMetrics": "logback", "MetricsPeriod": "logback", "governance_metrics": "logback",
    "log_metrics": "logback",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'ledgergate.ingest' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{mod}"), name)
