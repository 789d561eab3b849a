"""Settings-derived context of a report: who provides and deploys what, under which policies.

Reports are a pure function of (ledger facts, this context). Building the context
from :class:`~ledgergate.config.Settings` happens once, here, so the gathering
code never reaches into the configuration and tests can build a context by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for the type of from_settings' argument
    from ledgergate.config import Settings


@dataclass(frozen=True)
class RouteInfo:
    """One configured route, as the reports describe it."""

    id: str
    purpose: str
    upstream: str
    mode: str
    policy: str
    models: tuple[str, ...] = ()
    upstream_model: str | None = None
    annex_iii: str = ""

    def facts(self) -> dict[str, Any]:
        return {"id": self.id, "purpose": self.purpose, "upstream": self.upstream,
                "mode": self.mode, "policy": self.policy, "models": list(self.models),
                "upstream_model": self.upstream_model, "annex_iii": self.annex_iii}


@dataclass(frozen=True)
class UpstreamInfo:
    """One configured upstream (an AI vendor endpoint)."""

    id: str
    vendor: str
    kind: str
    base_url: str

    def facts(self) -> dict[str, Any]:
        return {"id": self.id, "vendor": self.vendor, "kind": self.kind, "base_url": self.base_url}


@dataclass(frozen=True)
class BundleInfo:
    """One configured policy bundle's identity and review metadata."""

    id: str
    version: int
    owner: str
    reviewed: dt.date | None
    content_hash: str
    description: str = ""

    def facts(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "owner": self.owner,
                "reviewed": self.reviewed.isoformat() if self.reviewed else None,
                "content_hash": self.content_hash, "description": self.description}


@dataclass(frozen=True)
class ReportContext:
    """Everything a report needs from the configuration, as plain values."""

    provider: str
    deployer: str
    regime: str
    application_date: dt.date
    application_note: str
    loan_field: str = "loan_id"
    ledger_id: str = "main"
    retention_days: int = 400
    routes: tuple[RouteInfo, ...] = ()
    upstreams: tuple[UpstreamInfo, ...] = ()
    bundles: tuple[BundleInfo, ...] = ()
    # Tenants the configuration knows of (API keys, route allow-lists): a tenant
    # named there but with no records yet is "known but empty", not "unknown".
    tenants: tuple[str, ...] = ()
    legal_holds: tuple[dict[str, Any], ...] = ()
    version: str = field(default_factory=lambda: ledgergate_version())

    @classmethod
    def from_settings(cls, settings: Settings) -> ReportContext:
        """Build the context from a loaded configuration."""
        rep = settings.reports
        bundles = settings.bundles()
        tenants = {k.tenant for k in settings.identity.api_keys}
        for r in settings.routes:
            tenants.update(r.allowed_tenants)
        return cls(
            provider=rep.provider,
            deployer=rep.deployer,
            regime=rep.regime,
            application_date=rep.application_date,
            application_note=rep.application_note,
            loan_field=rep.loan_field,
            ledger_id=settings.ledger.ledger_id,
            retention_days=settings.ledger.retention_days,
            routes=tuple(RouteInfo(id=r.id, purpose=r.purpose, upstream=r.upstream, mode=r.mode,
                                   policy=r.policy, models=tuple(r.models),
                                   upstream_model=r.upstream_model, annex_iii=r.annex_iii)
                         for r in settings.routes),
            upstreams=tuple(UpstreamInfo(id=u.id, vendor=u.vendor, kind=u.kind, base_url=u.base_url)
                            for u in settings.upstreams),
            bundles=tuple(BundleInfo(id=b.id, version=b.version, owner=b.owner, reviewed=b.reviewed,
                                     content_hash=b.content_hash, description=b.description)
                          for b in bundles.values()),
            tenants=tuple(sorted(tenants)),
            legal_holds=tuple({"tenant": h.tenant,
                               "from": h.from_date.isoformat() if h.from_date else None,
                               "to": h.to_date.isoformat() if h.to_date else None,
                               "reason": h.reason} for h in settings.ledger.legal_holds),
        )

    def route(self, route_id: str) -> RouteInfo | None:
        return next((r for r in self.routes if r.id == route_id), None)

    def upstream(self, upstream_id: str) -> UpstreamInfo | None:
        return next((u for u in self.upstreams if u.id == upstream_id), None)

    def bundle(self, bundle_id: str) -> BundleInfo | None:
        return next((b for b in self.bundles if b.id == bundle_id), None)


def ledgergate_version() -> str:
    """The installed ledgergate version, or ``"unknown"`` when run from a bare checkout."""
    try:
        return importlib_metadata.version("ledgergate")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"
