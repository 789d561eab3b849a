"""Running the stages: broker, topics, worker, ledger service, proxy, the whole stack (`up`), the demo,
the fake upstream, and dev tokens for the dev identity provider.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import DEFAULT_WORKDIR, EXIT_OK, CliError, command, settings_of


def cmd_broker(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import time

    from ledgergate.broker import EmbeddedBroker, ensure_topics, topic_specs

    s = settings_of(args)
    if not s.broker.embedded:
        raise CliError(f"the config names an external broker ({s.broker.bootstrap}); nothing to run")
    b = EmbeddedBroker(s.broker.embedded_host, s.broker.embedded_port)
    b.start()
    asyncio.run(ensure_topics(b.bootstrap, topic_specs(s.topics, s.broker.partitions)))
    asyncio.run(_publish_schemas(s))
    print(f"broker ready on {b.bootstrap}; Ctrl-C stops it", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    try:
        while not stop["now"] and b.proc is not None and b.proc.poll() is None:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        b.stop()
    return EXIT_OK


def cmd_topics(args: argparse.Namespace) -> int:
    import asyncio

    from ledgergate.broker import ensure_topics, topic_specs

    s = settings_of(args)
    specs = topic_specs(s.topics, s.broker.partitions, s.broker.replication_factor)
    asyncio.run(ensure_topics(s.broker.bootstrap, specs))
    for t in specs:
        compact = ", compacted" if (t.topic_configs or {}).get("cleanup.policy") == "compact" else ""
        print(f"{t.name}: {t.num_partitions} partitions{compact}")
    n = asyncio.run(_publish_schemas(s))
    print(f"{s.topics.schemas}: {n} writer schemas of this release published")
    return EXIT_OK


async def _publish_schemas(s: Any) -> int:
    """Every packaged schema onto the schemas topic (writers also do it before their first message)."""
    from ledgergate.schemas.codec import SCHEMA_NAMES, schema
    from ledgergate.schemas.store import SchemaTopic

    return await SchemaTopic(s.broker.bootstrap, s.topics.schemas).publish(
        [schema(n) for n in SCHEMA_NAMES])


def cmd_asyncapi(args: argparse.Namespace) -> int:
    import json
    from importlib.metadata import version

    from ledgergate.schemas.asyncapi import document, to_yaml

    s = settings_of(args)
    doc = document(prefix=s.broker.topic_prefix, partitions=s.broker.partitions,
                   replicas=s.broker.replication_factor, bootstrap=s.broker.bootstrap,
                   version=version("ledgergate"))
    text = json.dumps(doc, indent=2) + "\n" if args.json else to_yaml(doc)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from ledgergate.streams.wiring import run_worker

    run_worker(settings_of(args), ready_file=Path(args.ready_file) if args.ready_file else None,
               metrics_port=args.metrics_port)
    return EXIT_OK


def cmd_ledger(args: argparse.Namespace) -> int:
    from ledgergate.cli.background import service_background
    from ledgergate.ledger.service import run_service

    return run_service(settings_of(args), background=service_background, from_beginning=args.from_beginning)


def cmd_proxy(args: argparse.Namespace) -> int:
    from ledgergate.proxy.wiring import run

    settings = settings_of(args)
    if args.instance_id:
        import re

        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", args.instance_id):
            raise CliError(f"--instance-id {args.instance_id!r}: use 1-100 letters, digits, '-', '_' or '.'")
        # a supervisor restarting the proxy keeps its id: same spool (replayed), same reply topic
        settings = settings.model_copy(update={"proxy": settings.proxy.model_copy(
            update={"instance_id": args.instance_id})})
    run(settings)
    return EXIT_OK


def cmd_up(args: argparse.Namespace) -> int:
    from ledgergate.devstack.demo import prepare_workdir
    from ledgergate.devstack.supervisor import Stack, run_forever

    if args.config:
        from ledgergate.config import load_settings

        cfg = Path(args.config).resolve()
        settings = load_settings(cfg)
        workdir = Path(args.workdir or cfg.parent).resolve()
        _ensure_keys(settings, cfg)
    else:
        workdir = Path(args.workdir or DEFAULT_WORKDIR).resolve()
        cfg, settings = prepare_workdir(workdir, free_ports=False)
        print(f"  config   {cfg} (the built-in config; ledger, keys and spool beside it)")
    # the built-in config's upstream is the local fake: start it unless told otherwise
    fake = args.fake_upstream if args.fake_upstream is not None else not args.config
    return run_forever(Stack(settings, cfg, workdir, workers=args.workers,
                             fake_upstream_port=FAKE_UPSTREAM_PORT if fake else None))


FAKE_UPSTREAM_PORT = 18000


def _ensure_keys(settings: Any, cfg: Path) -> None:
    """A new deployment gets its ledger signing key (and dev issuer key); an existing ledger
    without its key is an error naming the command, never a silent new key."""
    from ledgergate.devstack.demo import prepare_keys

    led = settings.ledger
    keys_dir = Path(led.keys_dir)
    if led.signing_key is None and not (keys_dir / "active").exists():
        if Path(led.path).exists():
            raise CliError(
                f"the ledger {led.path} exists but {keys_dir} holds no active signing key: restore "
                f"that directory, or start a new key with `ledgergate keys generate --config {cfg}`")
        prepare_keys(settings)
        print(f"  keys     created the ledger signing key in {keys_dir} (new ledger)")
    else:
        prepare_keys(settings)  # the dev issuer's key, when the config has one


def cmd_demo(args: argparse.Namespace) -> int:
    from ledgergate.devstack.demo import run_demo

    return run_demo(Path(args.workdir).resolve())


def cmd_fake_upstream(args: argparse.Namespace) -> int:
    from ledgergate.devstack.fakeupstream import run_fake_upstream

    run_fake_upstream(args.host, args.port)
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from ledgergate.proxy.devissuer import dev_token, ensure_dev_issuer

    s = settings_of(args)
    dev = s.identity.dev
    if dev is None:
        raise CliError("the config has no identity.dev issuer: `ledgergate token` signs dev tokens only")
    jwks = next((i.jwks_file for i in s.identity.issuers if i.issuer == dev.issuer and i.jwks_file), None)
    if jwks is None:
        raise CliError(f"no identity.issuers entry with issuer {dev.issuer!r} and a jwks_file")
    ensure_dev_issuer(dev, Path(jwks))
    print(dev_token(dev, sub=args.sub, tenant=args.tenant, roles=list(args.role or []),
                    ttl_seconds=args.ttl))
    return EXIT_OK


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: give a number from 0 to 65535")
    return port


def _workers(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: give a whole number of worker processes, at least 1")
    return n


def register(sub: Any) -> None:
    """Add the commands that run a stage or the whole stack."""
    command(sub, "broker", cmd_broker, "run the embedded Kafka-compatible broker (Tansu) and create the topics")
    command(sub, "topics", cmd_topics, "create the topics (explicit partitions) on the configured broker "
                                        "and publish this release's writer schemas")
    a = command(sub, "asyncapi", cmd_asyncapi,
                "print the AsyncAPI 3 document of the config's topics (schemas/asyncapi.yaml is the "
                "built-in config's)")
    a.add_argument("--out", metavar="FILE", help="write it to FILE instead of stdout")
    a.add_argument("--json", action="store_true", help="JSON instead of YAML")
    w = command(sub, "worker", cmd_worker, "run a stream worker (classify + decide)")
    w.add_argument("--ready-file", help=argparse.SUPPRESS)
    w.add_argument("--metrics-port", type=_port, default=None,
                   help="serve Prometheus /metrics on this port (overrides worker.metrics_port; 0: any free port)")
    lg = command(sub, "ledger", cmd_ledger,
                 "run the ledger service (single sequencer; owns the DuckDB file; serves queries)")
    lg.add_argument("--from-beginning", action="store_true",
                    help="re-read every topic from its start (after an in-memory broker restart); "
                         "records already held are skipped")
    px = command(sub, "proxy", cmd_proxy, "run the OpenAI-compatible proxy")
    px.add_argument("--instance-id", help="this proxy's id (default: proxy.instance_id, else host-pid); "
                                          "letters, digits, '-', '_' and '.'")
    u = command(sub, "up", cmd_up, "run broker, worker, ledger service and proxy together until Ctrl-C")
    u.add_argument("--workers", type=_workers, default=1,
                   help="worker processes sharing the partitions of one consumer group (default 1)")
    u.add_argument("--fake-upstream", action=argparse.BooleanOptionalAction, default=None,
                   help=f"also run the local fake OpenAI-compatible upstream on 127.0.0.1:"
                        f"{FAKE_UPSTREAM_PORT} (default: on with the built-in config, off with --config)")
    d = sub.add_parser("demo", help="run the whole pipeline on scripted traffic, verify, and write a report")
    d.add_argument("--workdir", default="demo-output", help="where ledger, keys and report go (default ./demo-output)")
    d.set_defaults(fn=cmd_demo)
    f = sub.add_parser("fake-upstream", help="run the local fake OpenAI-compatible upstream")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=18000)
    f.set_defaults(fn=cmd_fake_upstream)

    t = command(sub, "token", cmd_token, "print a dev JWT from the config's dev issuer")
    t.add_argument("--sub", required=True)
    t.add_argument("--tenant", required=True)
    t.add_argument("--role", action="append", help="repeatable")
    t.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
