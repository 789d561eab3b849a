"""``ledgergate ingest mlflow``: MLflow runs and traces → request events on ``<prefix>.requests``.

Flow: a source (:class:`~ledgergate.ingest.sources.ExportSource` or
:class:`~ledgergate.ingest.sources.TrackingSource`) yields parsed runs and
traces; the pure mapping turns each LLM span's inputs into a RequestEvent
(source ``mlflow``, mode ``observe``); events already in the local state are
dropped; the rest are validated, encoded and published in batches, and each
batch is marked sent only once the broker acked all of it.

Idempotence: request ids are ``mlflow:<trace_id>:<span_id>``, so even when the
state is lost (or a crash falls between the ack and the state write) a
re-sent event is a duplicate that the ledger drops on (kind, request_id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledgergate.clock import now_us

from .config import MlflowConfig, mlflow_config
from .errors import IngestConfigError, ItemError
from .mapping import param_events, trace_events, validate_event
from .publish import RequestPublisher, encode_event
from .sources import ExportSource, Item, RunItem, TraceItem, TrackingSource, experiment_of
from .state import IngestState


@dataclass(frozen=True)
class ItemProblem:
    """One item that could not be ingested (the rest still were)."""

    where: str
    message: str

    def line(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class IngestSummary:
    """Counts of one ingest; :meth:`lines` is what the CLI prints at the end."""

    source: str
    topic: str
    runs: int = 0          # distinct runs whose traffic (traces or prompt params) was read
    traces: int = 0
    llm_spans: int = 0
    events: int = 0
    sent: int = 0
    already_ingested: int = 0
    before_since: int = 0
    problems: list[ItemProblem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # export dir: files not read, by reason

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [f"problem: {p.line()}" for p in self.problems]
        out.append(
            f"mlflow ingest from {self.source} → {self.topic}: {self.runs} runs, {self.traces} traces, "
            f"{self.llm_spans} LLM spans; {self.events} requests, {self.sent} sent, "
            f"{self.already_ingested} already ingested"
            + (f", {self.before_since} before --since" if self.before_since else "")
            + f", {len(self.problems)} problems")
        if self.skipped:
            n = sum(self.skipped.values())
            reasons = "; ".join(f"{c} {why}" for why, c in sorted(self.skipped.items()))
            out.append(f"skipped {n} file{'s' if n != 1 else ''} in the export directory: {reasons}")
        return out


_UNITS_US = {"s": 1_000_000, "m": 60_000_000, "h": 3_600_000_000, "d": 86_400_000_000,
             "w": 7 * 86_400_000_000}


def parse_since(text: str, now_us: int) -> int:
    """``--since`` as µs since the epoch.

    Accepts an ISO date or date-time (``2026-10-01``, ``2026-10-01T12:00:00Z``;
    UTC when no offset is given), an age (``90m``, ``24h``, ``7d``, ``2w``) counted
    back from ``now_us``, or an integer number of µs since the epoch.
    """
    t = text.strip()
    m = re.fullmatch(r"(\d+)\s*([smhdw])", t)
    if m:
        return now_us - int(m.group(1)) * _UNITS_US[m.group(2)]
    if t.isdigit():
        return int(t)
    try:
        when = dt.datetime.fromisoformat(t)
    except ValueError as exc:
        raise IngestConfigError(
            f"--since {text!r} is not a time: expected an ISO date or date-time (2026-10-01, "
            "2026-10-01T12:00:00Z), an age (24h, 7d) or µs since the epoch") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1_000_000)


def _take(it: Iterator[Item], n: int) -> list[Item]:
    out: list[Item] = []
    for x in it:
        out.append(x)
        if len(out) >= n:
            break
    return out


def _check_route(settings: Any, cfg: MlflowConfig) -> None:
    routes = [r.id for r in getattr(settings, "routes", ())]
    if cfg.route_id not in routes and cfg.policy_id is None:
        raise IngestConfigError(
            f"mlflow.route_id {cfg.route_id!r} is not a route of the config (known: {routes}) and "
            "mlflow.policy_id is not set, so the worker could not judge the ingested requests: add "
            "an observe-mode route with that id, point mlflow.route_id at one, or set mlflow.policy_id")


def _source(cfg: MlflowConfig, tracking_uri: str | None, export_dir: Path | None,
            experiments: Sequence[str], since_us: int | None) -> ExportSource | TrackingSource:
    if tracking_uri and export_dir:
        raise IngestConfigError(
            f"both --tracking-uri {tracking_uri!r} and --export-dir {str(export_dir)!r} were given: "
            "expected one source; run the ingest once per source")
    if export_dir is not None:
        return ExportSource(Path(export_dir), experiments)
    uri = tracking_uri or cfg.tracking_uri
    if not uri:
        raise IngestConfigError("no MLflow source: pass --tracking-uri URI (e.g. http://127.0.0.1:5000), "
                                "--export-dir DIR, or set mlflow.tracking_uri in the config")
    return TrackingSource(uri, experiments, since_ms=since_us // 1000 if since_us is not None else None,
                          lookback_ms=cfg.lookback_seconds * 1000, with_runs=bool(cfg.prompt_params))


def _events_of(item: RunItem | TraceItem, cfg: MlflowConfig,
               summary: IngestSummary) -> tuple[list[dict[str, Any]], list[ItemError]]:
    if isinstance(item, RunItem):
        return param_events(item.run, cfg, experiment_name=item.experiment_name), []
    summary.traces += 1
    mapped = trace_events(item.trace, item.run, cfg, where=item.where,
                          experiment_name=item.experiment_name)
    summary.llm_spans += mapped.llm_spans
    return mapped.events, mapped.problems


class _IngestRun:
    """One ingest's moving parts: dedup within the run, the batch waiting for the broker, the counts."""

    def __init__(self, cfg: MlflowConfig, summary: IngestSummary, state: IngestState,
                 publisher: RequestPublisher, bar: Any, since_us: int | None,
                 on_problem: Callable[[ItemProblem], None] | None) -> None:
        self.cfg, self.summary, self.state, self.publisher, self.bar = cfg, summary, state, publisher, bar
        self.since_us = since_us
        self.on_problem = on_problem
        self.pending: list[tuple[str, bytes, bytes]] = []
        self.seen: set[str] = set()     # request ids met in this ingest (one trace in two files)
        self.runs: set[str] = set()
        self.newest: dict[str, int] = {}

    def problem(self, exc: ItemError) -> None:
        p = ItemProblem(exc.where, exc.message)
        self.summary.problems.append(p)
        if self.on_problem is not None:
            self.on_problem(p)

    def build(self, chunk: list[Item]) -> list[tuple[str, dict[str, Any]]]:
        """The valid, new-in-this-run events of ``chunk`` with where each came from."""
        built: list[tuple[str, dict[str, Any]]] = []
        for item in chunk:
            self.bar.update(1)
            if isinstance(item, ItemError):
                self.problem(item)
                continue
            if item.run is not None:
                self.runs.add(item.run.run_id)
            events, problems = _events_of(item, self.cfg, self.summary)
            for p in problems:
                self.problem(p)
            if isinstance(item, TraceItem) and item.trace.timestamp_ms is not None:
                exp = experiment_of(item)
                if exp is not None:
                    self.newest[exp] = max(self.newest.get(exp, 0), item.trace.timestamp_ms)
            for ev in events:
                if self.since_us is not None and ev["received_at_us"] < self.since_us:
                    self.summary.before_since += 1
                    continue
                if ev["request_id"] in self.seen:
                    continue
                self.seen.add(ev["request_id"])
                try:
                    built.append((item.where, validate_event(ev, item.where)))
                except ItemError as exc:
                    self.problem(exc)
        return built

    def queue(self, built: list[tuple[str, dict[str, Any]]]) -> None:
        """Encode what an earlier ingest did not send yet and add it to the pending batch."""
        self.summary.events += len(built)
        done = self.state.already_sent(ev["request_id"] for _, ev in built)
        for where, ev in built:
            rid = ev["request_id"]
            if rid in done:
                self.summary.already_ingested += 1
                continue
            try:
                key, value = encode_event(ev)
            except ItemError as exc:
                self.problem(ItemError(where, exc.message))
                continue
            self.pending.append((rid, key, value))

    async def flush(self) -> None:
        if not self.pending:
            return
        await self.publisher.publish([(k, v) for _, k, v in self.pending])
        self.state.mark_sent([rid for rid, _, _ in self.pending], now_us())
        self.summary.sent += len(self.pending)
        self.pending.clear()
        self.bar.set_postfix(sent=self.summary.sent, refresh=False)


