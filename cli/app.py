"""`ledgergate` — one entry point, one subcommand per stage.

Every error a user can cause (bad arguments, bad config, a missing file, an
unreachable broker) ends as one line on stderr and exit code 2; a ledger that
fails verification exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

from ledgergate.errors import LedgergateError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
# where the built-in config keeps ledger, keys and spool when no --config is given
DEFAULT_WORKDIR = "ledgergate-data"


class CliError(LedgergateError):
    """A user error the CLI reports in one line (exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------ config helpers

def _settings(args: argparse.Namespace) -> Any:
    """The Settings of --config FILE, else the built-in demo config under --workdir."""
    from ledgergate.config import default_settings, load_settings

    if getattr(args, "config", None):
        return load_settings(args.config)
    workdir = Path(getattr(args, "workdir", None) or DEFAULT_WORKDIR).resolve()
    return default_settings(workdir)


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="config YAML (default: the built-in demo config)")
    p.add_argument("--workdir", metavar="DIR",
                   help=f"where the built-in config keeps its files (default: ./{DEFAULT_WORKDIR})")


def _time_arg(value: str) -> int:
    """A date or ISO time → microseconds since the epoch (UTC)."""
    import datetime as dt

    try:
        if len(value) == 10:
            t = dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.timezone.utc)
        else:
            t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write YYYY-MM-DD or an ISO time like 2026-11-21T10:00:00Z") from None
    return int(t.timestamp() * 1_000_000)


def _date_arg(value: str) -> str:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: write YYYY-MM-DD") from None
    return value


# ------------------------------------------------------------------ commands

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


def cmd_broker(args: argparse.Namespace) -> int:
    import signal
    import time

    from ledgergate.broker import EmbeddedBroker, ensure_topics, topic_specs
    import asyncio

    s = _settings(args)
    if not s.broker.embedded:
        raise CliError(f"the config names an external broker ({s.broker.bootstrap}); nothing to run")
    b = EmbeddedBroker(s.broker.embedded_host, s.broker.embedded_port)
    b.start()
    asyncio.run(ensure_topics(b.bootstrap, topic_specs(s.topics, s.broker.partitions)))
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

    s = _settings(args)
    specs = topic_specs(s.topics, s.broker.partitions, s.broker.replication_factor)
    asyncio.run(ensure_topics(s.broker.bootstrap, specs))
    for t in specs:
        print(f"{t.name}: {t.num_partitions} partitions")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from ledgergate.streams.wiring import run_worker

    run_worker(_settings(args), ready_file=Path(args.ready_file) if args.ready_file else None)
    return EXIT_OK


def cmd_ledger(args: argparse.Namespace) -> int:
    from ledgergate.ledger.service import run_service
    from ledgergate.cli.background import service_background

    return run_service(_settings(args), background=service_background, from_beginning=args.from_beginning)


def cmd_proxy(args: argparse.Namespace) -> int:
    from ledgergate.proxy.wiring import run

    run(_settings(args))
    return EXIT_OK


def cmd_up(args: argparse.Namespace) -> int:
    from ledgergate.devstack.demo import prepare_workdir
    from ledgergate.devstack.supervisor import Stack, run_forever

    if args.config:
        from ledgergate.config import load_settings

        cfg = Path(args.config).resolve()
        settings = load_settings(cfg)
        workdir = Path(args.workdir or cfg.parent).resolve()
    else:
        workdir = Path(args.workdir or DEFAULT_WORKDIR).resolve()
        cfg, settings = prepare_workdir(workdir, free_ports=False)
    return run_forever(Stack(settings, cfg, workdir, workers=args.workers))


def cmd_demo(args: argparse.Namespace) -> int:
    from ledgergate.devstack.demo import run_demo

    return run_demo(Path(args.workdir).resolve())


def cmd_fake_upstream(args: argparse.Namespace) -> int:
    from ledgergate.devstack.fakeupstream import run_fake_upstream

    run_fake_upstream(args.host, args.port)
    return EXIT_OK


