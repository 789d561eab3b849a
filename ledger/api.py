"""The ledger service's small JSON API over its Unix socket (bare ASGI)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

from ledgergate.clock import now_us
from ledgergate.ledger import entries as entry_mod
from ledgergate.ledger.errors import LedgerError, NotFoundError
from ledgergate.ledger.metrics import LedgerMetrics
from ledgergate.ledger.ops import LedgerOps
from ledgergate.ledger.store import LedgerWriter


class SinkStats(Protocol):
    appended: int
    skipped: int
    bad: int
    batches: int

    @property
    def pending(self) -> int: ...


Handler = Callable[[dict[str, Any]], Awaitable[tuple[int, Any]]]


class LedgerApi:
    """A small JSON API over the Unix socket (bare ASGI: no framework needed here)."""

    def __init__(self, ops: LedgerOps, writer: LedgerWriter, sink: SinkStats,
                 metrics: LedgerMetrics | None = None) -> None:
        self._ops = ops
        self._writer = writer
        self._sink = sink
        self._metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # served with lifespan="off": only http scopes arrive
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        try:
            payload = json.loads(body) if body else {}
            status, out = self._route(scope["method"], scope["path"], query, payload)
        except NotFoundError as exc:
            status, out = 404, {"error": str(exc)}
        except LedgerError as exc:
            status, out = 400, {"error": str(exc)}
        except (ValueError, TypeError) as exc:
            status, out = 400, {"error": f"bad request: {exc}"}
        data = json.dumps(out, default=_json_default).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def _route(self, method: str, path: str, q: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
        ops = self._ops
        if path == "/status":
            return 200, {"size": self._writer.size, "root": self._writer.root().hex(),
                         "appended": self._sink.appended, "duplicates_skipped": self._sink.skipped,
                         "undecodable": self._sink.bad, "append_batches": self._sink.batches,
                         "pending": self._sink.pending}
        if path == "/records" and method == "GET":
            ints = {k: int(q[k]) for k in ("since", "until", "limit") if k in q}
            strs = {k: q[k] for k in ("route", "person", "tenant", "decision", "category", "kind") if k in q}
            return 200, ops.list(tenant_scope=q.get("scope"), **ints, **strs)
        if path.startswith("/records/") and method == "GET":
            return 200, ops.show(path.removeprefix("/records/"), tenant_scope=q.get("scope"))
        if path == "/verify" and method == "POST":
            result = ops.verify(from_us=body.get("from_us"), to_us=body.get("to_us"),
                                signatures=body.get("signatures") or "anchored",
                                trusted_keys=body.get("trusted_keys"),
                                trusted_checkpoint=body.get("trusted_checkpoint"),
                                witness_keys=body.get("witness_keys") or ())
            if self._metrics is not None:
                self._metrics.verified(result)
            return 200, result
        if path == "/checkpoint" and method == "GET":
            if self._writer.size:
                self._writer.checkpoint()  # the current head, so the note covers everything
            return 200, {"note": ops.checkpoint_note()}
        if path == "/export" and method == "POST":
            if self._writer.size:
                self._writer.checkpoint()  # the bundle's proofs then cover every record
            return 200, {"path": ops.export(from_us=body.get("from_us"), to_us=body.get("to_us"),
                                            out=Path(body["out"]))}
        if path.startswith("/prove/") and method == "GET":
            return 200, ops.prove(path.removeprefix("/prove/"))
        if path == "/query" and method == "POST":
            return 200, {"rows": ops.query(body["sql"], body.get("params") or [])}
        if path == "/append-report" and method == "POST":
            entry = entry_mod.from_report(body["report"], recorded_at_us=now_us(), by=body.get("by", "cli"))
            res = self._writer.append_batch([entry])
            return 200, {"appended": len(res)}
        return 404, {"error": f"no such endpoint: {method} {path}"}


def _json_default(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v)


