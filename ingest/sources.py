"""Where runs and traces come from: an export directory or a live tracking server.

Both sources yield the same items (:class:`RunItem`, :class:`TraceItem`, or an
:class:`~ledgergate.ingest.errors.ItemError` for a malformed item), built with
the pure parsers of :mod:`ledgergate.ingest.mapping`. Constructors do no I/O;
reading starts when :meth:`items` is iterated.

Live server: through ``mlflow.MlflowClient`` rather than raw REST. Where trace
spans live depends on the server (its SQL store since 3.x, the artifact store —
S3, GCS, a volume — before, or Databricks), and the REST trace endpoints
differ between MLflow 2 (``get-trace-artifact``) and 3 (``/api/3.0`` traces);
the client hides both, plus authentication (``MLFLOW_TRACKING_TOKEN``,
``MLFLOW_TRACKING_USERNAME``/``PASSWORD``) and paging. The price is the
``mlflow`` extra, imported only here and only for the live path; an export
directory is read without mlflow installed. httpx (already a dependency)
probes ``/health`` first so an unreachable server fails in seconds, not after
the client's retry schedule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ItemError, SourceError
from .records import RunRecord, TraceRecord, parse_run, parse_trace


@dataclass(frozen=True)
class RunItem:
    run: RunRecord
    where: str
    experiment_name: str | None


@dataclass(frozen=True)
class TraceItem:
    trace: TraceRecord
    run: RunRecord | None
    where: str
    experiment_name: str | None


Item = RunItem | TraceItem | ItemError
Watermark = Callable[[str], "int | None"]

_SKIP_DIRS = {"artifacts"}  # run artifacts hold arbitrary JSON (input examples, ...)
_NOT_TRACES = {"run.json", "experiment.json", "experiments.json", "manifest.json",
               "traces.json", "trace.json"}


def _selected(exp_id: str | None, name: str | None, wanted: set[str]) -> bool:
    return not wanted or (exp_id is not None and exp_id in wanted) or (name is not None and name in wanted)


# --------------------------------------------------------------------------- export directory

def _not_a_trace(path: Path) -> str | None:
    """None when ``path`` holds a Trace.to_json() document, else why it is skipped."""
    if not path.name.endswith(".json"):
        return "not a .json file"
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return "not readable JSON"
    info = doc.get("info") if isinstance(doc, dict) else None
    if isinstance(info, dict) and (info.get("trace_id") or info.get("request_id")) \
            and isinstance(doc.get("data"), dict):
        return None
    return "JSON that is not an MLflow trace, run or experiment"


class ExportSource:
    """Reads an export directory.

    Layouts (all may be mixed under ``root``)::

        experiments/<exp_id>/experiment.json              experiment name (optional)
        experiments/<exp_id>/runs/<run_id>/run.json       mlflow-export-import 1.x+
        experiments/<exp_id>/<run_id>/run.json            older mlflow-export-import
        .../traces/<trace_id>/trace.json                  mlflow-export-import traces,
            + traces.json or artifacts/traces.json        with the span data artifact
        **/*.json that holds a trace                       Trace.to_json() dumps, wherever they sit

    ``artifacts/`` folders of runs are not read. Every other file is counted in
    :attr:`skipped` under the reason it was not read (the CLI prints the counts).
    """

    def __init__(self, root: Path, experiments: Sequence[str] = ()) -> None:
        self.root = Path(root)
        self.label = f"export:{self.root}"
        self._wanted = set(experiments)
        self._files: tuple[list[Path], list[Path], list[Path]] | None = None
        self.skipped: dict[str, int] = {}  # reason -> files not read for it

    def _scan(self) -> tuple[list[Path], list[Path], list[Path]]:
        if self._files is not None:
            return self._files
        if not self.root.is_dir():
            raise SourceError(f"export directory {str(self.root)!r} does not exist or is not a directory: "
                              "expected the output directory of mlflow-export-import (with "
                              "experiments/) or a folder of Trace.to_json() files")
        exps: list[Path] = []
        runs: list[Path] = []
        traces: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            d = Path(dirpath)
            in_traces = "traces" in d.relative_to(self.root).parts
            for f in sorted(filenames):
                p = d / f
                if f == "experiment.json":
                    exps.append(p)
                elif f == "run.json":
                    runs.append(p)
                elif f == "trace.json" or f.endswith(".trace.json") \
                        or (in_traces and f.endswith(".json") and f not in _NOT_TRACES):
                    traces.append(p)
                elif f in _NOT_TRACES:
                    continue  # export metadata and span sidecars, read with what they belong to
                else:
                    why = _not_a_trace(p)
                    if why is None:
                        traces.append(p)
                    else:
                        self.skipped[why] = self.skipped.get(why, 0) + 1
        self._files = (exps, runs, traces)
        return self._files

    def total_hint(self) -> int:
        _, runs, traces = self._scan()
        return len(runs) + len(traces)

    def _rel(self, p: Path) -> str:
        return str(p)

    def _load(self, p: Path) -> Any:
        try:
            return json.loads(p.read_text("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ItemError(self._rel(p), f"cannot read: {exc}") from exc
        except ValueError as exc:
            raise ItemError(self._rel(p), f"not valid JSON ({exc}); expected the JSON MLflow or "
                                          "mlflow-export-import writes: re-export this item") from exc

    def _sidecar(self, trace_json: Path) -> Any:
        for cand in (trace_json.parent / "traces.json", trace_json.parent / "artifacts" / "traces.json"):
            if cand.is_file():
                return self._load(cand)
        return None

    def items(self, watermark: Watermark | None = None) -> Iterator[Item]:
        """Runs first (traces are attributed to them), then traces; ``watermark`` is unused."""
        exps, run_files, trace_files = self._scan()
        names: dict[str, str] = {}
        for p in exps:
            try:
                doc = self._load(p)
                exp = ((doc.get("mlflow") or {}).get("experiment") or {}) if isinstance(doc, dict) else {}
                if exp.get("experiment_id") is not None and exp.get("name"):
                    names[str(exp["experiment_id"])] = str(exp["name"])
            except ItemError as exc:
                yield exc
        runs: dict[str, RunRecord] = {}
        for p in run_files:
            try:
                run = parse_run(self._load(p), self._rel(p))
            except ItemError as exc:
                yield exc
                continue
            name = names.get(run.experiment_id) or run.tags.get("mlflow_export_import.metadata.experiment_name")
            if not _selected(run.experiment_id, name, self._wanted):
                continue
            runs[run.run_id] = run
            yield RunItem(run, self._rel(p), name)
        for p in trace_files:
            try:
                doc = self._load(p)
                sidecar = self._sidecar(p) if p.name == "trace.json" else None
                trace = parse_trace(doc, self._rel(p), sidecar_spans=sidecar)
            except ItemError as exc:
                yield exc
                continue
            trace_run = runs.get(trace.run_id) if trace.run_id else None
            exp_id = trace.experiment_id or (trace_run.experiment_id if trace_run else None)
            name = names.get(exp_id) if exp_id else None
            if not _selected(exp_id, name, self._wanted):
                continue
            yield TraceItem(trace, trace_run, self._rel(p), name)


# --------------------------------------------------------------------------- live server

def probe_tracking_server(tracking_uri: str, timeout_s: float = 5.0) -> None:
    """Raise SourceError unless an http(s) tracking URI answers ``/health`` with 200.

    Other URIs (``sqlite:///...``, ``databricks``, file stores) are not probed.
    """
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import httpx

    url = f"{tracking_uri.rstrip('/')}/health"
    try:
        r = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise SourceError(f"cannot reach the MLflow tracking server at {tracking_uri!r}: {exc}; "
                          "expected `mlflow server` listening there: check --tracking-uri "
                          "or mlflow.tracking_uri in the config") from exc
    if r.status_code != 200:
        raise SourceError(f"{url} answered {r.status_code}: expected 200 from an MLflow tracking "
                          "server; check --tracking-uri")


class TrackingSource:
    """Reads a live tracking server through ``MlflowClient``, experiment by experiment.

    Traces are listed oldest first from ``max(since, watermark - lookback)``;
    the watermark is the newest trace timestamp an earlier ingest saw in that
    experiment, and the lookback re-lists traces that were logged late.
    """

    PAGE = 200

    def __init__(self, tracking_uri: str, experiments: Sequence[str] = (), *,
                 since_ms: int | None = None, lookback_ms: int = 3_600_000,
                 with_runs: bool = False, client: Any = None) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self.label = self.tracking_uri
        self._experiments = tuple(experiments)
        self._since_ms = since_ms
        self._lookback_ms = lookback_ms
        self._with_runs = with_runs
        self._client = client
        self._runs: dict[str, RunRecord | None] = {}

    def total_hint(self) -> int | None:
        return None  # the server pages; no cheap total

    def check(self) -> None:
        """Fail fast when an http(s) server does not answer /health."""
        probe_tracking_server(self.tracking_uri)

    def _mlflow_client(self) -> Any:
        if self._client is None:
            try:
                from mlflow import MlflowClient
            except ImportError as exc:
                raise SourceError("ingesting from a tracking server needs mlflow: "
                                  "pip install 'ledgergate[mlflow]' (or use --export-dir)") from exc
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _resolve_experiments(self, client: Any) -> list[tuple[str, str]]:
        if self._experiments:
            out = []
            for name in self._experiments:
                exp = client.get_experiment_by_name(name)
                if exp is None and name.isdigit():
                    exp = client.get_experiment(name)
                if exp is None:
                    known = [e.name for e in client.search_experiments(max_results=20)]
                    raise SourceError(f"no experiment {name!r} on {self.tracking_uri}: expected an "
                                      f"experiment name or id; known: {known}")
                out.append((exp.experiment_id, exp.name))
            return out
        out, token = [], None
        while True:
            page = client.search_experiments(max_results=1000, page_token=token)
            out += [(e.experiment_id, e.name) for e in page]
            token = page.token
            if not token:
                return out

    def _run(self, client: Any, run_id: str) -> RunRecord | None:
        if run_id not in self._runs:
            from mlflow.exceptions import MlflowException

            try:
                self._runs[run_id] = parse_run(client.get_run(run_id).to_dictionary(), f"run {run_id}")
            except (MlflowException, ItemError):
                self._runs[run_id] = None  # a deleted run: the trace is still attributed by its own metadata
        return self._runs[run_id]

    def items(self, watermark: Watermark | None = None) -> Iterator[Item]:
        from mlflow.exceptions import MlflowException

        self.check()
        client = self._mlflow_client()
        try:
            experiments = self._resolve_experiments(client)
        except MlflowException as exc:
            raise SourceError(f"cannot list experiments on {self.tracking_uri}: {exc}") from exc
        for exp_id, exp_name in experiments:
            lower = self._since_ms
            wm = watermark(exp_id) if watermark else None
            if wm is not None:
                lower = max(lower or 0, wm - self._lookback_ms)
            try:
                if self._with_runs:
                    yield from self._run_items(client, exp_id, exp_name, lower)
                yield from self._trace_items(client, exp_id, exp_name, lower)
            except MlflowException as exc:
                raise SourceError(f"reading experiment {exp_name!r} ({exp_id}) from {self.tracking_uri} "
                                  f"failed: {exc}; rerun to resume (sent events are remembered)") from exc

    def _run_items(self, client: Any, exp_id: str, exp_name: str, lower: int | None) -> Iterator[Item]:
        token = None
        flt = f"attributes.start_time >= {lower}" if lower is not None else ""
        while True:
            page = client.search_runs([exp_id], filter_string=flt, max_results=self.PAGE,
                                      order_by=["attributes.start_time ASC"], page_token=token)
            for r in page:
                try:
                    run = parse_run(r.to_dictionary(), f"run {r.info.run_id}")
                except ItemError as exc:
                    yield exc
                    continue
                self._runs[run.run_id] = run
                yield RunItem(run, f"run {run.run_id}", exp_name)
            token = page.token
            if not token:
                return

    def _trace_items(self, client: Any, exp_id: str, exp_name: str, lower: int | None) -> Iterator[Item]:
        token = None
        flt = f"trace.timestamp_ms >= {lower}" if lower is not None else None
        while True:
            page = client.search_traces(locations=[exp_id], filter_string=flt, max_results=self.PAGE,
                                        order_by=["timestamp_ms ASC"], page_token=token)
            for t in page:
                where = f"trace {t.info.trace_id} (experiment {exp_name})"
                try:
                    trace = parse_trace(t.to_dict(), where)
                except ItemError as exc:
                    yield exc
                    continue
                run = self._run(client, trace.run_id) if trace.run_id else None
                yield TraceItem(trace, run, where, exp_name)
            token = page.token
            if not token:
                return


def experiment_of(item: RunItem | TraceItem) -> str | None:
    """The experiment id an item belongs to (for watermarks)."""
    if isinstance(item, RunItem):
        return item.run.experiment_id
    return item.trace.experiment_id or (item.run.experiment_id if item.run else None)