async def run_ingest_async(settings: Any, *, tracking_uri: str | None = None,
                           export_dir: Path | str | None = None, experiments: Sequence[str] = (),
                           since_us: int | None = None, state_dir: Path | str, progress: bool = True,
                           config: MlflowConfig | None = None,
                           on_problem: Callable[[ItemProblem], None] | None = None,
                           batch_size: int = 500) -> IngestSummary:
    """Async form of :func:`run_ingest`, for callers already in an event loop (the worker)."""
    from tqdm import tqdm

    cfg = config or mlflow_config(settings)
    if since_us is not None and since_us < 0:
        raise IngestConfigError(f"--since {since_us} is negative: expected microseconds since the "
                                "Unix epoch (or a date the CLI converts)")
    _check_route(settings, cfg)
    source = _source(cfg, tracking_uri, Path(export_dir) if export_dir is not None else None,
                     tuple(experiments) or cfg.experiments, since_us)
    topic = settings.topics.requests
    summary = IngestSummary(source=source.label, topic=topic)
    state = IngestState(Path(state_dir)).open()
    publisher = RequestPublisher(settings.broker.bootstrap, topic, schemas_topic=settings.topics.schemas)
    bar = None
    try:
        await publisher.start()
        items = source.items(lambda exp_id: state.watermark(source.label, exp_id))
        total = await asyncio.to_thread(source.total_hint)
        bar = tqdm(total=total, unit="item", desc="mlflow ingest", disable=not progress,
                   file=sys.stderr, leave=False)
        run = _IngestRun(cfg, summary, state, publisher, bar, since_us, on_problem)
        while True:
            # the sources block (MlflowClient, file reads): keep them off the event loop
            chunk = await asyncio.to_thread(_take, items, 100)
            if not chunk:
                break
            run.queue(run.build(chunk))
            if len(run.pending) >= batch_size:
                await run.flush()
        await run.flush()
        summary.runs = len(run.runs)
        summary.skipped = dict(getattr(source, "skipped", {}))
        # only after every event is acked: a failed ingest re-lists from the old watermark
        if isinstance(source, TrackingSource):
            for exp, ts in run.newest.items():
                state.set_watermark(source.label, exp, ts)
    finally:
        if bar is not None:
            bar.close()
        await publisher.stop()
        state.close()
    return summary


