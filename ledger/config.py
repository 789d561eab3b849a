"""The ``ledger:`` section: where the signed ledger lives, how it is signed and kept.

Assembled into the one ``Settings`` model by ``ledgergate.config``, the only reader of the
environment; nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import ConfigDict, Field, SecretStr, model_validator

from ledgergate.configbase import ID_PATTERN, Section


class LegalHold(Section):
    tenant: str | None = None
    from_date: dt.date | None = Field(None, alias="from")
    to_date: dt.date | None = Field(None, alias="to")
    reason: str = ""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _something(self) -> LegalHold:
        if self.tenant is None and self.from_date is None and self.to_date is None:
            raise ValueError("a legal hold names a tenant, a period (from/to), or both")
        return self


class WitnessRef(Section):
    """A transparency-log witness the ledger sends each checkpoint to (C2SP tlog-witness)."""

    url: str = Field(..., description="the witness's submission prefix, e.g. http://127.0.0.1:7380")
    name: str = Field(..., description="the witness's key name (its cosignature lines carry it)")


class LedgerConfig(Section):
    """The signed ledger: where it lives and how it is signed."""

    path: Path = Path("ledger.duckdb")
    ledger_id: str = Field("main", pattern=ID_PATTERN)
    keys_dir: Path = Field(Path("keys"), description="Ed25519 keyring (<key_id>.key/.pub, active)")
    signing_key_env: str | None = Field(
        None, description="env var holding a base64 raw Ed25519 private key; overrides keys_dir's active key")
    hash_key_env: str | None = Field(None, description="env var holding the key for keyed value hashes and pseudonyms")
    retention_days: int = Field(400, ge=1)
    legal_holds: tuple[LegalHold, ...] = ()
    checkpoint_every: int = Field(1000, ge=1)
    checkpoint_seconds: float = Field(5.0, gt=0)
    socket: Path | None = Field(None, description="the ledger service's Unix socket; default <path>.sock")
    witnesses: tuple[WitnessRef, ...] = Field(
        (), description="witnesses that cosign each checkpoint (run by another organisation)")
    batch_max: int = Field(1000, ge=1, description="most records one append signs and stores")
    batch_linger_ms: int = Field(
        200, ge=0, le=60_000,
        description="the sink appends what arrived within this window as one batch (each append "
                    "costs ≈ 15 ms of CPU however small); records wait in Kafka meanwhile. Longer "
                    "means less CPU a record at low rates and later records at a burst's end")
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(None, ge=0, le=65535,
                                     description="Prometheus /metrics port of the ledger service; null disables")
    # resolved from the environment by load_settings
    signing_key: SecretStr | None = None
    hash_key: SecretStr | None = None

    @property
    def socket_path(self) -> Path:
        return self.socket or self.path.with_name(self.path.name + ".sock")
