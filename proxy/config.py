"""The proxy's sections: ``identity:``, ``upstreams:``, ``routes:`` and ``proxy:``.

Assembled into the one ``Settings`` model by ``ledgergate.config``, the only reader of the
environment; nothing here does I/O.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from ledgergate.configbase import ID_PATTERN, Section


class ClaimMapping(Section):
    person: str = "sub"
    tenant: str = "tenant"
    roles: str = "roles"


class IssuerConfig(Section):
    """One trusted OIDC issuer."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: Path | None = None
    algorithms: tuple[Literal["RS256", "ES256", "EdDSA"], ...] = ("RS256", "ES256", "EdDSA")
    claims: ClaimMapping = ClaimMapping()
    jwks_cache_seconds: float = Field(300, ge=0)

    @model_validator(mode="after")
    def _one_source(self) -> IssuerConfig:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url or jwks_file")
        return self


class ApiKeyConfig(Section):
    """A service API key, stored as the SHA-256 hex of the key (never the key)."""

    id: str = Field(pattern=ID_PATTERN)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    person: str
    tenant: str
    roles: tuple[str, ...] = ()


class DevIdentityConfig(Section):
    """A local issuer for the demo and tests: signs dev tokens with a key in this file."""

    key_file: Path = Path("dev-issuer.pem")
    issuer: str = "https://dev.ledgergate.local"
    audience: str = "ledgergate"


class IdentityConfig(Section):
    issuers: tuple[IssuerConfig, ...] = ()
    api_keys: tuple[ApiKeyConfig, ...] = ()
    leeway_seconds: int = Field(30, ge=0, le=600)
    max_token_bytes: int = Field(8192, ge=256)
    dev: DevIdentityConfig | None = None


class UpstreamConfig(Section):
    """An LLM endpoint: a provider, MLflow Model Serving, or MLflow AI Gateway."""

    id: str = Field(pattern=ID_PATTERN)
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


class RouteConfig(Section):
    """Which callers may reach which upstream, under which policy and mode."""

    id: str = Field(pattern=ID_PATTERN)
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


class ProxyConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    instance_id: str | None = Field(None, pattern=ID_PATTERN, description="default: host-pid")
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