def run_ingest(settings: Any, *, tracking_uri: str | None = None, export_dir: Path | str | None = None,
               experiments: Sequence[str] = (), since_us: int | None = None, state_dir: Path | str,
               progress: bool = True, config: MlflowConfig | None = None,
               on_problem: Callable[[ItemProblem], None] | None = None,
               batch_size: int = 500) -> IngestSummary:
    """Ingest MLflow experiment traffic as observe-mode request events.

    Exactly one source: ``export_dir`` (read from files) or ``tracking_uri``
    (default ``mlflow.tracking_uri`` of the config). ``experiments`` are names
    or ids (default ``mlflow.experiments``; empty: all). ``since_us`` skips
    prompts sent before it. ``state_dir`` keeps what was sent, so a rerun sends
    only new items. ``config`` overrides the ``mlflow:`` section of ``settings``.
    ``on_problem`` sees each malformed item as it is found; all of them are also
    in the summary. Raises :class:`~ledgergate.ingest.errors.IngestError`
    subclasses for whole-ingest failures (bad config, unreachable source or
    broker, unwritable state).

    Must not be called from a running event loop: use :func:`run_ingest_async`.
    """
    return asyncio.run(run_ingest_async(
        settings, tracking_uri=tracking_uri, export_dir=export_dir, experiments=experiments,
        since_us=since_us, state_dir=state_dir, progress=progress, config=config,
        on_problem=on_problem, batch_size=batch_size))
