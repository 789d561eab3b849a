"""The ledger service: the single sequencer that owns the DuckDB file.

Two jobs in one process, because DuckDB admits one process per file:

* the **sink** (``sink.py``) reads decisions and response events from Kafka
  and appends them (sign → Merkle → DuckDB) together with the consumer offsets
  in one transaction: a crash between the two neither duplicates nor drops,
  and a redelivered record is skipped by its (kind, request id);
* the **API** answers the CLI, the reports and the demo over a Unix socket
  (``ledger.socket``, mode 0600), so `events list`, `verify`, `export` and
  `report` work while the pipeline runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import duckdb
from aiokafka import AIOKafkaConsumer

from ledgergate.broker import start_when_reachable
from ledgergate.clock import now_us, wait_unless_stopped
from ledgergate.config import Settings
from ledgergate.ledger import keys as keys_mod
from ledgergate.ledger.api import LedgerApi
from ledgergate.ledger.errors import LedgerError
from ledgergate.ledger.metrics import LedgerMetrics
from ledgergate.ledger.metrics import serve as serve_metrics
from ledgergate.ledger.ops import LedgerOps
from ledgergate.ledger.sink import LedgerSink
from ledgergate.ledger.store import LedgerReader, LedgerWriter, LegalHold, connect
from ledgergate.ledger.witness_server import witness_loop
from ledgergate.schemas.codec import Codec
from ledgergate.schemas.store import SchemaResolver, SchemaTopic

log = logging.getLogger("ledgergate.ledger")


def config_holds(settings: Settings) -> list[LegalHold]:
    """The config's legal holds as store holds (dates → [from, to+1 day) in µs)."""
    out = []
    for h in settings.ledger.legal_holds:
        f = _day_us(h.from_date) if h.from_date else None
        t = _day_us(h.to_date) + 86_400_000_000 if h.to_date else None
        out.append(LegalHold(h.tenant, f, t, h.reason or "legal hold (config)"))
    return out


def _day_us(d: Any) -> int:
    import datetime as dt

    return int(dt.datetime.combine(d, dt.time(), dt.UTC).timestamp()) * 1_000_000


def apply_retention(settings: Settings, writer: LedgerWriter, reader: LedgerReader, now_us: int) -> list[Any]:
    """Prune records older than ``retention_days`` except under legal hold (stored or configured).

    Leaves, checkpoints and idempotency keys stay, so the ledger still verifies
    and reports the pruned range as pruned, not missing.
    """
    cutoff = now_us - settings.ledger.retention_days * 86_400_000_000
    holds = list(reader.holds()) + config_holds(settings)
    return writer.prune(cutoff, holds, reason=f"retention {settings.ledger.retention_days} days",
                        now=now_us, retention_days=settings.ledger.retention_days)


async def key_watch(settings: Settings, writer: LedgerWriter, stop: asyncio.Event, every_s: float = 2.0) -> None:
    """Pick up `ledgergate keys rotate` without a restart: watch the keyring's ``active`` file."""
    if settings.ledger.signing_key is not None:
        return  # the key comes from the environment: rotation means a restart with the new one
    active = Path(settings.ledger.keys_dir) / "active"
    seen = active.stat().st_mtime_ns if active.exists() else None
    while not stop.is_set():
        if not await wait_unless_stopped(stop, every_s):
            return
        now = active.stat().st_mtime_ns if active.exists() else None
        if now == seen:
            continue
        seen = now
        try:
            ring = keys_mod.load_dir(settings.ledger.keys_dir)
        except LedgerError as exc:
            log.error("keyring changed but cannot be loaded (still signing with %s): %s",
                      writer.active_key_id, exc)
            continue
        if ring.active_id != writer.active_key_id:
            writer.use_keyring(ring)
            log.warning("signing key rotated: now %s", ring.active_id)


async def retention_loop(settings: Settings, writer: LedgerWriter, reader: LedgerReader, stop: asyncio.Event,
                         every_s: float = 3600.0) -> None:
    """Prune on start and then hourly."""
    while not stop.is_set():
        try:
            pruned = apply_retention(settings, writer, reader, now_us())
            if pruned:
                log.warning("retention pruned %s", ", ".join(f"{p.from_seq}..{p.to_seq}" for p in pruned))
        except LedgerError as exc:
            log.error("retention failed: %s", exc)
        await wait_unless_stopped(stop, every_s)


def load_keyring(settings: Settings) -> keys_mod.Keyring:
    """The signing keyring: the env-supplied key if configured, else the keyring directory."""
    led = settings.ledger
    if led.signing_key is not None:
        ring = keys_mod.Keyring.from_base64(led.signing_key)
        if Path(led.keys_dir).is_dir():
            ring = ring.with_public(list(keys_mod.load_dir(led.keys_dir, require_private=False).public.values()))
        return ring
    return keys_mod.load_dir(led.keys_dir)


Background = Callable[[Settings, LedgerOps, LedgerWriter, asyncio.Event], Coroutine[Any, Any, None]]


