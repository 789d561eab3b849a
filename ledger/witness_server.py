"""The witness's HTTP face (tlog-witness) and the ledger's side of it.

* :class:`WitnessApp`: ASGI app — ``POST /add-checkpoint`` (the C2SP protocol) and
  ``GET /checkpoint?origin=O`` (the latest cosigned checkpoint, for auditors).
* :func:`submit`: what the ledger service does after each checkpoint: send it
  with a consistency proof from the witness's last size, keep the cosignature.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ledgergate.clock import wait_unless_stopped

from . import merkle
from . import note as notes
from .errors import LedgerError
from .witness import Witness, request_body

if TYPE_CHECKING:
    from .reader import LedgerReader
    from .store import LedgerWriter

log = logging.getLogger("ledgergate.witness")


class WitnessApp:
    """Bare ASGI: the witness needs two routes, not a framework."""

    def __init__(self, witness: Witness) -> None:
        self._w = witness

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        status, ctype, text = self._route(scope, body)
        data = text.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()),
                                (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def _route(self, scope: dict[str, Any], body: bytes) -> tuple[int, str, str]:
        path, method = scope.get("path", ""), scope.get("method", "")
        if path.endswith("/add-checkpoint") and method == "POST":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return 400, "text/plain", "request body is not UTF-8\n"
            a = self._w.add_checkpoint(text)
            if a.status >= 400:
                log.warning("refused checkpoint: %s %s", a.status, a.body.strip())
            return a.status, a.content_type, a.body
        if path == "/checkpoint" and method == "GET":
            q = parse_qs(scope.get("query_string", b"").decode())
            origin = (q.get("origin") or [""])[-1]
            p = self._w._head_path(origin, "checkpoint")  # noqa: SLF001 - same package
            if not p.exists():
                return 404, "text/plain", f"no cosigned checkpoint for {origin!r}\n"
            return 200, "text/plain", p.read_text()
        return 404, "text/plain", f"no such endpoint: {method} {path}\n"


def serve(state: Path, host: str, port: int) -> None:
    """Run the witness until SIGTERM/SIGINT, then exit cleanly (state is already on disk)."""
    import signal

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(WitnessApp(Witness(state)), host=host, port=port,
                                           log_level="warning", lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        await server.serve()

    asyncio.run(main())


def _last_size(reader: LedgerReader, witness: str) -> int:
    sizes = [s for s, lines in reader.cosignatures().items()
             if any(ln.startswith(f"\u2014 {witness} ") for ln in lines)]
    return max(sizes, default=0)


async def submit(url: str, name: str, reader: LedgerReader, writer: LedgerWriter,
                 http: Any) -> int | None:
    """Send the latest checkpoint to the witness at ``url`` (named ``name``) unless it
    already cosigned it; store the cosignature. Returns the size cosigned, or None."""
    cps = [c for c in reader.checkpoints() if c.note]
    if not cps:
        return None
    cp = cps[-1]
    note = cp.note or ""  # only checkpoints with a note were kept above
    old = _last_size(reader, name)
    if old == cp.tree_size:
        return None
    for _ in range(2):  # a 409 tells us the witness's size: one retry from there
        leaves = [h for _, h in reader.leaves()[:cp.tree_size]]
        proof = merkle.TreeLevels(leaves).consistency_proof(old) if 0 < old < cp.tree_size else []
        r = await http.post(url.rstrip("/") + "/add-checkpoint",
                            content=request_body(old, proof, note).encode())
        if r.status_code == 409 and r.headers.get("content-type", "").startswith("text/x.tlog.size"):
            old = int(r.text.strip())
            continue
        break
    if r.status_code != 200:
        raise LedgerError(f"witness {name} at {url} refused the checkpoint at size "
                          f"{cp.tree_size} ({r.status_code}: {r.text.strip()[:200]})")
    body, _ = notes.split_note(note)
    for line in r.text.splitlines():
        sigs = notes.split_note("x\n\n" + line + "\n")[1]
        if sigs and sigs[0].name == name:
            writer.add_cosignature(cp.tree_size, name, line + "\n", int(_ts(sigs[0])))
    return cp.tree_size


def _ts(sig: notes.Signature) -> int:
    return int.from_bytes(sig.sig[:8], "big") if len(sig.sig) == 72 else 0


async def witness_loop(witnesses: list[tuple[str, str]], reader: LedgerReader,
                       writer: LedgerWriter, stop: asyncio.Event, every_s: float) -> None:
    """Keep every configured witness (url, name) up to date with the latest checkpoint."""
    import httpx

    async with httpx.AsyncClient(timeout=30) as http:
        while not stop.is_set():
            for url, name in witnesses:
                try:
                    await submit(url, name, reader, writer, http)
                except (LedgerError, httpx.HTTPError, ValueError) as exc:
                    log.error("witness %s: %s", name, exc)
            await wait_unless_stopped(stop, every_s)
