"""The ledger's tables, the rows read from them, and opening the file (the I/O edge).

The payload bytes and their signature are the truth; every other column of
``records`` is derived from the payload for reporting, and verification checks
that they still agree. See store.py for why only two indexes exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from .errors import LedgerError, StoreError
from .sign import DERIVED_COLUMNS

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    seq BIGINT NOT NULL, record_id VARCHAR NOT NULL, kind VARCHAR, request_id VARCHAR,
    recorded_at TIMESTAMPTZ, recorded_at_us BIGINT, tenant VARCHAR, person VARCHAR,
    roles VARCHAR[], auth_method VARCHAR, route_id VARCHAR, upstream_id VARCHAR,
    model VARCHAR, source VARCHAR, mode VARCHAR, outcome VARCHAR, forwarded VARCHAR,
    policy_id VARCHAR, policy_version INTEGER, policy_hash VARCHAR, rule_id VARCHAR,
    categories VARCHAR[], entity_types VARCHAR[], status INTEGER, latency_ms DOUBLE,
    hold_ms DOUBLE, prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,
    metadata JSON, payload BLOB, signature BLOB, key_id VARCHAR, leaf_hash BLOB);
-- Idempotency keys outlive retention (like leaves), so a replayed event whose
-- record was pruned is still recognised. request_key is request_id for
-- decision/response and NULL otherwise. (kind, request_key) needs no index of its
-- own: for those kinds record_id = uuid5(ledger_id, kind, request_id), so the
-- record_id key already makes (kind, request_id) unique.
CREATE TABLE IF NOT EXISTS idempotency (
    record_id VARCHAR PRIMARY KEY, seq BIGINT NOT NULL, kind VARCHAR NOT NULL,
    request_key VARCHAR);
CREATE TABLE IF NOT EXISTS leaves (seq BIGINT PRIMARY KEY, leaf_hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    tree_size BIGINT PRIMARY KEY, root_hash VARCHAR, at_us BIGINT, key_id VARCHAR,
    payload BLOB, signature BLOB);
-- the same tree head as a C2SP tlog-checkpoint signed note (files written before
-- notes existed have no column: it is added below)
ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS note VARCHAR;
-- witness cosignatures (C2SP tlog-cosignature lines): self-authenticating, so
-- stored as received
CREATE TABLE IF NOT EXISTS cosignatures (
    tree_size BIGINT, witness VARCHAR, line VARCHAR, cosigned_at BIGINT,
    PRIMARY KEY (tree_size, witness));
CREATE TABLE IF NOT EXISTS offsets (
    topic VARCHAR, partition INTEGER, next_offset BIGINT, PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS keys (key_id VARCHAR PRIMARY KEY, public_key BLOB, added_at_us BIGINT);
CREATE TABLE IF NOT EXISTS pruned (
    from_seq BIGINT, to_seq BIGINT, pruned_at_us BIGINT, reason VARCHAR);
CREATE TABLE IF NOT EXISTS legal_holds (
    hold_id VARCHAR PRIMARY KEY, tenant VARCHAR, from_us BIGINT, to_us BIGINT,
    reason VARCHAR, created_at_us BIGINT);
CREATE TABLE IF NOT EXISTS ledger_meta (k VARCHAR PRIMARY KEY, v VARCHAR);
"""

def connect(path: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (and on first use create) the ledger file. The I/O edge of this module."""
    try:
        con = duckdb.connect(path, read_only=read_only)
        if not read_only:
            con.execute(SCHEMA_SQL)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open ledger database {path!r}: {exc}; check the path and "
                         "that no other process holds it open for writing") from exc
    return con


@dataclass(frozen=True)
class AppendResult:
    """What happened to one entry of a batch."""

    record_id: str
    seq: int | None          # None only if the entry was a duplicate of a pruned record
    leaf_hash: bytes | None
    duplicate: bool


@dataclass(frozen=True)
class CheckpointRow:
    """A stored signed tree head (``note``: the same head as a C2SP signed note)."""

    tree_size: int
    root_hash: str
    at_us: int
    key_id: str
    payload: bytes
    signature: bytes
    note: str | None = None


@dataclass(frozen=True)
class LegalHold:
    """Records matching this are never pruned: a tenant, a period [from_us, to_us), or both."""

    tenant: str | None = None
    from_us: int | None = None
    to_us: int | None = None
    reason: str = ""
    hold_id: str | None = None

    def __post_init__(self) -> None:
        if self.tenant is None and self.from_us is None and self.to_us is None:
            raise LedgerError("a legal hold needs a tenant, a period or both: a hold on "
                              "everything would disable retention; say so explicitly with "
                              "from_us=0")


@dataclass(frozen=True)
class PrunedRange:
    """Records from_seq..to_seq (inclusive) were removed by retention; leaves remain."""

    from_seq: int
    to_seq: int
    pruned_at_us: int = 0
    reason: str = ""




def _obj_array(values: Sequence[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    if values and isinstance(values[0], list):
        for i, v in enumerate(values):  # element-wise: equal-length lists would broadcast to 2-D
            arr[i] = v
    else:
        arr[:] = values
    return arr


def _column_arrays(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    out["seq"] = np.fromiter((r["seq"] for r in rows), dtype=np.int64, count=len(rows))
    for name in DERIVED_COLUMNS + ("payload", "signature", "leaf_hash"):
        vals = [r[name] for r in rows]
        if name == "recorded_at_us":
            out[name] = np.array(vals, dtype=np.int64)
        else:
            out[name] = _obj_array(vals)
    return out


_INSERT_RECORDS = (
    "INSERT INTO records (seq, " + ", ".join(DERIVED_COLUMNS) +
    ", recorded_at, payload, signature, leaf_hash) SELECT seq, " +
    ", ".join(DERIVED_COLUMNS) +
    ", make_timestamptz(recorded_at_us), payload, signature, leaf_hash FROM _lg_batch"
)


def _insert_from(con: duckdb.DuckDBPyConnection, name: str, columns: Mapping[str, np.ndarray],
                 sql: str) -> None:
    """Run ``sql`` with ``columns`` registered as the view ``name`` for its duration."""
    con.register(name, columns)
    try:
        con.execute(sql)
    finally:
        con.unregister(name)
