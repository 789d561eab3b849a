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
from collections.abc import Callable, Sequence

from ledgergate.errors import LedgergateError

from . import classify, config, governance, ingest, ledger, policy, reports, run, witness
from .common import EXIT_USAGE, Parser

# the order of `ledgergate --help`
STAGES = (config, run, ledger, witness, classify, policy, ingest, reports, governance)


def build_parser() -> argparse.ArgumentParser:
    """The ``ledgergate`` parser with every stage's subcommands."""
    p = Parser(prog="ledgergate", description="LLM governance gateway and signed audit ledger")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for stage in STAGES:
        stage.register(sub)
    return p


def _one_line(exc: LedgergateError) -> str:
    """The error as one line; a config error names its first problem and how to see the rest."""
    from ledgergate.config import ConfigError  # lazily: `--help` need not load pydantic

    if isinstance(exc, ConfigError) and exc.problems:
        path, msg = exc.problems[0]
        more = len(exc.problems) - 1
        tail = f" (and {more} more; run `ledgergate config check {exc.source}`)" if more else ""
        line = f"{exc.source}: {path + ': ' if path else ''}{msg}{tail}"
    else:
        line = str(exc)
    return " ".join(line.splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv``), run the subcommand, return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_command(args.fn, args, debug=args.debug)


def run_command(fn: Callable[[argparse.Namespace], int | None], args: argparse.Namespace, *,
                debug: bool = False) -> int:
    """Run one subcommand and map what it raises to an exit code.

    A :class:`LedgergateError` is a user error: one line on stderr, exit 2. An ``OSError``
    is the operating system refusing a path or socket the user named, translated here at the
    boundary the same way. Anything else is a bug and keeps its traceback; ``--debug`` shows
    the traceback of user errors too.
    """
    try:
        return int(fn(args) or 0)
    except KeyboardInterrupt:
        return 130
    except LedgergateError as exc:
        if debug:
            raise
        sys.stderr.write(f"ledgergate: error: {_one_line(exc)}\n")
        return EXIT_USAGE
    except OSError as exc:
        if debug:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        reason = str(exc.strerror or exc).replace("\n", " ")
        sys.stderr.write(f"ledgergate: error:{where} {reason}\n")
        return EXIT_USAGE

if __name__ == "__main__":
    sys.exit(main())