def cmd_token(args: argparse.Namespace) -> int:
    from ledgergate.proxy.devissuer import dev_token, ensure_dev_issuer

    s = _settings(args)
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


def cmd_keys(args: argparse.Namespace) -> int:
    from ledgergate.ledger import keys

    directory = Path(args.dir) if args.dir else Path(_settings(args).ledger.keys_dir)
    kid = keys.generate(directory) if args.action == "generate" else keys.rotate(directory)
    print(f"{'generated' if args.action == 'generate' else 'rotated to'} key {kid} in {directory}")
    return EXIT_OK


def _client(args: argparse.Namespace) -> Any:
    """A ledger reader: the running service if there is one, else the file itself."""
    from ledgergate.ledger.client import open_ledger

    if getattr(args, "db", None):
        return open_ledger(db=Path(args.db), socket=None, keys_dir=None)
    s = _settings(args)
    return open_ledger(db=Path(s.ledger.path), socket=s.ledger.socket_path, keys_dir=Path(s.ledger.keys_dir))


def cmd_events_list(args: argparse.Namespace) -> int:
    with _client(args) as led:
        rows = led.list(since=args.since, until=args.until, route=args.route, person=args.person,
                        tenant=args.tenant, decision=args.decision, category=args.category,
                        kind=args.kind, limit=args.limit, scope=args.as_tenant)
    if args.json:
        for r in rows:
            print(json.dumps(r, default=str))
        return EXIT_OK
    print(_table(rows, ["seq", "recorded_at", "kind", "request_id", "person", "tenant", "route_id",
                        "outcome", "rule_id", "categories"]))
    return EXIT_OK


def cmd_events_show(args: argparse.Namespace) -> int:
    with _client(args) as led:
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
        with _client(args) as led:
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
    with _client(args) as led:
        out = led.export(from_us=args.from_, to_us=args.to, out=Path(args.out).resolve())
    print(f"bundle written to {out}")
    return EXIT_OK


def cmd_prove(args: argparse.Namespace) -> int:
    with _client(args) as led:
        proof = led.prove(args.record_id)
    print(json.dumps(proof, indent=2))
    return EXIT_OK


