"""Configuration: one YAML file, one frozen pydantic model assembled from the packages' sections.

Each package owns its section model (``broker/config.py``, ``proxy/config.py``,
``streams/config.py``, ``ledger/config.py``, ``reports/config.py``, ``ingest/config.py``,
``governance/config.py``), built on :class:`ledgergate.configbase.Section`; :class:`Settings`
puts them together and checks what crosses sections (routes name known upstreams and
policies). The section classes are re-exported here, so ``from ledgergate.config import
RouteConfig`` keeps working.

This is the only module that reads ``os.environ``: secrets named by the file
(upstream credentials, the signing key, the value-hash key) are resolved here
into ``SecretStr`` fields, so no other code touches the environment and no
secret is ever part of the file itself.

Relative paths in the file are resolved against the file's directory (or the
``base_dir`` given to :func:`load_settings`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    Field,
    ValidationError,
    model_validator,
)

from ledgergate.broker.config import (
    BrokerConfig,
    Topics,
)
from ledgergate.configbase import Section
from ledgergate.errors import LedgergateError
from ledgergate.governance.config import GovernanceConfig
from ledgergate.ingest.config import MlflowConfig
from ledgergate.ledger.config import (
    LedgerConfig,
    LegalHold,
    WitnessRef,
)
from ledgergate.proxy.config import (
    ApiKeyConfig,
    ClaimMapping,
    DevIdentityConfig,
    IdentityConfig,
    IssuerConfig,
    ProxyConfig,
    RouteConfig,
    UpstreamConfig,
)
from ledgergate.reports.config import (
    ReportSchedule,
    ReportsConfig,
)
from ledgergate.schemas.policy import PolicyBundle
from ledgergate.streams.config import (
    PolicySource,
    WorkerConfig,
)

# the section models live with their packages; importing them from here keeps working
__all__ = [
    "ApiKeyConfig",
    "BrokerConfig",
    "ClaimMapping",
    "DevIdentityConfig",
    "IdentityConfig",
    "IssuerConfig",
    "LedgerConfig",
    "LegalHold",
    "PolicySource",
    "ProxyConfig",
    "ReportSchedule",
    "ReportsConfig",
    "RouteConfig",
    "Topics",
    "UpstreamConfig",
    "WitnessRef",
    "WorkerConfig",
    "ConfigError",
    "Settings",
]


class ConfigError(LedgergateError):
    """The configuration cannot be loaded; ``problems`` lists ``(field path, message)``."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "; ".join(f"{p}: {m}" if p else m for p, m in problems)
        super().__init__(f"{source}: {lines}")


class Settings(Section):
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
    def _references(self) -> Settings:
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
        raise ConfigError(source, [("", "the config is a YAML mapping "
                                        "(broker, ledger, identity, upstreams, routes, policies, ...)")])
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
                problems.append((f"policies[{i}].file",
                                 f"bundle id {b.id!r} in {p['file']} does not match policy id {p['id']!r}"))
            p["bundle"] = b.model_dump(mode="json")

    # secrets named by the file come from the environment, here and only here
    for u in data.get("upstreams") or []:
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
