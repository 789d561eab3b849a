"""`ledgergate config check`: validate a config file and print every problem with its field path."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import EXIT_OK, EXIT_USAGE, Parser, command


def cmd_config_check(args: argparse.Namespace) -> int:
    from ledgergate.config import ConfigError, load_settings

    try:
        s = load_settings(args.file)
    except ConfigError as exc:
        for path, msg in exc.problems:
            sys.stderr.write(f"{exc.source}: {path + ': ' if path else ''}{msg}\n")
        return EXIT_USAGE
    print(f"{args.file}: ok ({len(s.routes)} routes, {len(s.upstreams)} upstreams, "
          f"{len(s.policies)} policies, broker {'embedded' if s.broker.embedded else s.broker.bootstrap})")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``config check``."""
    cfg = sub.add_parser("config", help="check a config file").add_subparsers(dest="sub", required=True,
                                                                           parser_class=Parser)
    c = command(cfg, "check", cmd_config_check,
                "validate a config file and print every problem with its field path", config=False)
    c.add_argument("file")
