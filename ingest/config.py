"""The ``mlflow:`` section of the ledgergate config.

``Settings`` (config.py) assembles it as ``mlflow``; :func:`mlflow_config` also
accepts a settings object without the section and falls back to the defaults
below. ``state_dir`` is relative to the config file like the other paths.

Example::

    mlflow:
      tracking_uri: http://mlflow:5000
      route_id: mlflow-experiments     # an observe-mode route in routes:
      tenant_tag: tenant               # run/trace tag naming the tenant
      default_tenant: research
      roles: [data-scientist]
      experiments: [rag-eval, support-bot]
      copy_tags: [loan_id]
      state_dir: mlflow-ingest
      logback_experiment: ledgergate-governance
      logback_every: daily
      ingest_every_seconds: 900
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ID = r"^[A-Za-z0-9_.-]+$"


class MlflowConfig(BaseModel):
    """How MLflow experiment traffic is attributed, and where governance metrics go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tracking_uri: str | None = Field(
        None, description="default for `ingest mlflow` and `mlflow log-metrics`, e.g. http://mlflow:5000")
    route_id: str = Field(
        "mlflow-experiments", pattern=_ID,
        description="route ingested requests are attributed to; should be a route in routes:")
    policy_id: str | None = Field(
        None, pattern=_ID,
        description="policy hint for the worker when route_id is not a configured route")
    tenant_tag: str = Field("tenant", description="run tag (then trace tag/metadata) naming the tenant")
    default_tenant: str = Field("default", min_length=1)
    default_person: str = Field(
        "mlflow-unknown", min_length=1,
        description="principal when neither the run nor the trace names a user")
    roles: tuple[str, ...] = Field(("mlflow-user",), description="roles given to ingested principals")
    span_types: tuple[str, ...] = Field(
        ("LLM", "CHAT_MODEL"), min_length=1,
        description="MLflow span types whose inputs are prompts")
    prompt_params: tuple[str, ...] = Field(
        (), description="run params whose values are prompts (e.g. system_prompt); each becomes a request")
    copy_tags: tuple[str, ...] = Field(
        (), description="run/trace tags copied into request metadata (e.g. loan_id for the reports)")
    experiments: tuple[str, ...] = Field((), description="experiment names to ingest; empty: all")
    state_dir: Path = Field(Path("mlflow-ingest"), description="remembers what was already ingested")
    lookback_seconds: int = Field(
        3600, ge=0,
        description="re-list traces this far behind the last one seen, for traces logged late")
    logback_experiment: str = Field("ledgergate-governance", min_length=1)
    logback_every: Literal["hourly", "daily", "weekly"] | None = Field(
        None, description="worker schedule for `mlflow log-metrics`; absent: not scheduled")
    ingest_every_seconds: float | None = Field(
        None, gt=0, description="worker schedule for `ingest mlflow`; absent: not scheduled")

    @field_validator("tracking_uri")
    @classmethod
    def _uri(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("tracking_uri is empty: write e.g. http://127.0.0.1:5000 or leave it out")
        return v.rstrip("/") if v else v


def mlflow_config(settings: Any) -> MlflowConfig:
    """The ``mlflow:`` section of ``settings``, or the defaults before Settings has one."""
    cfg = getattr(settings, "mlflow", None)
    if cfg is None:
        return MlflowConfig()
    if isinstance(cfg, MlflowConfig):
        return cfg
    # a Settings built before this model was wired may carry a plain mapping
    return MlflowConfig.model_validate(cfg)
