"""`ledgergate` — one entry point, one subcommand per stage.

Every error a user can cause (bad arguments, bad config, a missing file, an
unreachable broker) ends as one line on stderr and exit code 2; a ledger that
fails verification exits 1. The subcommands live in one module per stage
(``run``, ``ledger``, ``classify``, ``policy``, ``ingest``, ``reports``, ``config``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from . import classify, config, ingest, ledger, policy, reports, run
from .common import EXIT_USAGE, CliError, Parser

# the order of `ledgergate --help`
STAGES = (config, run, ledger, classify, policy, ingest, reports)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="ledgergate", description="LLM governance gateway and signed audit ledger")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for stage in STAGES:
        stage.register(sub)
    return p


def _known_errors() -> tuple[type[BaseException], ...]:
    """The exception bases of every package: user-facing errors, reported in one line."""
    errs: list[type[BaseException]] = [CliError]
    for mod, name in (("ledgergate.config", "ConfigError"), ("ledgergate.broker", "BrokerError"),
                      ("ledgergate.schemas.codec", "SchemaError"), ("ledgergate.ledger.errors", "LedgerError"),
                      ("ledgergate.reports.errors", "ReportError"), ("ledgergate.proxy.errors", "ProxyError"),
                      ("ledgergate.streams.classify.engine", "ClassifyError"),
                      ("ledgergate.devstack.supervisor", "SupervisorError"),
                      ("ledgergate.streams.policy.cases", "PolicyCaseError"),
                      ("ledgergate.ingest.errors", "IngestError")):
        try:
            module = __import__(mod, fromlist=[name])
            errs.append(getattr(module, name))
        except (ImportError, AttributeError):
            continue
    return tuple(errs)


def _one_line(exc: BaseException) -> str:
    from ledgergate.config import ConfigError

    if isinstance(exc, ConfigError) and exc.problems:
        path, msg = exc.problems[0]
        more = len(exc.problems) - 1
        tail = f" (and {more} more; run `ledgergate config check {exc.source}`)" if more else ""
        return f"{exc.source}: {path + ': ' if path else ''}{msg}{tail}"
    return str(exc).replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except _known_errors() as exc:
        if args.debug:
            raise
        sys.stderr.write(f"ledgergate: error: {_one_line(exc)}\n")
        return EXIT_USAGE
    except OSError as exc:
        if args.debug:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        sys.stderr.write(f"ledgergate: error:{where} {exc.strerror or exc}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
