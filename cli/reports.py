"""`ledgergate report`: render a compliance report from the ledger (its hash is appended back)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import EXIT_OK, command, date_arg, open_client, progress_bar, settings_of


def cmd_report(args: argparse.Namespace) -> int:
    from ledgergate.reports.generate import run_report

    s = settings_of(args)
    with open_client(args) as led:
        path = run_report(s, led, kind=args.kind, from_date=args.from_, to_date=args.to,
                          tenant=args.tenant, route=args.route, out=Path(args.out),
                          progress=None if args.quiet else progress_bar)
    print(f"report written to {path}")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``report``."""
    rep = command(sub, "report", cmd_report, "render a compliance report from the ledger")
    rep.add_argument("kind", choices=["article12", "ll-2026-04"])
    rep.add_argument("--from", dest="from_", type=date_arg, required=True, help="YYYY-MM-DD (inclusive)")
    rep.add_argument("--to", type=date_arg, required=True, help="YYYY-MM-DD (inclusive)")
    rep.add_argument("--tenant")
    rep.add_argument("--route")
    rep.add_argument("--out", required=True, help="FILE.html, FILE.md or FILE.json")
    rep.add_argument("--db")
    rep.add_argument("--quiet", action="store_true")
