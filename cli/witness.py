"""`ledgergate witness`: the auditor's transparency-log witness (its own process and key)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import EXIT_OK, CliError, Parser, command


def _vkeys(values: list[str] | None) -> list[str]:
    out = []
    for v in values or []:
        p = Path(v)
        out += p.read_text().split() if p.is_file() else [v]
    return out


def cmd_witness_init(args: argparse.Namespace) -> int:
    from ledgergate.ledger.witness import init

    if not args.log_key:
        raise CliError("a witness must know the log's key: pass --log-key VKEY|FILE (print it "
                       "with `ledgergate keys vkey` on the ledger's side)")
    v = init(Path(args.state), args.name, _vkeys(args.log_key))
    print(f"witness {args.name} created in {args.state}; its verifier key (give it to whoever "
          "verifies, for --witness-key):")
    print(v.vkey())
    return EXIT_OK


def cmd_witness_serve(args: argparse.Namespace) -> int:
    from ledgergate.ledger.witness_server import serve

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise CliError(f"--listen {args.listen!r} is not HOST:PORT, e.g. 127.0.0.1:7380")
    serve(Path(args.state), host, int(port))
    return EXIT_OK


def cmd_witness_trust(args: argparse.Namespace) -> int:
    from ledgergate.ledger.witness import add_log_keys

    add_log_keys(Path(args.state), _vkeys(args.log_key))
    print(f"witness in {args.state} now accepts {len(_vkeys(args.log_key))} more log key(s); "
          "restart `witness serve` to use them")
    return EXIT_OK


def cmd_witness_vkey(args: argparse.Namespace) -> int:
    from ledgergate.ledger.witness import Witness

    print(Witness(Path(args.state)).verifier.vkey())
    return EXIT_OK


def register(sub: Any) -> None:
    """Add `witness init|serve|trust|vkey`."""
    w = sub.add_parser("witness", help="run a transparency-log witness that cosigns the ledger's "
                       "checkpoints (C2SP tlog-witness)").add_subparsers(
        dest="sub", required=True, parser_class=Parser)
    i = command(w, "init", cmd_witness_init, "create a witness state directory and key", config=False)
    i.add_argument("--state", required=True, help="the witness's state directory")
    i.add_argument("--name", required=True, help="the witness's key name, e.g. auditor.example/w1")
    i.add_argument("--log-key", action="append", metavar="VKEY|FILE",
                   help="a log verifier key to accept checkpoints from (repeatable)")
    s = command(w, "serve", cmd_witness_serve, "serve add-checkpoint until interrupted", config=False)
    s.add_argument("--state", required=True)
    s.add_argument("--listen", default="127.0.0.1:7380", help="HOST:PORT (default 127.0.0.1:7380)")
    t = command(w, "trust", cmd_witness_trust, "accept another log key (after a rotation)",
                config=False)
    t.add_argument("--state", required=True)
    t.add_argument("--log-key", action="append", required=True, metavar="VKEY|FILE")
    v = command(w, "vkey", cmd_witness_vkey, "print the witness's verifier key", config=False)
    v.add_argument("--state", required=True)
