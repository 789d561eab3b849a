"""`ledgergate policy test|publish`: table-driven cases against a bundle; publish a bundle to the workers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import EXIT_FAIL, EXIT_OK, Parser, command, settings_of


def cmd_policy_test(args: argparse.Namespace) -> int:
    from ledgergate.streams.policy.cases import run_cases

    results = run_cases(Path(args.bundle), Path(args.cases))
    failed = [r for r in results if not r.ok]
    for r in results:
        print(f"{'PASS' if r.ok else 'FAIL'}  {r.name}: {r.detail}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_OK if not failed else EXIT_FAIL


def cmd_policy_publish(args: argparse.Namespace) -> int:
    import asyncio

    from ledgergate.config import load_policy_file
    from ledgergate.streams.policy.publish import publish_checked

    s = settings_of(args)
    bundle = load_policy_file(Path(args.file))
    # refused (exit 2) when the version is not greater than the one the workers run
    if asyncio.run(publish_checked(s.broker.bootstrap, s.topics.policies, bundle, s.bundles().values())):
        print(f"published policy {bundle.id} v{bundle.version} (hash {bundle.content_hash[:12]})")
    else:
        print(f"policy {bundle.id} v{bundle.version} (hash {bundle.content_hash[:12]}) already runs; "
              "nothing published")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``policy test`` and ``policy publish``."""
    pol = sub.add_parser("policy", help="test or publish policy bundles").add_subparsers(dest="sub", required=True,
                                                                                      parser_class=Parser)
    pt = command(pol, "test", cmd_policy_test, "run table-driven cases against a bundle", config=False)
    pt.add_argument("bundle")
    pt.add_argument("cases")
    pp = command(pol, "publish", cmd_policy_publish,
                 "publish a bundle to every worker (compacted topic); its version must be greater "
                 "than the running one")
    pp.add_argument("file")
