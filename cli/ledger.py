"""Reading the signed ledger: keys, events list/show, verify, export (auditor bundle), prove."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ledgergate.devstack.table import table

from .common import EXIT_FAIL, EXIT_OK, CliError, Parser, command, open_client, settings_of, time_arg


def cmd_keys(args: argparse.Namespace) -> int:
    from ledgergate.ledger import keys

    s = settings_of(args)
    directory = Path(args.dir) if args.dir else Path(s.ledger.keys_dir)
    if args.action == "vkey":
        from ledgergate.ledger.note import SIG_ED25519, Verifier
        from ledgergate.ledger.store import origin_of

        ring = keys.load_dir(directory, require_private=False)
        for kid in sorted(ring.public):  # every key: a witness must know rotated ones too
            origin = origin_of(s.ledger.ledger_id)
            print(Verifier(origin, SIG_ED25519, ring.public[kid].public_key).vkey())
        return EXIT_OK
    if args.action == "manifest":
        ring = keys.load_dir(directory, require_private=False)
        print(json.dumps(ring.public_manifest(), indent=2))
        return EXIT_OK
    kid = keys.generate(directory) if args.action == "generate" else keys.rotate(directory)
    print(f"{'generated' if args.action == 'generate' else 'rotated to'} key {kid} in {directory}")
    return EXIT_OK


def cmd_events_list(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        rows = led.list(since=args.since, until=args.until, route=args.route, person=args.person,
                        tenant=args.tenant, decision=args.decision, category=args.category,
                        kind=args.kind, limit=args.limit, scope=args.as_tenant)
    if args.json:  # JSON Lines: one record object per line, metadata as an object
        for r in rows:
            print(json.dumps(_json_record(r), default=str))
        return EXIT_OK
    print(table(rows, ["seq", "recorded_at", "kind", "request_id", "person", "tenant", "route_id",
                        "outcome", "rule_id", "categories"]))
    return EXIT_OK


def _json_record(row: dict[str, Any]) -> dict[str, Any]:
    """A listed record for JSON output: the stored metadata JSON text becomes an object."""
    meta = row.get("metadata")
    if isinstance(meta, str):
        try:
            row = {**row, "metadata": json.loads(meta) if meta else {}}
        except json.JSONDecodeError:
            pass  # not JSON after all: leave the text as stored
    return row


def cmd_events_show(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        rec = led.show(args.id, scope=args.as_tenant)
    print(json.dumps(rec, indent=2, default=str))
    return EXIT_OK


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}") from exc


def _witness_keys(values: list[str] | None) -> tuple[str, ...]:
    """--witness-key takes a vkey or a file holding one."""
    out = []
    for v in values or []:
        out.append(_read(v, "witness key file").strip() if Path(v).is_file() else v)
    return tuple(out)


def cmd_verify(args: argparse.Namespace) -> int:
    mode = "all" if args.all_signatures else "anchored"
    checkpoint = _read(args.trusted_checkpoint, "trusted checkpoint") if args.trusted_checkpoint else None
    witnesses = _witness_keys(args.witness_key)
    if args.bundle:
        from ledgergate.ledger.bundle import verify_bundle
        from ledgergate.ledger.trust import load_anchors

        # without --trusted-keys the bundle's own keys are used, and the result says so
        anchors = load_anchors(trusted_keys=args.trusted_keys, trusted_checkpoint=checkpoint,
                               witness_keys=witnesses, fallback="self")
        rep = verify_bundle(Path(args.bundle), anchors=anchors, signatures=mode)
        result = rep.to_dict()
        result.update(records=rep.records_checked, checkpoints=rep.checkpoints_checked)
    else:
        with open_client(args) as led:  # first: a missing file is named as such
            if args.db and not args.trusted_keys:
                raise CliError("verifying a ledger file needs the keys you trust: add "
                               "--trusted-keys DIR|FILE (the public keys you hold, e.g. a copy "
                               "of the keys directory)")
            result = led.verify(from_us=args.from_, to_us=args.to, signatures=mode,
                                trusted_keys=args.trusted_keys, trusted_checkpoint=checkpoint,
                                witness_keys=witnesses)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return EXIT_OK if result.get("ok") else EXIT_FAIL
    _print_result(result)
    return EXIT_OK if result.get("ok") else EXIT_FAIL


def _print_result(result: dict[str, Any]) -> None:
    from ledgergate.ledger.verify_summary import summary_lines

    for p in result.get("problems", []):
        seq = f"seq {p.get('seq')} " if p.get("seq") is not None else ""
        print(f"{p.get('kind')}: {seq}{p.get('message')}")
    for p in result.get("info", []):
        print(f"{p.get('kind')}: {p.get('message')}")
    status = "INTACT" if result.get("ok") else "TAMPERED"
    print(f"{status}: {result.get('records', 0)} records, {result.get('checkpoints', 0)} "
          "checkpoints checked")
    for line in summary_lines(result):
        print(f"  {line}")


def cmd_checkpoint(args: argparse.Namespace) -> int:
    with open_client(args) as led:
        text = led.checkpoint_note()
    try:
        Path(args.out).write_text(text)
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from exc
    size = text.split("\n")[1]
    print(f"checkpoint at tree size {size} written to {args.out} (C2SP tlog-checkpoint)")
    return EXIT_OK


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
    k.add_argument("action", choices=["generate", "rotate", "vkey", "manifest"],
                   help="rotate: the retiring key endorses the new one; vkey: the C2SP verifier "
                        "keys a witness needs; manifest: the public keys as JSON")
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
    el.add_argument("--json", action="store_true",
                    help="JSON Lines: one JSON object per record and line (metadata as an object)")
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
    v.add_argument("--trusted-keys", metavar="DIR|FILE",
                   help="the public keys you trust (a directory of <key_id>.pub, a key manifest JSON or "
                        "one .pub); keys in the ledger or bundle are only checked against these")
    v.add_argument("--trusted-checkpoint", metavar="FILE",
                   help="a checkpoint you kept (from `ledgergate checkpoint`): the ledger must extend it")
    v.add_argument("--witness-key", metavar="VKEY|FILE", action="append",
                   help="require this witness's cosignature (repeatable)")
    v.add_argument("--json", action="store_true", help="print the verify result as JSON")

    c = command(sub, "checkpoint", cmd_checkpoint,
                "write the latest signed checkpoint as a C2SP tlog-checkpoint note")
    c.add_argument("--db", help="a ledger file (when the service is stopped)")
    c.add_argument("--out", required=True, help="where to write the checkpoint")

    x = command(sub, "export", cmd_export, "write an offline-verifiable auditor bundle")
    x.add_argument("--db")
    x.add_argument("--from", dest="from_", type=time_arg)
    x.add_argument("--to", type=time_arg)
    x.add_argument("--out", required=True)

    pr = command(sub, "prove", cmd_prove, "print an inclusion proof for one record")
    pr.add_argument("record_id")
    pr.add_argument("--db")
