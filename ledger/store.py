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
constraint. Files created with the old schema keep their constraints.
"""


from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb

from ledgergate.clock import now_us

from . import merkle
from .errors import StoreError
from .keys import Keyring, raw_public
from .note import CheckpointNote, sign_note
from .reader import LedgerReader, RecordRow, decode_metadata
from .sign import (
    REQUEST_KEYED_KINDS,
    ZERO_HASH_HEX,
    build_checkpoint,
    complete_record,
    derive_columns,
    encode_record,
    record_id_for,
)
from .statements import endorsement_entry, endorsement_from_json
from .tables import (
    _INSERT_RECORDS,
    SCHEMA_SQL,
    AppendResult,
    CheckpointRow,
    LegalHold,
    PrunedRange,
    _column_arrays,
    _insert_from,
    _obj_array,
    connect,
)

__all__ = ["SCHEMA_SQL", "AppendResult", "CheckpointRow", "LedgerReader", "LedgerWriter", "LegalHold",
           "PrunedRange", "RecordRow", "connect", "decode_metadata", "now_us", "origin_of"]


def origin_of(ledger_id: str) -> str:
    """The checkpoint origin line (and note key name) of a ledger."""
    return f"ledgergate/{ledger_id}"

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
            self._register_keys(self._keyring)
        except duckdb.Error as exc:
            raise StoreError(f"cannot load ledger state: {exc}") from exc
        self._loaded = True
        self._record_endorsements(self._keyring)

    def _register_keys(self, keyring: Keyring) -> None:
        added = now_us()
        for kid, info in keyring.public.items():
            self._con.execute("INSERT INTO keys VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                              [kid, raw_public(info.public_key), added])

    def _record_endorsements(self, keyring: Keyring) -> None:
        """Append the keyring's rotation endorsements the ledger does not hold yet.

        Their record ids follow from the statement, so this is idempotent.
        """
        if not keyring.endorsements:
            return
        at = now_us()
        ents = [endorsement_entry(endorsement_from_json(e), recorded_at_us=at)
                for e in keyring.endorsements]
        self.append_batch(ents, now=at)

    def use_keyring(self, keyring: Keyring) -> None:
        """Sign from now on with ``keyring``'s active key (after `ledgergate keys rotate`).

        Records already written keep their own key id, so they still verify.
        """
        self._ensure()
        try:
            self._register_keys(keyring)
        except duckdb.Error as exc:
            raise StoreError(f"cannot register keys: {exc}") from exc
        # the endorsement goes in before the first record the new key signs
        self._record_endorsements(keyring)
        if self._frontier.size:
            self.checkpoint()  # the last head the retiring key signs
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

    @property
    def last_checkpoint_at_us(self) -> int:
        """When the newest checkpoint was signed (µs since the epoch; 0: none yet)."""
        self._ensure()
        return self._last_cp_at

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
        rows, results, frontier, prev = self._stage(entries)
        self._commit(rows, offsets or {})
        # Only now is the batch durable: adopt the staged tree.
        self._frontier = frontier
        self._last_leaf = prev
        self.maybe_checkpoint(now if now is not None else now_us())
        return results

    def _stage(self, entries: Sequence[Mapping[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[AppendResult], merkle.Frontier, bytes]:
        """Number, encode, sign and tree the new entries on a copy of the frontier."""
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
        for entry, rid in zip(entries, ids, strict=True):
            done = seen.get(rid)
            if done is not None or rid in existing:
                old_seq, old_leaf = (done.seq, done.leaf_hash) if done else existing[rid]
                results.append(AppendResult(rid, old_seq, old_leaf, True))
                continue
            rec = complete_record(entry, ledger_id=self.ledger_id, seq=seq,
                                  prev_leaf_hash=prev.hex() if seq else ZERO_HASH_HEX,
                                  key_id=key_id, record_id=rid)
            payload = encode_record(rec)
            leaf = merkle.leaf_hash(payload)
            frontier.append(leaf)
            row = derive_columns(rec)
            row.update(seq=seq, payload=payload, signature=priv.sign(payload), leaf_hash=leaf)
            rows.append(row)
            seen[rid] = res = AppendResult(rid, seq, leaf, False)
            results.append(res)
            prev = leaf
            seq += 1
        return rows, results, frontier, prev

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

    def _commit(self, rows: list[dict[str, Any]], offsets: Mapping[tuple[str, int], int],
                also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
        """Store staged rows (+ offsets, + ``also``'s statements) in one transaction."""
        con = self._con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                if also is not None:
                    also(con)
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
        priv = self._keyring.active_private
        sig = priv.sign(payload)
        origin = origin_of(self.ledger_id)
        note = sign_note(CheckpointNote(origin, size, root).body(), origin, priv)
        try:
            self._con.execute("INSERT INTO checkpoints (tree_size, root_hash, at_us, key_id, "
                              "payload, signature, note) VALUES (?, ?, ?, ?, ?, ?, ?) "
                              "ON CONFLICT DO NOTHING",
                              [size, root.hex(), at, key_id, payload, sig, note])
        except duckdb.Error as exc:
            raise StoreError(f"cannot store checkpoint at tree size {size}: {exc}") from exc
        self._last_cp_size, self._last_cp_at = size, at
        return CheckpointRow(size, root.hex(), at, key_id, payload, sig, note)

    def add_cosignature(self, tree_size: int, witness: str, line: str, cosigned_at: int) -> None:
        """Keep a witness's cosignature line for the checkpoint at ``tree_size``."""
        try:
            self._con.execute("INSERT INTO cosignatures VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE "
                              "SET line = excluded.line, cosigned_at = excluded.cosigned_at",
                              [tree_size, witness, line, cosigned_at])
        except duckdb.Error as exc:
            raise StoreError(f"cannot store the cosignature of {witness}: {exc}") from exc

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
              reason: str = "retention", now: int | None = None,
              retention_days: int | None = None) -> list[PrunedRange]:
        """Delete rows recorded before ``before_us`` unless held, and sign that fact.

        See :func:`ledgergate.ledger.retention.prune`.
        """
        from .retention import prune

        return prune(self, before_us, holds, reason=reason, now=now,
                     retention_days=retention_days)

    def commit_staged(self, entries: Sequence[Mapping[str, Any]],
                      also: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        """Append ``entries`` and run ``also`` in the same transaction (retention)."""
        self._ensure()
        rows, _, frontier, prev = self._stage(entries)
        self._commit(rows, {}, also)
        self._frontier = frontier
        self._last_leaf = prev

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._con
