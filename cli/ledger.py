"""Reading the signed ledger: keys, events list/show, verify, export (auditor bundle), prove."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ledgergate.devstack.table import table

from .common import EXIT_FAIL, EXIT_OK, Parser, command, open_client, settings_of, time_arg


def cmd_keys(args: argparse.Namespace) -> int:
    from ledgergate.ledger import keys

    directory = Path(args.dir) if args.dir else Path(settings_of(args).ledger.keys_dir)
    kid = keys.generate(directory) if args.action == "generate" else keys.rotate(directory)
    print(f"{'generated' if args.action == 'generate' else 'rotated to'} key {kid} in {directory}")
    return EXIT_OK


def cmd_events_list(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        rows = led.list(since=args.since, until=args.until, route=args.route, person=args.person,
                        tenant=args.tenant, decision=args.decision, category=args.category,
                        kind=args.kind, limit=args.limit, scope=args.as_tenant)
    if args.json:
        for r in rows:
            print(json.dumps(r, default=str))
        return EXIT_OK
    print(table(rows, ["seq", "recorded_at", "kind", "request_id", "person", "tenant", "route_id",
                        "outcome", "rule_id", "categories"]))
    return EXIT_OK


def cmd_events_show(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        rec = led.show(args.id, scope=args.as_tenant)
    print(json.dumps(rec, indent=2, default=str))
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    mode = "all" if args.all_signatures else "anchored"
    if args.bundle:
        from ledgergate.ledger.bundle import verify_bundle

        d = verify_bundle(Path(args.bundle), signatures=mode).to_dict()
        result = {"ok": d["ok"], "records": d["records_checked"], "checkpoints": d["checkpoints_checked"],
                  "problems": d["problems"],
                  "pruned": [{"from_seq": p.get("seq"), "to_seq": None, "reason": p.get("message")}
                             for p in d.get("info", [])]}
    else:
        with open_client(args) as led:
            result = led.verify(from_us=args.from_, to_us=args.to, signatures=mode)
    for p in result.get("problems", []):
        print(f"{p.get('kind')}: seq {p.get('seq')} {p.get('record_id') or ''} {p.get('message')}".rstrip())
    for p in result.get("pruned", []):
        span = f"{p.get('from_seq')}..{p.get('to_seq')}" if p.get("to_seq") is not None else f"{p.get('from_seq')}"
        print(f"pruned: seq {span} ({p.get('reason') or 'retention'})")
    status = "INTACT" if result.get("ok") else "TAMPERED"
    print(f"{status}: {result.get('records', 0)} records, {result.get('checkpoints', 0)} checkpoints checked")
    return EXIT_OK if result.get("ok") else EXIT_FAIL


def cmd_export(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        out = led.export(from_us=args.from_, to_us=args.to, out=Path(args.out).resolve())
    print(f"bundle written to {out}")
    return EXIT_OK


def cmd_prove(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        proof = led.prove(args.record_id)
    print(json.dumps(proof, indent=2))
    return EXIT_OK


def register(sub: Any) -> None:
    """Add keys, events, verify, export and prove."""
    k = command(sub, "keys", cmd_keys, "generate or rotate the ledger signing key")
    k.add_argument("action", choices=["generate", "rotate"])
    k.add_argument("--dir", help="keyring directory (default: ledger.keys_dir of the config)")

    ev = sub.add_parser("events", help="list or show audit records").add_subparsers(dest="sub", required=True,
                                                                                 parser_class=Parser)
    el = command(ev, "list", cmd_events_list, "list audit records (works while the pipeline runs)")
    el.add_argument("--db", help="a ledger file (when the service is stopped)")
    el.add_argument("--since", type=time_arg)
    el.add_argument("--until", type=time_arg)
    for opt in ("route", "person", "tenant", "decision", "category", "kind"):
        el.add_argument(f"--{opt}")
    el.add_argument("--limit", type=int, default=100)
    el.add_argument("--json", action="store_true", help="one JSON object per line")
    el.add_argument("--as-tenant", metavar="T", help="see the ledger as tenant T does: only its records")
    es = command(ev, "show", cmd_events_show, "show one record (record id or request id)")
    es.add_argument("id")
    es.add_argument("--db")
    es.add_argument("--as-tenant", metavar="T", help="only if the record belongs to tenant T")

    v = command(sub, "verify", cmd_verify, "verify signatures, sequence, Merkle tree and checkpoints")
    v.add_argument("--db", help="a ledger file (when the service is stopped)")
    v.add_argument("--bundle", help="an exported auditor bundle directory (needs nothing else)")
    v.add_argument("--from", dest="from_", type=time_arg)
    v.add_argument("--to", type=time_arg)
    v.add_argument("--all-signatures", action="store_true",
                   help="check every record's Ed25519 signature (default: the tail after the last signed "
                        "checkpoint plus a 1%% sample; the checkpoints anchor the rest through the Merkle tree)")

    x = command(sub, "export", cmd_export, "write an offline-verifiable auditor bundle")
    x.add_argument("--db")
    x.add_argument("--from", dest="from_", type=time_arg)
    x.add_argument("--to", type=time_arg)
    x.add_argument("--out", required=True)

    pr = command(sub, "prove", cmd_prove, "print an inclusion proof for one record")
    pr.add_argument("record_id")
    pr.add_argument("--db")
