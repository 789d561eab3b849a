"""The DuckDB ledger: one file, one process, one writer.

The payload bytes and their signature are the truth; every other column of
``records`` is derived from the payload for reporting, and verification checks
that they still agree.

Throughput: DuckDB's ``executemany`` runs one statement per row (~1.4k rows/s
here), so a batch is staged as a dict of NumPy columns registered as a view and
copied with one ``INSERT ... SELECT`` (~50k rows/s), inside the same
transaction as the leaves, the idempotency keys and the consumer offsets.

Indexes are kept to the two that carry meaning: ``idempotency.record_id`` (the
exactly-once key, looked up per batch) and ``leaves.seq`` (the tree). DuckDB
maintains every ART index on each insert and re-serialises it on each
checkpoint, so the ``records`` PRIMARY KEY/UNIQUE constraints and the
(kind, request_key) UNIQUE this schema used to carry made appends slow down as
the ledger grew (~2x slower at 100k rows) without protecting anything: record
ids are unique through ``idempotency``, (kind, request_id) determines the
record id (uuid5) so that uniqueness follows from it, and a duplicated or
moved ``records`` row is named by verify (``inserted``/``reordered``), which is
what catches an attacker anyway — one who can write SQL can also drop a
constraint. Ledger files created with the old schema keep their constraints and
work unchanged.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

import duckdb
import numpy as np

from . import merkle
from .errors import LedgerError, NotFoundError, StoreError
from .keys import Keyring, raw_public
from .sign import (
    DERIVED_COLUMNS,
    REQUEST_KEYED_KINDS,
    ZERO_HASH_HEX,
    build_checkpoint,
    complete_record,
    decode_record,
    derive_columns,
    encode_record,
    record_id_for,
)

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

_LIST_COLUMNS = ("roles", "categories", "entity_types")
_INT_COLUMNS = ("policy_version", "status", "prompt_tokens", "completion_tokens", "total_tokens")
_FLOAT_COLUMNS = ("latency_ms", "hold_ms")


def now_us() -> int:
    """Wall clock in µs since the epoch (the one place the store reads the clock)."""
    return time.time_ns() // 1000


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
    """A stored signed tree head."""

    tree_size: int
    root_hash: str
    at_us: int
    key_id: str
    payload: bytes
    signature: bytes


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


class LedgerWriter:
    """The single sequencer: numbers, signs, trees and stores records.

    Not thread-safe and meant to be the only writer of its ledger file. The
    constructor only keeps its dependencies; state is loaded from the database
    on first use (or by :meth:`load`).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, keyring: Keyring, *, ledger_id: str,
                 checkpoint_every: int = 10_000, checkpoint_interval_s: float = 60.0,
                 wal_checkpoint_mb: int | None = 256) -> None:
        self._con = con
        # DuckDB checkpoints the WAL into the file inside whichever COMMIT crosses
        # 16 MB (its default), and each of those rewrote more of the growing
        # tables: at 100k records they were ~60 % of commit time. A larger WAL
        # keeps every commit durable (the WAL is fsynced) and only makes the
        # checkpoints rarer; a restart replays at most this much WAL.
        # None leaves the database's own setting alone.
        self.wal_checkpoint_mb = wal_checkpoint_mb
        self._keyring = keyring
        self.ledger_id = ledger_id
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_us = int(checkpoint_interval_s * 1_000_000)
        self._loaded = False
        self._frontier = merkle.Frontier()
        self._last_leaf = bytes(32)
        self._last_cp_size = 0
        self._last_cp_at = 0

    # --- state ---------------------------------------------------------------

    def load(self) -> None:
        """Read the tree frontier, last checkpoint and ledger id; register our keys."""
        con = self._con
        try:
            if self.wal_checkpoint_mb is not None:
                con.execute(f"SET checkpoint_threshold = '{int(self.wal_checkpoint_mb)}MB'")
            row = con.execute("SELECT v FROM ledger_meta WHERE k = 'ledger_id'").fetchone()
            if row is None:
                con.execute("INSERT INTO ledger_meta VALUES ('ledger_id', ?)", [self.ledger_id])
            elif row[0] != self.ledger_id:
                raise StoreError(
                    f"this database holds ledger {row[0]!r}, not {self.ledger_id!r}: open the "
                    "right file or configure ledger_id to match"
                )
            leaves = con.execute("SELECT seq, leaf_hash FROM leaves ORDER BY seq").fetchall()
            for i, (seq, _) in enumerate(leaves):
                if seq != i:
                    raise StoreError(
                        f"leaves table has seq {seq} at position {i}: the tree is damaged; "
                        "run `ledgergate ledger verify` and restore from backup"
                    )
            self._frontier = merkle.Frontier.from_leaves(bytes(h) for _, h in leaves)
            self._last_leaf = bytes(leaves[-1][1]) if leaves else bytes(32)
            cp = con.execute("SELECT tree_size, at_us FROM checkpoints "
                             "ORDER BY tree_size DESC LIMIT 1").fetchone()
            self._last_cp_size, self._last_cp_at = (cp[0], cp[1]) if cp else (0, 0)
            added = now_us()
            for kid, info in self._keyring.public.items():
                con.execute("INSERT INTO keys VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                            [kid, raw_public(info.public_key), added])
        except duckdb.Error as exc:
            raise StoreError(f"cannot load ledger state: {exc}") from exc
        self._loaded = True

    def use_keyring(self, keyring: Keyring) -> None:
        """Sign from now on with ``keyring``'s active key (after `ledgergate keys rotate`).

        Records already written keep their own key id, so they still verify.
        """
        self._ensure()
        added = now_us()
        try:
            for kid, info in keyring.public.items():
                self._con.execute("INSERT INTO keys VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                  [kid, raw_public(info.public_key), added])
        except duckdb.Error as exc:
            raise StoreError(f"cannot register keys: {exc}") from exc
        self._keyring = keyring

    @property
    def active_key_id(self) -> str | None:
        return self._keyring.active_id

    def _ensure(self) -> None:
        if not self._loaded:
            self.load()

    @property
    def size(self) -> int:
        """Number of records ever appended (the tree size)."""
        self._ensure()
        return self._frontier.size

    def root(self) -> bytes:
        """Current Merkle root."""
        self._ensure()
        return self._frontier.root()

    def offsets(self) -> dict[tuple[str, int], int]:
        """Stored consumer positions: (topic, partition) → next offset to read."""
        rows = self._con.execute("SELECT topic, partition, next_offset FROM offsets").fetchall()
        return {(t, p): o for t, p, o in rows}

    # --- appending -----------------------------------------------------------

    def append_batch(self, entries: Sequence[Mapping[str, Any]],
                     offsets: Mapping[tuple[str, int], int] | None = None,
                     *, now: int | None = None) -> list[AppendResult]:
        """Append entries (AuditRecord fields minus the writer's) in one transaction.

        An entry whose idempotency key (kind, request_id) — or a report's
        record_id — is already stored, or repeats earlier in the batch, is
        skipped and returned with ``duplicate=True``. Records, leaves,
        idempotency keys and ``offsets`` commit together or not at all. Then a
        checkpoint is written if one is due at ``now`` (µs; default: clock).
        """
        self._ensure()
        priv = self._keyring.active_private
        key_id = self._keyring.active_id or ""
        ids = [record_id_for(self.ledger_id, e) for e in entries]
        existing = self._existing(ids)

        frontier = self._frontier.copy()
        seq = frontier.size
        prev = self._last_leaf
        rows: list[dict[str, Any]] = []
        results: list[AppendResult] = []
        seen: dict[str, AppendResult] = {}
        for entry, rid in zip(entries, ids):
            if rid in seen:
                r = seen[rid]
                results.append(AppendResult(rid, r.seq, r.leaf_hash, True))
                continue
            if rid in existing:
                old_seq, old_leaf = existing[rid]
                results.append(AppendResult(rid, old_seq, old_leaf, True))
                continue
            rec = complete_record(entry, ledger_id=self.ledger_id, seq=seq,
                                  prev_leaf_hash=prev.hex() if seq else ZERO_HASH_HEX,
                                  key_id=key_id, record_id=rid)
            payload = encode_record(rec)
            leaf = merkle.leaf_hash(payload)
            frontier.append(leaf)
            row = derive_columns(rec)
            row["seq"] = seq
            row["payload"] = payload
            row["signature"] = priv.sign(payload)
            row["leaf_hash"] = leaf
            rows.append(row)
            res = AppendResult(rid, seq, leaf, False)
            seen[rid] = res
            results.append(res)
            prev = leaf
            seq += 1

        self._commit(rows, offsets or {})
        # Only now is the batch durable: adopt the staged tree.
        self._frontier = frontier
        self._last_leaf = prev
        self.maybe_checkpoint(now if now is not None else now_us())
        return results

    def _existing(self, ids: list[str]) -> dict[str, tuple[int, bytes | None]]:
        """Already-stored ids among ``ids`` → (seq, leaf hash).

        Only the batch's own keys are probed, and leaf hashes are fetched just
        for the hits: the old
        ``LEFT JOIN leaves`` built a hash table over every leaf on every batch,
        which grew with the ledger. Duplicates are rare (replays after a crash).
        """
        if not ids:
            return {}
        con = self._con
        # A parameter list, not a registered view: register() refuses to run while
        # the shared connection still holds an unfetched result, execute() does not.
        hits = con.execute("SELECT record_id, seq FROM idempotency "
                           "WHERE record_id IN (SELECT unnest(?::VARCHAR[]))",
                           [list(set(ids))]).fetchall()
        if not hits:
            return {}
        leaf = dict(con.execute("SELECT seq, leaf_hash FROM leaves WHERE seq IN "
                                "(SELECT unnest(?))", [[s for _, s in hits]]).fetchall())
        return {r: (s, bytes(leaf[s]) if leaf.get(s) is not None else None) for r, s in hits}

    def _commit(self, rows: list[dict[str, Any]],
                offsets: Mapping[tuple[str, int], int]) -> None:
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                if rows:
                    batch = _column_arrays(rows)
                    # Each INSERT scans its own small registered table: a
                    # two-column SELECT from the wide batch view converted every
                    # column of it again (~8x slower for the leaves).
                    _insert_from(con, "_lg_batch", batch, _INSERT_RECORDS)
                    _insert_from(con, "_lg_leaves",
                                 {"seq": batch["seq"], "leaf_hash": batch["leaf_hash"]},
                                 "INSERT INTO leaves SELECT seq, leaf_hash FROM _lg_leaves")
                    keyed = [r["request_id"] if r["kind"] in REQUEST_KEYED_KINDS else None
                             for r in rows]
                    _insert_from(con, "_lg_idem",
                                 {"record_id": batch["record_id"], "seq": batch["seq"],
                                  "kind": batch["kind"], "request_key": _obj_array(keyed)},
                                 "INSERT INTO idempotency SELECT record_id, seq, kind, "
                                 "request_key FROM _lg_idem")
                if offsets:
                    # Never move a position backwards: a replayed batch carries the
                    # same or older offsets and must not rewind the consumer. One
                    # statement for all partitions (each statement costs ≈ 2 ms here).
                    items = sorted(offsets.items())
                    con.execute(
                        "INSERT INTO offsets VALUES " + ", ".join(["(?, ?, ?)"] * len(items)) +
                        " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = "
                        "greatest(offsets.next_offset, excluded.next_offset)",
                        [v for (topic, partition), nxt in items for v in (topic, int(partition), int(nxt))])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except duckdb.Error as exc:
            first = rows[0]["seq"] if rows else None
            raise StoreError(f"cannot append batch of {len(rows)} records starting at seq "
                             f"{first}: {exc}; nothing was written, retry the batch") from exc

    # --- checkpoints ---------------------------------------------------------

    def maybe_checkpoint(self, now: int) -> CheckpointRow | None:
        """Write a checkpoint if N records or T seconds have passed since the last one."""
        self._ensure()
        size = self._frontier.size
        if size == self._last_cp_size:
            return None
        if (size - self._last_cp_size >= self.checkpoint_every
                or now - self._last_cp_at >= self.checkpoint_interval_us):
            return self.checkpoint(now)
        return None

    def checkpoint(self, now: int | None = None) -> CheckpointRow:
        """Sign and store the current tree head (idempotent for an unchanged size)."""
        self._ensure()
        at = now if now is not None else now_us()
        size = self._frontier.size
        root = self._frontier.root()
        key_id = self._keyring.active_id or ""
        payload = build_checkpoint(ledger_id=self.ledger_id, tree_size=size, root_hash=root,
                                   at_us=at, key_id=key_id)
        sig = self._keyring.active_private.sign(payload)
        try:
            self._con.execute("INSERT INTO checkpoints VALUES (?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT DO NOTHING",
                              [size, root.hex(), at, key_id, payload, sig])
        except duckdb.Error as exc:
            raise StoreError(f"cannot store checkpoint at tree size {size}: {exc}") from exc
        self._last_cp_size, self._last_cp_at = size, at
        return CheckpointRow(size, root.hex(), at, key_id, payload, sig)

    # --- retention -----------------------------------------------------------

    def add_hold(self, hold: LegalHold, *, now: int | None = None) -> str:
        """Store a legal hold; returns its id."""
        import uuid

        hid = hold.hold_id or str(uuid.uuid4())
        self._con.execute("INSERT INTO legal_holds VALUES (?, ?, ?, ?, ?, ?)",
                          [hid, hold.tenant, hold.from_us, hold.to_us, hold.reason,
                           now if now is not None else now_us()])
        return hid

    def prune(self, before_us: int, holds: Sequence[LegalHold] | None = None, *,
              reason: str = "retention", now: int | None = None) -> list[PrunedRange]:
        """Delete ``records`` rows recorded before ``before_us`` unless under a legal hold.

        ``holds`` defaults to the stored legal holds. Leaves, checkpoints and
        idempotency keys stay, so the tree still verifies; the removed seq ranges
        are recorded in ``pruned`` and reported by verify as pruned.
        """
        self._ensure()
        if holds is None:
            holds = LedgerReader(self._con).holds()
        cond = ["recorded_at_us < ?"]
        params: list[Any] = [before_us]
        for h in holds:
            parts, hp = [], []
            if h.tenant is not None:
                parts.append("tenant IS NOT DISTINCT FROM ?")
                hp.append(h.tenant)
            if h.from_us is not None:
                parts.append("recorded_at_us >= ?")
                hp.append(h.from_us)
            if h.to_us is not None:
                parts.append("recorded_at_us < ?")
                hp.append(h.to_us)
            cond.append("NOT (" + " AND ".join(parts) + ")")
            params.extend(hp)
        where = " AND ".join(cond)
        at = now if now is not None else now_us()
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                seqs = [s for (s,) in con.execute(
                    f"SELECT seq FROM records WHERE {where} ORDER BY seq", params).fetchall()]
                ranges = _runs(seqs)
                if seqs:
                    con.execute(f"DELETE FROM records WHERE {where}", params)
                    for a, b in ranges:
                        con.execute("INSERT INTO pruned VALUES (?, ?, ?, ?)", [a, b, at, reason])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        except duckdb.Error as exc:
            raise StoreError(f"cannot prune records before {before_us}: {exc}") from exc
        return [PrunedRange(a, b, at, reason) for a, b in ranges]


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Contiguous inclusive runs of sorted integers."""
    out: list[tuple[int, int]] = []
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


class LedgerReader:
    """Read access to a ledger. With ``tenant``, every query sees only that tenant.

    Verification needs the whole ledger, so the ``iter_*``/tree methods refuse
    to run on a tenant-scoped reader.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, *, tenant: str | None = None) -> None:
        self._con = con
        self.tenant = tenant

    def _whole(self, what: str) -> None:
        if self.tenant is not None:
            raise LedgerError(f"{what} needs the whole ledger but this reader is scoped to "
                              f"tenant {self.tenant!r}: use an unscoped LedgerReader")

    def list(self, *, since_us: int | None = None, until_us: int | None = None,
             route: str | None = None, person: str | None = None, tenant: str | None = None,
             decision: str | None = None, category: str | None = None,
             kind: str | None = None, limit: int | None = 1000,
             offset: int = 0) -> list[dict[str, Any]]:
        """Derived columns (no payload) of matching records, in seq order.

        ``decision`` filters on outcome; ``category`` matches any of the record's
        categories; ``until_us`` is exclusive.
        """
        cond, params = self._scope()
        for col, op, val in (("recorded_at_us", ">=", since_us), ("recorded_at_us", "<", until_us),
                             ("route_id", "=", route), ("person", "=", person),
                             ("tenant", "=", tenant), ("outcome", "=", decision),
                             ("kind", "=", kind)):
            if val is not None:
                cond.append(f"{col} {op} ?")
                params.append(val)
        if category is not None:
            cond.append("list_contains(categories, ?)")
            params.append(category)
        sql = ("SELECT seq, " + ", ".join(DERIVED_COLUMNS) +
               ", epoch_us(recorded_at) AS recorded_at_col_us FROM records")
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        cur = self._con.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def _scope(self) -> tuple[list[str], list[Any]]:
        if self.tenant is None:
            return [], []
        return ["tenant = ?"], [self.tenant]

    def get(self, *, record_id: str | None = None, request_id: str | None = None,
            kind: str | None = None) -> dict[str, Any]:
        """The decoded payload of one record (by record_id, or request_id [+ kind]).

        With several records for a request_id (decision and response) and no
        ``kind``, the decision is returned.
        """
        cond, params = self._scope()
        if record_id is not None:
            cond.append("record_id = ?")
            params.append(record_id)
        elif request_id is not None:
            cond.append("request_id = ?")
            params.append(request_id)
            if kind is not None:
                cond.append("kind = ?")
                params.append(kind)
        else:
            raise LedgerError("get() needs record_id or request_id")
        row = self._con.execute("SELECT payload FROM records WHERE " + " AND ".join(cond) +
                                " ORDER BY kind = 'decision' DESC, seq LIMIT 1",
                                params).fetchone()
        if row is None:
            raise NotFoundError(f"no record with record_id={record_id!r} request_id="
                                f"{request_id!r} visible to this reader (it may have been "
                                "pruned, or belong to another tenant)")
        return decode_record(bytes(row[0]))

    def seq_of(self, record_id: str) -> int:
        """Ledger position of a record, even if its row was pruned."""
        row = self._con.execute("SELECT seq FROM idempotency WHERE record_id = ?",
                                [record_id]).fetchone()
        if row is None:
            raise NotFoundError(f"record {record_id!r} was never appended to this ledger")
        return int(row[0])

    def iter_signed(self, *, from_seq: int = 0, to_seq: int | None = None,
                    since_us: int | None = None, until_us: int | None = None,
                    chunk: int = 20_000) -> Iterator[tuple[int, bytes, bytes, str, bytes]]:
        """(seq, payload, signature, key_id, leaf_hash) in seq order, streamed in chunks."""
        self._whole("iter_signed")
        extra, eparams = "", []
        if since_us is not None:
            extra += " AND recorded_at_us >= ?"
            eparams.append(since_us)
        if until_us is not None:
            extra += " AND recorded_at_us < ?"
            eparams.append(until_us)
        # Walk seq ranges, not "seq > last LIMIT n": with no unique index on
        # records.seq, a duplicated row at a chunk edge would be skipped that way,
        # and verify must see every row to name it.
        hi = to_seq if to_seq is not None else (1 << 62)
        lo_hi = self._con.execute(f"SELECT min(seq), max(seq) FROM records "
                                  f"WHERE seq >= ? AND seq <= ?{extra}",
                                  [from_seq, hi, *eparams]).fetchone()
        if lo_hi is None or lo_hi[0] is None:
            return
        for lo in range(lo_hi[0], lo_hi[1] + 1, chunk):
            rows = self._con.execute(
                "SELECT seq, payload, signature, key_id, leaf_hash FROM records "
                f"WHERE seq >= ? AND seq < ?{extra} ORDER BY seq",
                [lo, min(lo + chunk, hi + 1), *eparams]).fetchall()
            for s, p, sig, kid, lh in rows:
                yield s, bytes(p), bytes(sig), kid, bytes(lh) if lh is not None else b""

    def iter_columns(self, *, chunk: int = 20_000) -> Iterator[dict[str, Any]]:
        """Derived columns of every row in seq order, for verify's column check."""
        self._whole("iter_columns")
        cols = "seq, " + ", ".join(DERIVED_COLUMNS) + ", epoch_us(recorded_at) AS recorded_at_col_us"
        lo_hi = self._con.execute("SELECT min(seq), max(seq) FROM records").fetchone()
        if lo_hi is None or lo_hi[0] is None:
            return
        for lo in range(lo_hi[0], lo_hi[1] + 1, chunk):
            cur = self._con.execute(f"SELECT {cols} FROM records WHERE seq >= ? AND seq < ? "
                                    "ORDER BY seq", [lo, lo + chunk])
            names = [d[0] for d in cur.description]
            for row in cur.fetchall():
                yield dict(zip(names, row))

    def leaves(self) -> list[tuple[int, bytes]]:
        """Every stored (seq, leaf_hash), in seq order."""
        self._whole("leaves")
        return [(s, bytes(h)) for s, h in
                self._con.execute("SELECT seq, leaf_hash FROM leaves ORDER BY seq").fetchall()]

    def checkpoints(self) -> list[CheckpointRow]:
        """Every stored checkpoint, by tree size."""
        self._whole("checkpoints")
        return [CheckpointRow(t, r, a, k, bytes(p), bytes(s)) for t, r, a, k, p, s in
                self._con.execute("SELECT tree_size, root_hash, at_us, key_id, payload, "
                                  "signature FROM checkpoints ORDER BY tree_size").fetchall()]

    def pruned_ranges(self) -> list[PrunedRange]:
        """Ranges removed by retention."""
        return [PrunedRange(a, b, t, r) for a, b, t, r in self._con.execute(
            "SELECT from_seq, to_seq, pruned_at_us, reason FROM pruned ORDER BY from_seq"
        ).fetchall()]

    def holds(self) -> list[LegalHold]:
        """Stored legal holds."""
        return [LegalHold(t, f, u, r or "", h) for h, t, f, u, r in self._con.execute(
            "SELECT hold_id, tenant, from_us, to_us, reason FROM legal_holds").fetchall()]

    def stored_keys(self) -> list[tuple[str, bytes, int]]:
        """(key_id, raw public key, added_at_us) registered by writers (informational)."""
        return [(k, bytes(p), a) for k, p, a in
                self._con.execute("SELECT key_id, public_key, added_at_us FROM keys").fetchall()]

    def ledger_id(self) -> str | None:
        """The ledger id stored by the first writer, if any."""
        row = self._con.execute("SELECT v FROM ledger_meta WHERE k = 'ledger_id'").fetchone()
        return row[0] if row else None


def decode_metadata(value: Any) -> dict[str, Any]:
    """The metadata column as a dict (DuckDB returns JSON as text)."""
    return json.loads(value) if isinstance(value, str) else dict(value or {})
