"""What the ledger service runs beside its sink: scheduled reports, MLflow log-back and ingest.

They live in the ledger service because it owns the ledger's data; each is
off unless configured (``reports.schedules``, ``mlflow.logback_every``,
``mlflow.ingest_every_seconds``), and none may take the ledger down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ledgergate.clock import now_us, wait_unless_stopped
from ledgergate.config import Settings
from ledgergate.ledger.local import LocalLedger
from ledgergate.reports.generate import report_schedule

log = logging.getLogger("ledgergate.background")


async def mlflow_logback(settings: Settings, ops: Any, stop: asyncio.Event) -> None:
    """Log the previous hour/day/week's governance metrics to MLflow, once per period."""
    from ledgergate.ingest.errors import IngestError
    from ledgergate.ingest.logback import MetricsPeriod, log_metrics

    cfg = settings.mlflow
    if not (cfg.logback_every and cfg.tracking_uri):
        return
    thread_ops = ops.for_thread()  # the MLflow client is synchronous: run it off the loop
    last: str | None = None
    while True:
        period = MetricsPeriod.previous(cfg.logback_every, now_us())
        key = repr(period)
        if key != last:
            try:
                await asyncio.to_thread(log_metrics, thread_ops.query, cfg.tracking_uri,
                                        cfg.logback_experiment, period)
                last = key
            except IngestError as exc:
                log.warning("MLflow log-back failed (will retry): %s", exc)
        if not await wait_unless_stopped(stop, 60):
            return


async def mlflow_ingest(settings: Settings, stop: asyncio.Event) -> None:
    """Pull new MLflow traffic every ``mlflow.ingest_every_seconds``."""
    from ledgergate.ingest.errors import IngestError
    from ledgergate.ingest.mlflow import run_ingest_async

    cfg = settings.mlflow
    if not (cfg.ingest_every_seconds and cfg.tracking_uri):
        return
    while True:
        try:
            summary = await run_ingest_async(settings, state_dir=cfg.state_dir, progress=False)
            for line in summary.lines():
                log.warning("%s", line)
        except IngestError as exc:
            log.warning("scheduled MLflow ingest failed (will retry): %s", exc)
        if not await wait_unless_stopped(stop, cfg.ingest_every_seconds):
            return


async def service_background(settings: Settings, ops: Any, writer: Any, stop: asyncio.Event) -> None:
    """Everything scheduled, concurrently; returns when ``stop`` is set."""
    await asyncio.gather(report_schedule(settings, LocalLedger(ops, writer), stop),
                         mlflow_logback(settings, ops, stop), mlflow_ingest(settings, stop))
