"""MLflow both ways: `ingest mlflow` (runs and traces → request events) and `mlflow log-metrics`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import EXIT_FAIL, EXIT_OK, CliError, Parser, command, open_client, settings_of


def cmd_ingest_mlflow(args: argparse.Namespace) -> int:
    from ledgergate.clock import now_us
    from ledgergate.ingest.mlflow import parse_since, run_ingest

    s = settings_of(args)
    if bool(args.tracking_uri) == bool(args.export_dir) and not s.mlflow.tracking_uri:
        raise CliError("give --tracking-uri URI or --export-dir DIR (or set mlflow.tracking_uri in the config)")
    if args.tracking_uri and args.export_dir:
        raise CliError("give either --tracking-uri or --export-dir, not both")
    since = parse_since(args.since, now_us()) if args.since else None
    summary = run_ingest(s, tracking_uri=args.tracking_uri, export_dir=args.export_dir,
                         experiments=tuple(args.experiment or ()), since_us=since,
                         state_dir=Path(args.state_dir) if args.state_dir else Path(s.mlflow.state_dir),
                         progress=not args.quiet)
    for line in summary.lines():
        print(line)
    return EXIT_OK if summary.ok else EXIT_FAIL


def cmd_mlflow_log_metrics(args: argparse.Namespace) -> int:
    from ledgergate.ingest.logback import MetricsPeriod, log_metrics

    s = settings_of(args)
    uri = args.tracking_uri or s.mlflow.tracking_uri
    if not uri:
        raise CliError("no MLflow tracking server: pass --tracking-uri URI or set mlflow.tracking_uri")
    period = MetricsPeriod.parse(args.period)
    with open_client(args) as led:
        run_id = log_metrics(led.query, uri, args.experiment or s.mlflow.logback_experiment, period)
    print(f"governance metrics for {args.period} logged to MLflow run {run_id}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``ingest mlflow`` and ``mlflow log-metrics``."""
    ing = sub.add_parser("ingest", help="ingest traffic from other systems").add_subparsers(dest="sub", required=True,
                                                                                         parser_class=Parser)
    im = command(ing, "mlflow", cmd_ingest_mlflow,
                 "MLflow runs and traces (live server or export dir) → request events")
    im.add_argument("--tracking-uri")
    im.add_argument("--export-dir")
    im.add_argument("--experiment", action="append", help="name or id; repeatable (default: all)")
    im.add_argument("--since", help="ISO date/time, 24h, 7d, or µs since the epoch")
    im.add_argument("--state-dir", help="remembers what was ingested (default: mlflow.state_dir)")
    im.add_argument("--quiet", action="store_true")
    mlf = sub.add_parser("mlflow", help="log governance back to MLflow").add_subparsers(dest="sub", required=True,
                                                                                      parser_class=Parser)
    ml = command(mlf, "log-metrics", cmd_mlflow_log_metrics,
                 "log governance metrics of a period to an MLflow experiment")
    ml.add_argument("--period", required=True, help="FROM..TO dates, e.g. 2026-10-01..2026-10-31")
    ml.add_argument("--tracking-uri")
    ml.add_argument("--experiment")
    ml.add_argument("--db")
