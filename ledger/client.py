"""Reach a ledger whether or not its service is running.

DuckDB lets one process open a file at a time, so while the ledger service
runs every reader goes through its Unix socket; when it is stopped the file is
opened read-only in-process. Both sides expose the same methods.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ledgergate.ledger.errors import LedgerError, NotFoundError


class ServiceLedger:
    """The running ledger service, over its Unix socket."""

    def __init__(self, socket: Path) -> None:
        import httpx

        self._socket = socket
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket)),
                                  base_url="http://ledger", timeout=300)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise LedgerError(f"the ledger service at {self._socket} did not answer: {exc}") from exc
        data = r.json()
        if r.status_code == 404 and "error" in data:
            raise NotFoundError(data["error"])
        if r.status_code != 200:
            raise LedgerError(data.get("error") or f"ledger service answered {r.status_code}")
        return data

    def list(self, **filters: Any) -> builtins.list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        return cast("builtins.list[dict[str, Any]]", self._call("GET", "/records", params=params))

    def show(self, ident: str, *, scope: str | None = None) -> dict[str, Any]:
        return cast("dict[str, Any]",
                    self._call("GET", f"/records/{ident}", params={"scope": scope} if scope else None))

    def verify(self, *, from_us: int | None = None, to_us: int | None = None,
               signatures: str = "anchored", trusted_keys: str | None = None,
               trusted_checkpoint: str | None = None,
               witness_keys: Sequence[str] = ()) -> dict[str, Any]:
        return cast("dict[str, Any]", self._call("POST", "/verify", json={
            "from_us": from_us, "to_us": to_us, "signatures": signatures,
            "trusted_keys": str(Path(trusted_keys).resolve()) if trusted_keys else None,
            "trusted_checkpoint": trusted_checkpoint, "witness_keys": list(witness_keys)}))

    def checkpoint_note(self) -> str:
        return str(self._call("GET", "/checkpoint")["note"])

    def export(self, *, from_us: int | None, to_us: int | None, out: Path) -> str:
        return str(self._call("POST", "/export", json={"from_us": from_us, "to_us": to_us, "out": str(out)})["path"])

    def prove(self, record_id: str) -> dict[str, Any]:
        return cast("dict[str, Any]", self._call("GET", f"/prove/{record_id}"))

    def query(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[tuple[Any, ...]]:
        return [tuple(r) for r in self._call("POST", "/query", json={"sql": sql, "params": list(params)})["rows"]]

    def append_report(self, report: dict[str, Any], *, by: str) -> None:
        self._call("POST", "/append-report", json={"report": report, "by": by})

    def status(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self._call("GET", "/status"))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DirectLedger:
    """A stopped ledger's file, opened read-only in this process."""

    def __init__(self, db: Path, keys_dir: Path | None) -> None:
        import duckdb

        from ledgergate.ledger.ops import LedgerOps

        if not db.exists():
            raise LedgerError(f"no ledger at {db}: start the pipeline (`ledgergate up`) or pass --db PATH")
        try:
            self._con = duckdb.connect(str(db), read_only=True)
        except duckdb.IOException as exc:
            raise LedgerError(
                f"{db} is held by another process (the ledger service?) and its socket is not "
                "answering: check `ledgergate up` is healthy, or stop it to read the file") from exc
        self._ops = LedgerOps(self._con, keys_dir)

    def list(self, **filters: Any) -> builtins.list[dict[str, Any]]:
        scope = filters.pop("scope", None)
        return self._ops.list(tenant_scope=scope, **filters)

    def show(self, ident: str, *, scope: str | None = None) -> dict[str, Any]:
        return self._ops.show(ident, tenant_scope=scope)

    def verify(self, *, from_us: int | None = None, to_us: int | None = None,
               signatures: str = "anchored", trusted_keys: str | None = None,
               trusted_checkpoint: str | None = None,
               witness_keys: Sequence[str] = ()) -> dict[str, Any]:
        return self._ops.verify(from_us=from_us, to_us=to_us, signatures=signatures,
                                trusted_keys=trusted_keys, trusted_checkpoint=trusted_checkpoint,
                                witness_keys=witness_keys)

    def checkpoint_note(self) -> str:
        return self._ops.checkpoint_note()

    def export(self, *, from_us: int | None, to_us: int | None, out: Path) -> str:
        return self._ops.export(from_us=from_us, to_us=to_us, out=out)

    def prove(self, record_id: str) -> dict[str, Any]:
        return self._ops.prove(record_id)

    def query(self, sql: str, params: Sequence[Any] = ()) -> builtins.list[tuple[Any, ...]]:
        return self._ops.query(sql, params)

    def append_report(self, report: dict[str, Any], *, by: str) -> None:
        # a stopped ledger is not written by readers: the report's hash is
        # recorded when generated by the running service (or the worker's schedule)
        return None

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DirectLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_ledger(*, db: Path, socket: Path | None, keys_dir: Path | None) -> ServiceLedger | DirectLedger:
    """The service if its socket answers, else the file read-only."""
    if socket is not None and socket.exists():
        svc = ServiceLedger(socket)
        try:
            svc.status()
            return svc
        except LedgerError:
            svc.close()
    return DirectLedger(db, keys_dir)
