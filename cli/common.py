"""What every stage's commands share: exit codes, the user-error type, config and ledger access."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ledgergate.errors import LedgergateError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# where the built-in config keeps ledger, keys and spool when no --config is given
DEFAULT_WORKDIR = "ledgergate-data"


class CliError(LedgergateError):
    """A user error the CLI reports in one line (exit 2)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def settings_of(args: argparse.Namespace) -> Any:
    """The Settings of --config FILE, else the built-in demo config under --workdir."""
    from ledgergate.config import default_settings, load_settings

    if getattr(args, "config", None):
        return load_settings(args.config)
    workdir = Path(getattr(args, "workdir", None) or DEFAULT_WORKDIR).resolve()
    return default_settings(workdir)


def add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="config YAML (default: the built-in demo config)")
    p.add_argument("--workdir", metavar="DIR",
                   help=f"where the built-in config keeps its files (default: ./{DEFAULT_WORKDIR})")


def time_arg(value: str) -> int:
    """A date or ISO time → microseconds since the epoch (UTC)."""
    import datetime as dt

    try:
        if len(value) == 10:
            t = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
        else:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write YYYY-MM-DD or an ISO time like 2026-11-21T10:00:00Z") from None
    return int(t.timestamp() * 1_000_000)


def date_arg(value: str) -> str:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: write YYYY-MM-DD") from None
    return value


def open_client(args: argparse.Namespace) -> Any:
    """A ledger reader: the running service if there is one, else the file itself."""
    from ledgergate.ledger.client import open_ledger

    if getattr(args, "db", None):
        return open_ledger(db=Path(args.db), socket=None, keys_dir=None)
    s = settings_of(args)
    return open_ledger(db=Path(s.ledger.path), socket=s.ledger.socket_path, keys_dir=Path(s.ledger.keys_dir))


def progress_bar(stage: str, frac: float) -> None:
    sys.stderr.write(f"\r  [{'#' * int(frac * 20):<20}] {stage:<40}")
    if frac >= 1:
        sys.stderr.write("\n")
    sys.stderr.flush()


def command(parent: Any, name: str, fn: Callable[[argparse.Namespace], int], help: str,
            config: bool = True) -> argparse.ArgumentParser:
    """Add subcommand ``name`` running ``fn`` (with --config/--workdir unless ``config`` is False)."""
    sp = parent.add_parser(name, help=help, description=help)
    sp.set_defaults(fn=fn)
    if config:
        add_config(sp)
    return sp