async def serve(settings: Settings, *, stop: asyncio.Event | None = None,
                background: Background | None = None, from_beginning: bool = False) -> None:
    """Run sink and API (and ``background``, e.g. the report schedule) until ``stop`` is set."""
    led = settings.ledger
    stop = stop or asyncio.Event()
    _stop_on_signals(stop)
    con, writer, ops = _open_ledger(settings)
    metrics = LedgerMetrics()
    sink = _build_sink(settings, writer, metrics, from_beginning)
    if led.metrics_port is not None:
        serve_metrics(metrics.registry, led.metrics_host, led.metrics_port)
    server = _api_server(settings, ops, writer, sink, metrics)
    api_task = asyncio.create_task(server.serve())
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker.bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                client_id=f"ledgergate-ledger-{led.ledger_id}")
    sink_task: asyncio.Task[None] | None = None
    jobs: list[asyncio.Task[None]] = []
    witnesses = [(w.url, w.name) for w in led.witnesses]
    try:
        await start_when_reachable(consumer, "ledger sink", stop)
        await _restrict_socket(led.socket_path)
        sink_task = asyncio.create_task(sink.run(consumer, stop))
        jobs = _jobs(settings, ops, writer, LedgerReader(con), stop, background, witnesses)
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({sink_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        if sink_task in done and sink_task.exception():
            raise sink_task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        if sink_task and not sink_task.done():
            await asyncio.wait({sink_task}, timeout=5)
        for t in jobs:
            await asyncio.wait({t}, timeout=5)
        await consumer.stop()
        server.should_exit = True
        await asyncio.wait({api_task}, timeout=5)
        if writer.size:
            writer.checkpoint()
            await _last_witnessing(witnesses, LedgerReader(con), writer)
        con.close()
        led.socket_path.unlink(missing_ok=True)


def _open_ledger(settings: Settings) -> tuple[duckdb.DuckDBPyConnection, LedgerWriter, LedgerOps]:
    """The DuckDB file (created if new), its single writer and the read operations over it."""
    led = settings.ledger
    Path(led.path).parent.mkdir(parents=True, exist_ok=True)
    con = connect(str(led.path))
    writer = LedgerWriter(con, load_keyring(settings), ledger_id=led.ledger_id,
                          checkpoint_every=led.checkpoint_every, checkpoint_interval_s=led.checkpoint_seconds)
    writer.load()
    return con, writer, LedgerOps(con, Path(led.keys_dir))


def _build_sink(settings: Settings, writer: LedgerWriter, metrics: LedgerMetrics,
                from_beginning: bool) -> LedgerSink:
    """The Kafka → ledger sink over the decisions, responses and governance topics."""
    led, topics = settings.ledger, settings.topics
    codec = Codec.default()
    sink = LedgerSink(writer, codec, topics=[topics.decisions, topics.responses, topics.governance],
                      batch_max=led.batch_max, linger_ms=led.batch_linger_ms,
                      from_beginning=from_beginning, metrics=metrics,
                      schemas=SchemaResolver(codec, SchemaTopic(settings.broker.bootstrap, topics.schemas)))
    metrics.watch(lambda: {"duplicates": sink.skipped, "undecodable": sink.bad, "size": writer.size,
                           "checkpoint_at": writer.last_checkpoint_at_us / 1e6})
    return sink


def _api_server(settings: Settings, ops: LedgerOps, writer: LedgerWriter, sink: LedgerSink,
                metrics: LedgerMetrics) -> Any:
    """The query API on the ledger's Unix socket (a uvicorn server, not started yet)."""
    import uvicorn

    sock = settings.ledger.socket_path
    sock.unlink(missing_ok=True)
    server = uvicorn.Server(uvicorn.Config(LedgerApi(ops, writer, sink, metrics), uds=str(sock),
                                           log_level="warning", access_log=False, lifespan="off"))
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # serve() owns the signals
    return server


async def _restrict_socket(sock: Path) -> None:
    """Once uvicorn has bound the socket, make it this user's only."""
    for _ in range(100):
        if sock.exists():
            os.chmod(sock, 0o600)
            return
        await asyncio.sleep(0.02)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass


def _jobs(settings: Settings, ops: LedgerOps, writer: LedgerWriter, reader: LedgerReader,
          stop: asyncio.Event, background: Background | None,
          witnesses: list[tuple[str, str]]) -> list[asyncio.Task[None]]:
    """The service's background jobs: the caller's, retention, key rotation, witnesses."""
    jobs = [asyncio.create_task(retention_loop(settings, writer, reader, stop)),
            asyncio.create_task(key_watch(settings, writer, stop))]
    if background is not None:
        jobs.append(asyncio.create_task(background(settings, ops, writer, stop)))
    if witnesses:
        jobs.append(asyncio.create_task(witness_loop(witnesses, reader, writer, stop,
                                                     settings.ledger.checkpoint_seconds)))
    return jobs


async def _last_witnessing(witnesses: list[tuple[str, str]], reader: LedgerReader,
                           writer: LedgerWriter) -> None:
    """Offer the final checkpoint to the witnesses (best effort: they may be down)."""
    import httpx

    from ledgergate.ledger.witness_server import submit

    async with httpx.AsyncClient(timeout=5) as http:
        for url, name in witnesses:
            try:
                await submit(url, name, reader, writer, http)
            except (LedgerError, httpx.HTTPError, ValueError) as exc:
                log.error("witness %s did not cosign the final checkpoint: %s", name, exc)


def run_service(settings: Settings, *, background: Background | None = None,
                from_beginning: bool = False) -> int:
    """Foreground entry point of `ledgergate ledger`."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    asyncio.run(serve(settings, background=background, from_beginning=from_beginning))
    return 0
