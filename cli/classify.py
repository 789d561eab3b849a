"""`ledgergate classify`: classify {id,text} JSONL and print predictions (the scorer's format)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_OK, CliError, command, settings_of


def cmd_classify(args: argparse.Namespace) -> int:
    import secrets

    from ledgergate.streams.classify.build import build_classifier
    from ledgergate.streams.classify.evalfile import predict_lines

    s = settings_of(args)
    src = Path(args.file)
    try:
        lines = [json.loads(line) for line in src.read_text("utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise CliError(f"cannot read {src}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise CliError(f"{src}: line {exc.lineno}... is not JSON: {exc.msg}") from exc
    for i, obj in enumerate(lines, 1):
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(obj.get("text"), str):
            raise CliError(f"{src}: record {i} needs string fields \"id\" and \"text\"")
    needed = None
    if args.policy:
        bundle = s.bundles().get(args.policy)
        if bundle is None:
            raise CliError(f"unknown policy {args.policy!r}: known {sorted(s.bundles())}")
        needed = bundle.needed_categories()
    classifier = build_classifier(model_name=s.worker.model_name)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        # predictions redact with type tags, so the value-hash key only needs to exist:
        # the deployment's if configured, else a throwaway one (nothing written to disk)
        key = (s.ledger.hash_key.get_secret_value().encode() if s.ledger.hash_key is not None
               else secrets.token_bytes(32))
        for pred in predict_lines(classifier, lines, hash_key=key, needed=needed):
            out.write(json.dumps(pred, ensure_ascii=False) + "\n")
    finally:
        if args.out:
            out.close()
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``classify``."""
    cl = command(sub, "classify", cmd_classify, "classify {id,text} JSONL and print predictions (score.py format)")
    cl.add_argument("file")
    cl.add_argument("--policy", help="only what this policy needs")
    cl.add_argument("--out", help="write here instead of stdout")
