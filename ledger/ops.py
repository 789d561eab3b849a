"""Ledger operations shared by the running service and direct file access.

The CLI, the reports and the demo talk to a ledger through :class:`LedgerOps`,
whether the ledger service owns the DuckDB file (then these run inside the
service, reached over its Unix socket) or the file is free (then they run in
the caller's process on a read-only connection).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from ledgergate.ledger import keys as keys_mod
from ledgergate.ledger.errors import LedgerError, NotFoundError
from ledgergate.ledger.reader import LedgerReader
from ledgergate.ledger.sources import verify_database
from ledgergate.ledger.trust import TrustAnchors, load_anchors

# statements a report or a person may run through the service: reads only
_READ_ONLY = {"SELECT"}


class LedgerOps:
    """Reads, verification, export and proofs over one DuckDB connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, keys_dir: Path | None) -> None:
        self._con = con
        self._keys_dir = keys_dir

    def for_thread(self) -> LedgerOps:
        """The same ledger through a cursor of its own, for use on another thread."""
        return LedgerOps(self._con.cursor(), self._keys_dir)

    def reader(self, tenant: str | None = None) -> LedgerReader:
        return LedgerReader(self._con, tenant=tenant)

    def keyring(self) -> keys_mod.Keyring:
        """The trusted public keys: the keyring directory, never the database's copy."""
        if self._keys_dir is None:
            raise LedgerError("verification needs the public keys: pass the keyring directory "
                              "(ledger.keys_dir) or verify an exported bundle with --bundle")
        return keys_mod.load_dir(self._keys_dir, require_private=False)

    def list(self, *, tenant_scope: str | None = None, **filters: Any) -> builtins.list[dict[str, Any]]:
        rows = self.reader(tenant_scope).list(
            since_us=filters.get("since"), until_us=filters.get("until"), route=filters.get("route"),
            person=filters.get("person"), tenant=filters.get("tenant"),
            decision=filters.get("decision"), category=filters.get("category"),
            kind=filters.get("kind"), limit=filters.get("limit") or 100)
        for r in rows:
            r.pop("recorded_at_col_us", None)
            if r.get("recorded_at_us") is not None:
                import datetime as dt

                at = dt.datetime.fromtimestamp(r["recorded_at_us"] / 1e6, dt.UTC)
                r["recorded_at"] = at.isoformat(timespec="milliseconds")
        return rows

    def show(self, ident: str, *, tenant_scope: str | None = None) -> dict[str, Any]:
        r = self.reader(tenant_scope)
        try:
            return r.get(record_id=ident)
        except LedgerError:
            return r.get(request_id=ident)

    def anchors(self, *, trusted_keys: str | None = None, trusted_checkpoint: str | None = None,
                witness_keys: Sequence[str] = ()) -> TrustAnchors:
        """What to trust: the auditor's keys if given, else the operator's key directory
        (said plainly in the result: that is not independent of the operator)."""
        return load_anchors(trusted_keys=trusted_keys, trusted_checkpoint=trusted_checkpoint,
                            witness_keys=tuple(witness_keys),
                            fallback_dir=str(self._keys_dir) if self._keys_dir else None)

    def verify(self, *, from_us: int | None = None, to_us: int | None = None,
               signatures: str = "anchored", workers: int | None = None,
               trusted_keys: str | None = None, trusted_checkpoint: str | None = None,
               witness_keys: Sequence[str] = ()) -> dict[str, Any]:
        """Verify the ledger (or a time window of it, without the column check).

        ``signatures``: "anchored" (default) or "all"; ``trusted_keys``: a directory
        or file of keys held outside the ledger; ``trusted_checkpoint``: a C2SP
        checkpoint note (text); ``witness_keys``: witness vkeys whose cosignatures
        are required. Returns :meth:`VerifyReport.to_dict` plus the CLI's counters.
        """
        anchors = self.anchors(trusted_keys=trusted_keys, trusted_checkpoint=trusted_checkpoint,
                               witness_keys=witness_keys)
        rep = verify_database(self.reader(), anchors, from_us=from_us, to_us=to_us,
                              signatures=signatures, workers=workers if workers is not None else 1)
        out = rep.to_dict()
        out.update(records=rep.records_checked, checkpoints=rep.checkpoints_checked,
                   windowed=from_us is not None or to_us is not None)
        return out

    def checkpoint_note(self) -> str:
        """The latest checkpoint as a C2SP signed note, with its witness cosignatures."""
        r = self.reader()
        cps = [c for c in r.checkpoints() if c.note]
        if not cps:
            raise NotFoundError("this ledger has no checkpoint in C2SP note form yet: it is "
                                "written with the next checkpoint (the service writes one at "
                                "least every ledger.checkpoint_seconds and on stop)")
        cp = cps[-1]
        return cp.note + "".join(r.cosignatures().get(cp.tree_size, []))  # type: ignore[operator]

    def export(self, *, from_us: int | None, to_us: int | None, out: Path) -> str:
        from ledgergate.ledger.bundle import export

        export(self.reader(), from_us, to_us, out,
               keyring=self.keyring() if self._keys_dir is not None else None)
        return str(out)

    def prove(self, record_id: str) -> dict[str, Any]:
        from ledgergate.ledger.bundle import prove

        return prove(self.reader(), record_id)

    def query(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[tuple[Any, ...]]:
        """Run one read-only statement (reports use this through the service)."""
        try:
            stmts = duckdb.extract_statements(sql)
        except duckdb.Error as exc:
            raise LedgerError(f"cannot parse query: {exc}") from exc
        if len(stmts) != 1 or stmts[0].type.name not in _READ_ONLY:
            raise LedgerError("only one SELECT statement may run through the ledger service")
        try:
            return self._con.execute(sql, list(params)).fetchall()
        except duckdb.Error as exc:
            raise LedgerError(f"query failed: {exc}") from exc
