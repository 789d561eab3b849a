"""Route resolution and authorisation (pure: no I/O).

A request reaches a route either by its path prefix (``/r/claims/v1/chat/completions``
→ the route whose ``path_prefix`` is ``/r/claims``) or, on the bare ``/v1/...``
paths, by the ``model`` in its body. The caller must hold one of the route's
``allowed_roles`` and, when the route lists tenants, belong to one of them —
checked before anything is forwarded or published (deny by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledgergate.proxy.config import RouteConfig
from ledgergate.proxy.errors import Forbidden, NotFound

#: path suffix → endpoint name (the RequestEvent's ``endpoint``)
ENDPOINTS: dict[str, str] = {
    "/v1/chat/completions": "chat.completions",
    "/v1/completions": "completions",
    "/v1/embeddings": "embeddings",
    "/v1/models": "models",
}


class PrincipalLike(Protocol):
    """What routing needs of ``ledgergate.proxy.identity.Principal``."""

    person: str
    tenant: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request path points: the endpoint and, for ``/r/...`` paths, the route."""

    endpoint: str
    route: RouteConfig | None


class Router:
    """Resolves paths and models to routes; constructed once from the config."""

    def __init__(self, routes: Sequence[RouteConfig]) -> None:
        self.routes = tuple(routes)
        self._by_prefix: dict[str, RouteConfig] = {r.path_prefix: r for r in routes if r.path_prefix}
        self._by_model: dict[str, RouteConfig] = {}
        for r in routes:
            for m in r.models:
                # first route listing a model serves it on the bare /v1 paths
                self._by_model.setdefault(m, r)

    def target(self, path: str) -> Target:
        """Split a request path into (endpoint, prefix route); NotFound when neither matches."""
        endpoint = ENDPOINTS.get(path)
        if endpoint is not None:
            return Target(endpoint, None)
        for suffix, name in ENDPOINTS.items():
            if path.endswith(suffix):
                prefix = path[: -len(suffix)]
                route = self._by_prefix.get(prefix)
                if route is None:
                    raise NotFound(
                        f"no route with path prefix {prefix!r}: known prefixes are "
                        f"{sorted(self._by_prefix) or 'none'}; or call /v1{suffix[3:]} with a configured model",
                        code="route_not_found")
                return Target(name, route)
        raise NotFound(f"unknown path {path!r}: the proxy serves /v1/chat/completions, /v1/completions, "
                       "/v1/embeddings, /v1/models (also under a route's /r/<route> prefix) and /v1/events",
                       code="unknown_path")

    def resolve(self, target: Target, model: Any) -> RouteConfig:
        """The route of a request, from its prefix or else its ``model``."""
        if target.route is not None:
            route = target.route
            if route.models and model is not None and model not in route.models:
                raise NotFound(f"model {model!r} is not served by route {route.id!r}: it serves {list(route.models)}",
                               code="model_not_found", param="model")
            return route
        if not isinstance(model, str) or not model:
            raise NotFound("no model given: set \"model\" to one of the configured models "
                           f"{sorted(self._by_model)} or call a route's /r/<route>/v1 path",
                           code="model_not_found", param="model")
        by_model = self._by_model.get(model)
        if by_model is None:
            raise NotFound(f"model {model!r} is not configured: known models are {sorted(self._by_model)}",
                           code="model_not_found", param="model")
        return by_model

    @staticmethod
    def allowed(route: RouteConfig, principal: PrincipalLike) -> bool:
        """True when the principal holds one of the route's roles and, if listed, its tenant."""
        if route.allowed_tenants and principal.tenant not in route.allowed_tenants:
            return False
        return any(r in route.allowed_roles for r in principal.roles)

    def authorize(self, route: RouteConfig, principal: PrincipalLike) -> None:
        """Raise Forbidden (403) unless the principal may use the route."""
        if route.allowed_tenants and principal.tenant not in route.allowed_tenants:
            raise Forbidden(f"tenant {principal.tenant!r} may not use route {route.id!r}: "
                            f"allowed tenants are {list(route.allowed_tenants)}", code="tenant_not_allowed")
        if not any(r in route.allowed_roles for r in principal.roles):
            raise Forbidden(f"roles {list(principal.roles)} may not use route {route.id!r}: "
                            f"it needs one of {list(route.allowed_roles)}; ask an administrator for the role",
                            code="role_not_allowed")

    def models_for(self, principal: PrincipalLike, route: RouteConfig | None = None) -> dict[str, Any]:
        """The ``GET /v1/models`` answer: the models this caller may use (of one route if given)."""
        routes = (route,) if route is not None else self.routes
        data = []
        seen: set[str] = set()
        for r in routes:
            if not self.allowed(r, principal):
                continue
            for m in r.models:
                if m not in seen:
                    seen.add(m)
                    data.append({"id": m, "object": "model", "created": 0, "owned_by": f"ledgergate:{r.id}"})
        return {"object": "list", "data": data}
