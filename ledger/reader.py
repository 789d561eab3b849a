"""Read access to a ledger file: queries for reports and the evidence verify needs."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from typing import Any

import duckdb

from .errors import LedgerError, NotFoundError
from .sign import DERIVED_COLUMNS, decode_record
from .tables import CheckpointRow, LegalHold, PrunedRange

RecordRow = tuple[int, bytes, bytes, str, bytes]


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
             offset: int = 0) -> builtins.list[dict[str, Any]]:
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
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def _scope(self) -> tuple[builtins.list[str], builtins.list[Any]]:
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
                yield dict(zip(names, row, strict=True))

    def leaves(self) -> builtins.list[tuple[int, bytes]]:
        """Every stored (seq, leaf_hash), in seq order."""
        self._whole("leaves")
        return [(s, bytes(h)) for s, h in
                self._con.execute("SELECT seq, leaf_hash FROM leaves ORDER BY seq").fetchall()]

    def checkpoints(self) -> builtins.list[CheckpointRow]:
        """Every stored checkpoint, by tree size."""
        self._whole("checkpoints")
        # files written before checkpoint notes existed (opened read-only, so not
        # migrated) have no note column
        note = "note" if self._has("checkpoints", "note") else "NULL"
        return [CheckpointRow(t, r, a, k, bytes(p), bytes(s), n) for t, r, a, k, p, s, n in
                self._con.execute("SELECT tree_size, root_hash, at_us, key_id, payload, "
                                  f"signature, {note} FROM checkpoints ORDER BY tree_size").fetchall()]

    def _has(self, table: str, column: str | None = None) -> bool:
        sql = ("SELECT count(*) FROM information_schema.columns WHERE table_name = ?" +
               (" AND column_name = ?" if column else ""))
        row = self._con.execute(sql, [table] + ([column] if column else [])).fetchone()
        return bool(row and row[0])

    def cosignatures(self) -> dict[int, builtins.list[str]]:
        """Witness cosignature lines by tree size."""
        out: dict[int, builtins.list[str]] = {}
        if not self._has("cosignatures"):
            return out
        for size, line in self._con.execute(
                "SELECT tree_size, line FROM cosignatures ORDER BY tree_size, witness").fetchall():
            out.setdefault(int(size), []).append(line)
        return out

    def statements(self, kinds: tuple[str, ...]) -> builtins.list[RecordRow]:
        """Every stored record of the given kinds (endorsements, retention), in seq order.

        Selected by the ``kind`` column; a row whose column lies is still checked
        as a record, and hiding a statement this way only makes verify stricter.
        """
        self._whole("statements")
        rows = self._con.execute(
            "SELECT seq, payload, signature, key_id, leaf_hash FROM records WHERE kind IN "
            "(SELECT unnest(?::VARCHAR[])) ORDER BY seq", [list(kinds)]).fetchall()
        return [(s, bytes(p), bytes(sig), k, bytes(lh) if lh is not None else b"")
                for s, p, sig, k, lh in rows]

    def pruned_ranges(self) -> builtins.list[PrunedRange]:
        """Ranges removed by retention."""
        return [PrunedRange(a, b, t, r) for a, b, t, r in self._con.execute(
            "SELECT from_seq, to_seq, pruned_at_us, reason FROM pruned ORDER BY from_seq"
        ).fetchall()]

    def holds(self) -> builtins.list[LegalHold]:
        """Stored legal holds."""
        return [LegalHold(t, f, u, r or "", h) for h, t, f, u, r in self._con.execute(
            "SELECT hold_id, tenant, from_us, to_us, reason FROM legal_holds").fetchall()]

    def stored_keys(self) -> builtins.list[tuple[str, bytes, int]]:
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
