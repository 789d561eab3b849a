"""pydantic mirrors of the Avro schemas, for validation with field paths.

``tests/schemas/test_models.py`` checks that every model has exactly the
fields of its .avsc (same names, same optionality), so the two never drift.
Use :meth:`to_avro` to get the dict the codec encodes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["proxy", "ingest", "mlflow"]
Mode = Literal["enforce", "observe"]


class _Rec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_avro(self) -> dict[str, Any]:
        return self.model_dump(mode="python")


class Principal(_Rec):
    person: str = Field(min_length=1)
    tenant: str = Field(min_length=1)
    roles: list[str] = []
    auth_method: str


class PromptPart(_Rec):
    path: str = Field(pattern=r"^(/[^/]*)*$", description="RFC 6901 JSON pointer")
    role: str | None = None
    text: str


class PolicyRef(_Rec):
    id: str
    version: int
    hash: str


class Finding(_Rec):
    entity_type: str
    category: str
    part: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float
    recognizer: str
    value_hash: str | None = None
    replacement: str | None = None


class RequestEvent(_Rec):
    request_id: str = Field(min_length=1, max_length=200)
    received_at_us: int = Field(ge=0)
    source: Source
    principal: Principal
    route_id: str = Field(min_length=1)
    mode: Mode
    upstream_id: str | None = None
    model: str | None = None
    endpoint: Literal["chat.completions", "completions", "embeddings"] = "chat.completions"
    parts: list[PromptPart] = []
    reply_to: str | None = None
    policy_id: str | None = None
    metadata: dict[str, str] = {}
    proxy_id: str | None = None
    submitted_by: Principal | None = None


class Decision(_Rec):
    decision_id: str
    request_id: str
    decided_at_us: int
    received_at_us: int
    outcome: Literal["allow", "redact", "block"]
    rule_id: str
    explanation: str
    policy: PolicyRef
    categories: list[str] = []
    findings: list[Finding] = []
    redacted_parts: list[PromptPart] = []
    principal: Principal
    source: str
    route_id: str
    mode: str
    upstream_id: str | None = None
    model: str | None = None
    endpoint: str = "chat.completions"
    metadata: dict[str, str] = {}
    worker_id: str | None = None


ResponseOutcome = Literal["forwarded", "refused-policy", "refused-timeout", "refused-unavailable",
                          "upstream-error", "refused-auth", "refused-forbidden", "refused-invalid",
                          "refused-suspended", "internal-error", "served", "abandoned"]


class ResponseEvent(_Rec):
    request_id: str = Field(min_length=1, max_length=200)
    answered_at_us: int = Field(ge=0)
    received_at_us: int = Field(ge=0)
    source: Source
    principal: Principal
    route_id: str
    mode: Literal["enforce", "observe", "none"]
    upstream_id: str | None = None
    model: str | None = None
    endpoint: str = "chat.completions"
    outcome: ResponseOutcome
    forwarded: Literal["none", "original", "redacted"]
    forwarded_at_us: int | None = None
    status: int = Field(ge=100, le=599)
    latency_ms: float | None = None
    hold_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    decision_id: str | None = None
    error: str | None = None
    stream: bool = False
    metadata: dict[str, str] = {}
    proxy_id: str | None = None
    reason: str | None = None


class ReportRef(_Rec):
    kind: str
    period_from: str
    period_to: str
    tenant: str | None = None
    route_id: str | None = None
    sha256: str
    filename: str


class AuditRecord(_Rec):
    record_id: str
    ledger_id: str
    seq: int
    prev_leaf_hash: str
    key_id: str
    kind: Literal["decision", "response", "report"]
    recorded_at_us: int
    request_id: str | None = None
    decision_id: str | None = None
    received_at_us: int | None = None
    decided_at_us: int | None = None
    forwarded_at_us: int | None = None
    answered_at_us: int | None = None
    principal: Principal | None = None
    source: str | None = None
    route_id: str | None = None
    mode: str | None = None
    upstream_id: str | None = None
    model: str | None = None
    endpoint: str | None = None
    policy: PolicyRef | None = None
    rule_id: str | None = None
    explanation: str | None = None
    categories: list[str] = []
    findings: list[Finding] = []
    outcome: str | None = None
    forwarded: str | None = None
    status: int | None = None
    latency_ms: float | None = None
    hold_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    error: str | None = None
    metadata: dict[str, str] = {}
    report: ReportRef | None = None
    worker_id: str | None = None


class Checkpoint(_Rec):
    ledger_id: str
    tree_size: int
    root_hash: str
    at_us: int
    key_id: str


class SignedEnvelope(_Rec):
    payload: bytes
    key_id: str
    signature: bytes


GovernanceAction = Literal["incident.open", "incident.triage", "incident.notify", "incident.close",
                           "override", "route.suspend", "route.resume"]


class GovernanceEvent(_Rec):
    """A human fact recorded through the CLI (see GovernanceEvent.avsc)."""

    event_id: str = Field(min_length=1)
    action: GovernanceAction
    at_us: int
    entered_at_us: int
    actor: Principal
    reason: str | None = None
    incident_id: str | None = None
    classification: Literal["incident", "not-incident"] | None = None
    detected_at_us: int | None = None
    concerns: list[str] = []
    notified_to: str | None = None
    decision_id: str | None = None
    request_id: str | None = None
    request_hash: str | None = None
    subject: Principal | None = None
    route_id: str | None = None
    allow_until_us: int | None = None


MODELS: dict[str, type[_Rec]] = {
    "RequestEvent": RequestEvent, "Decision": Decision, "ResponseEvent": ResponseEvent,
    "AuditRecord": AuditRecord, "Checkpoint": Checkpoint, "SignedEnvelope": SignedEnvelope,
    "GovernanceEvent": GovernanceEvent,
}