def cmd_classify(args: argparse.Namespace) -> int:
    from ledgergate.streams.classify.build import build_classifier
    import secrets

    from ledgergate.streams.classify.evalfile import predict_lines

    s = _settings(args)
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
    from ledgergate.streams.policy.publish import publish_bundle

    s = _settings(args)
    bundle = load_policy_file(Path(args.file))
    asyncio.run(publish_bundle(s.broker.bootstrap, s.topics.policies, bundle))
    print(f"published policy {bundle.id} v{bundle.version} (hash {bundle.content_hash[:12]})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from ledgergate.reports.generate import run_report

    s = _settings(args)
    with _client(args) as led:
        path = run_report(s, led, kind=args.kind, from_date=args.from_, to_date=args.to,
                          tenant=args.tenant, route=args.route, out=Path(args.out),
                          progress=None if args.quiet else _progress)
    print(f"report written to {path}")
    return EXIT_OK


def cmd_ingest_mlflow(args: argparse.Namespace) -> int:
    import time

    from ledgergate.ingest.mlflow import parse_since, run_ingest

    s = _settings(args)
    if bool(args.tracking_uri) == bool(args.export_dir) and not s.mlflow.tracking_uri:
        raise CliError("give --tracking-uri URI or --export-dir DIR (or set mlflow.tracking_uri in the config)")
    if args.tracking_uri and args.export_dir:
        raise CliError("give either --tracking-uri or --export-dir, not both")
    since = parse_since(args.since, time.time_ns() // 1000) if args.since else None
    summary = run_ingest(s, tracking_uri=args.tracking_uri, export_dir=args.export_dir,
                         experiments=tuple(args.experiment or ()), since_us=since,
                         state_dir=Path(args.state_dir) if args.state_dir else Path(s.mlflow.state_dir),
                         progress=not args.quiet)
    for line in summary.lines():
        print(line)
    return EXIT_OK if summary.ok else EXIT_FAIL


def cmd_mlflow_log_metrics(args: argparse.Namespace) -> int:
    from ledgergate.ingest.logback import MetricsPeriod, log_metrics

    s = _settings(args)
    uri = args.tracking_uri or s.mlflow.tracking_uri
    if not uri:
        raise CliError("no MLflow tracking server: pass --tracking-uri URI or set mlflow.tracking_uri")
    period = MetricsPeriod.parse(args.period)
    with _client(args) as led:
        run_id = log_metrics(led.query, uri, args.experiment or s.mlflow.logback_experiment, period)
    print(f"governance metrics for {args.period} logged to MLflow run {run_id}")
    return EXIT_OK


def _progress(stage: str, frac: float) -> None:
    sys.stderr.write(f"\r  [{'#' * int(frac * 20):<20}] {stage:<40}")
    if frac >= 1:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _table(rows: Sequence[dict[str, Any]], cols: list[str]) -> str:
    if not rows:
        return "(no records)"
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "..."


# ------------------------------------------------------------------ parser

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ledgergate", description="LLM governance gateway and signed audit ledger")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def cmd(name: str, fn: Callable[[argparse.Namespace], int], help: str,
            parent: Any = sub, config: bool = True) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help, description=help)
        sp.set_defaults(fn=fn)
        if config:
            _add_config(sp)
        return sp

    cfg = sub.add_parser("config", help="check a config file").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    c = cmd("check", cmd_config_check, "validate a config file and print every problem with its field path", cfg, config=False)
    c.add_argument("file")

    cmd("broker", cmd_broker, "run the embedded Kafka-compatible broker (Tansu) and create the topics")
    cmd("topics", cmd_topics, "create the topics (explicit partitions) on the configured broker")
    w = cmd("worker", cmd_worker, "run a stream worker (classify + decide)")
    w.add_argument("--ready-file", help=argparse.SUPPRESS)
    lg = cmd("ledger", cmd_ledger, "run the ledger service (single sequencer; owns the DuckDB file; serves queries)")
    lg.add_argument("--from-beginning", action="store_true",
                    help="re-read every topic from its start (after an in-memory broker restart); "
                         "records already held are skipped")
    cmd("proxy", cmd_proxy, "run the OpenAI-compatible proxy")
    u = cmd("up", cmd_up, "run broker, worker, ledger service and proxy together until Ctrl-C")
    u.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    d = sub.add_parser("demo", help="run the whole pipeline on scripted traffic, verify, and write a report")
    d.add_argument("--workdir", default="demo-output", help="where ledger, keys and report go (default ./demo-output)")
    d.set_defaults(fn=cmd_demo)
    f = sub.add_parser("fake-upstream", help="run the local fake OpenAI-compatible upstream")
    f.add_argument("--host", default="127.0.0.1")
    f.add_argument("--port", type=int, default=18000)
    f.set_defaults(fn=cmd_fake_upstream)

    t = cmd("token", cmd_token, "print a dev JWT from the config's dev issuer")
    t.add_argument("--sub", required=True)
    t.add_argument("--tenant", required=True)
    t.add_argument("--role", action="append", help="repeatable")
    t.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")

    k = cmd("keys", cmd_keys, "generate or rotate the ledger signing key")
    k.add_argument("action", choices=["generate", "rotate"])
    k.add_argument("--dir", help="keyring directory (default: ledger.keys_dir of the config)")

    ev = sub.add_parser("events", help="list or show audit records").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    el = cmd("list", cmd_events_list, "list audit records (works while the pipeline runs)", ev)
    el.add_argument("--db", help="a ledger file (when the service is stopped)")
    el.add_argument("--since", type=_time_arg)
    el.add_argument("--until", type=_time_arg)
    for opt in ("route", "person", "tenant", "decision", "category", "kind"):
        el.add_argument(f"--{opt}")
    el.add_argument("--limit", type=int, default=100)
    el.add_argument("--json", action="store_true", help="one JSON object per line")
    el.add_argument("--as-tenant", metavar="T", help="see the ledger as tenant T does: only its records")
    es = cmd("show", cmd_events_show, "show one record (record id or request id)", ev)
    es.add_argument("id")
    es.add_argument("--db")
    es.add_argument("--as-tenant", metavar="T", help="only if the record belongs to tenant T")

    v = cmd("verify", cmd_verify, "verify signatures, sequence, Merkle tree and checkpoints")
    v.add_argument("--db", help="a ledger file (when the service is stopped)")
    v.add_argument("--bundle", help="an exported auditor bundle directory (needs nothing else)")
    v.add_argument("--from", dest="from_", type=_time_arg)
    v.add_argument("--to", type=_time_arg)
    v.add_argument("--all-signatures", action="store_true",
                   help="check every record's Ed25519 signature (default: the tail after the last signed "
                        "checkpoint plus a 1%% sample; the checkpoints anchor the rest through the Merkle tree)")

    x = cmd("export", cmd_export, "write an offline-verifiable auditor bundle")
    x.add_argument("--db")
    x.add_argument("--from", dest="from_", type=_time_arg)
    x.add_argument("--to", type=_time_arg)
    x.add_argument("--out", required=True)

    pr = cmd("prove", cmd_prove, "print an inclusion proof for one record")
    pr.add_argument("record_id")
    pr.add_argument("--db")

    cl = cmd("classify", cmd_classify, "classify {id,text} JSONL and print predictions (score.py format)")
    cl.add_argument("file")
    cl.add_argument("--policy", help="only what this policy needs")
    cl.add_argument("--out", help="write here instead of stdout")

    pol = sub.add_parser("policy", help="test or publish policy bundles").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    pt = cmd("test", cmd_policy_test, "run table-driven cases against a bundle", pol, config=False)
    pt.add_argument("bundle")
    pt.add_argument("cases")
    pp = cmd("publish", cmd_policy_publish, "publish a bundle to every worker (compacted topic)", pol)
    pp.add_argument("file")

    ing = sub.add_parser("ingest", help="ingest traffic from other systems").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    im = cmd("mlflow", cmd_ingest_mlflow, "MLflow runs and traces (live server or export dir) → request events", ing)
    im.add_argument("--tracking-uri")
    im.add_argument("--export-dir")
    im.add_argument("--experiment", action="append", help="name or id; repeatable (default: all)")
    im.add_argument("--since", help="ISO date/time, 24h, 7d, or µs since the epoch")
    im.add_argument("--state-dir", help="remembers what was ingested (default: mlflow.state_dir)")
    im.add_argument("--quiet", action="store_true")
    mlf = sub.add_parser("mlflow", help="log governance back to MLflow").add_subparsers(dest="sub", required=True, parser_class=_Parser)
    ml = cmd("log-metrics", cmd_mlflow_log_metrics, "log governance metrics of a period to an MLflow experiment", mlf)
    ml.add_argument("--period", required=True, help="FROM..TO dates, e.g. 2026-10-01..2026-10-31")
    ml.add_argument("--tracking-uri")
    ml.add_argument("--experiment")
    ml.add_argument("--db")

    rep = cmd("report", cmd_report, "render a compliance report from the ledger")
    rep.add_argument("kind", choices=["article12", "ll-2026-04"])
    rep.add_argument("--from", dest="from_", type=_date_arg, required=True, help="YYYY-MM-DD (inclusive)")
    rep.add_argument("--to", type=_date_arg, required=True, help="YYYY-MM-DD (inclusive)")
    rep.add_argument("--tenant")
    rep.add_argument("--route")
    rep.add_argument("--out", required=True, help="FILE.html, FILE.md or FILE.json")
    rep.add_argument("--db")
    rep.add_argument("--quiet", action="store_true")
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
