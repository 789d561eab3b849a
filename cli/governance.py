"""`ledgergate incident|override|route`: record human facts, signed like everything else.

Each command verifies the caller's own credential (``--token`` JWT or
``--api-key``) against the configured issuers and keys, checks the role the
``governance`` config section grants for it, builds a GovernanceEvent and
publishes it on ``<prefix>.governance``. The ledger service records it as its
own signed record; workers (overrides) and proxies (suspensions) act on it as
they read it, without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ledgergate.clock import now_us
from ledgergate.governance import facts

from .common import EXIT_OK, CliError, Parser, command, open_client, settings_of, time_arg


def _who(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    """The verified caller (a token or an API key is required: a human fact names its author)."""
    from ledgergate.proxy.identity import build_authenticator

    if not args.token and not args.api_key:
        raise CliError("say who you are: pass --token JWT (from your identity provider) or --api-key KEY")
    auth = build_authenticator(settings.identity)
    p = asyncio.run(auth.authenticate(f"Bearer {args.token}" if args.token else None, args.api_key))
    return facts.actor(p.person, p.tenant, p.roles, p.auth_method)


def _times(args: argparse.Namespace, settings: Any) -> tuple[int, int]:
    entered = now_us()
    at = args.at if args.at is not None else entered
    facts.check_times(at, entered, settings.governance.max_backdate_days)
    return at, entered


def _publish(settings: Any, ev: dict[str, Any]) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    from ledgergate.broker import BrokerError
    from ledgergate.schemas.codec import encode

    payload = encode("GovernanceEvent", ev)

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.broker.bootstrap, acks="all",
                                    enable_idempotence=False)
        try:
            await producer.start()
            await producer.send_and_wait(settings.topics.governance, key=ev["event_id"].encode(), value=payload)
        except KafkaError as exc:
            raise BrokerError(f"cannot publish {ev['action']} to {settings.topics.governance} at "
                              f"{settings.broker.bootstrap}: {exc!r}; is the broker running?") from exc
        finally:
            await producer.stop()

    asyncio.run(send())


def _record(args: argparse.Namespace, ident: str) -> dict[str, Any]:
    """A ledger record by seq, record id, request id or decision id (dec_...)."""
    from ledgergate.ledger.errors import NotFoundError
    from ledgergate.ledger.sign import decode_record

    with open_client(args) as led:
        if ident.isdigit():
            rows = led.query("SELECT record_id FROM records WHERE seq = ?", [int(ident)])
            if rows:
                ident = str(rows[0][0])
        try:
            return led.show(ident)
        except NotFoundError:
            pass
        if ident.startswith("dec"):
            rows = led.query("SELECT seq, payload FROM records WHERE kind = 'decision' AND outcome = 'block' "
                             "ORDER BY seq DESC LIMIT 20000")
            for seq, payload in rows:
                raw = bytes.fromhex(payload) if isinstance(payload, str) else bytes(payload)
                rec = decode_record(raw)
                if rec.get("decision_id") == ident:
                    return {**rec, "seq": seq}
    raise CliError(f"no ledger record {ident!r}: expected a seq, a record id, a request id or a blocked "
                   "decision's id (dec_...) as shown by `ledgergate events list`")


def cmd_incident_open(args: argparse.Namespace) -> int:
    s = settings_of(args)
    who = _who(args, s)
    facts.require_role(who, s.governance.incident_roles, "open an incident")
    at, entered = _times(args, s)
    seqs = [str(_record(args, c)["seq"]) for c in args.concerns]
    ev = facts.incident_open(who, at, entered, concerns=seqs, detected_at_us=args.detected_at, reason=args.reason)
    _publish(s, ev)
    print(f"incident {ev['incident_id']} opened by {who['person']} over records {', '.join(seqs) or '(none)'} "
          f"(event {ev['event_id']})")
    return EXIT_OK


def _incident_step(args: argparse.Namespace, build: Any, what: str, **kw: Any) -> int:
    s = settings_of(args)
    who = _who(args, s)
    facts.require_role(who, s.governance.incident_roles, what)
    at, entered = _times(args, s)
    ev = build(who, at, entered, incident_id=args.incident_id, **kw)
    _publish(s, ev)
    print(f"{ev['action']} recorded for incident {ev['incident_id']} by {who['person']} (event {ev['event_id']})")
    return EXIT_OK


def cmd_incident_triage(args: argparse.Namespace) -> int:
    return _incident_step(args, facts.incident_triage, "triage an incident",
                          classification=args.classification, reason=args.reason)


def cmd_incident_notify(args: argparse.Namespace) -> int:
    return _incident_step(args, facts.incident_notify, "record an incident notification",
                          notified_to=args.to, reason=args.reason)


def cmd_incident_close(args: argparse.Namespace) -> int:
    return _incident_step(args, facts.incident_close, "close an incident", reason=args.reason)


def cmd_override(args: argparse.Namespace) -> int:
    s = settings_of(args)
    who = _who(args, s)
    facts.require_role(who, s.governance.override_roles, "override a decision")
    at, entered = _times(args, s)
    allow_for = facts.parse_duration(args.allow_for) if args.allow_for else None
    decision = _record(args, args.decision_id)
    ev = facts.override(who, at, entered, decision=decision, reason=args.reason, allow_for_s=allow_for,
                        max_allow_for_s=s.governance.max_allow_for_seconds)
    _publish(s, ev)
    window = f"; the same request by {ev['subject']['person']} is allowed for {args.allow_for}" if allow_for else ""
    print(f"override {ev['event_id']} of decision {ev['decision_id']} recorded by {who['person']}{window}")
    return EXIT_OK


def cmd_route(args: argparse.Namespace) -> int:
    s = settings_of(args)
    who = _who(args, s)
    action = f"route.{args.sub}"
    facts.require_role(who, s.governance.route_roles, f"{args.sub} a route")
    at, entered = _times(args, s)
    ev = facts.route_change(action, who, at, entered, route_id=args.route_id,
                            known_routes=[r.id for r in s.routes], reason=args.reason)
    _publish(s, ev)
    print(f"route {args.route_id} {'suspended' if args.sub == 'suspend' else 'resumed'} by {who['person']} "
          f"(event {ev['event_id']}); every proxy applies it as it reads the governance topic")
    return EXIT_OK


def _common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--token", metavar="JWT", help="your identity token (OIDC/JWT)")
    p.add_argument("--api-key", metavar="KEY", help="your API key (instead of --token)")
    p.add_argument("--at", type=time_arg, metavar="TIME",
                   help="when it happened, if earlier than now (ISO time; the entry time is recorded too)")
    return p


def register(sub: Any) -> None:
    """Add ``incident open|triage|notify|close``, ``override`` and ``route suspend|resume``."""
    inc = sub.add_parser("incident", help="record incident facts: open, triage, notify, close").add_subparsers(
        dest="sub", required=True, parser_class=Parser)
    p = _common(command(inc, "open", cmd_incident_open, "open an incident over detections"))
    p.add_argument("--concerns", nargs="*", default=[], metavar="RECORD",
                   help="the detections it concerns: seqs, record ids, request ids or decision ids")
    p.add_argument("--detected-at", type=time_arg, metavar="TIME",
                   help="when it was detected, if before its detections' records")
    p.add_argument("--reason", required=True, help="what happened")
    p = _common(command(inc, "triage", cmd_incident_triage, "classify an incident"))
    p.add_argument("incident_id")
    p.add_argument("--as", dest="classification", required=True, choices=facts.CLASSIFICATIONS)
    p.add_argument("--reason", required=True)
    p = _common(command(inc, "notify", cmd_incident_notify, "record that notice of an incident was given"))
    p.add_argument("incident_id")
    p.add_argument("--to", required=True, help="to whom notice was given")
    p.add_argument("--reason", default=None)
    p = _common(command(inc, "close", cmd_incident_close, "close an incident"))
    p.add_argument("incident_id")
    p.add_argument("--reason", required=True)

    p = _common(command(sub, "override", cmd_override, "override a blocked decision (human oversight)"))
    p.add_argument("decision_id", help="the blocked decision (dec_...), its request id or seq")
    p.add_argument("--reason", required=True)
    p.add_argument("--allow-for", metavar="DURATION",
                   help="allow the same caller's identical request for this long, e.g. 15m")

    rt = sub.add_parser("route", help="suspend or resume a route (Art. 26(5))").add_subparsers(
        dest="sub", required=True, parser_class=Parser)
    for name in ("suspend", "resume"):
        p = _common(command(rt, name, cmd_route, f"{name} a route on every proxy"))
        p.add_argument("route_id")
        p.add_argument("--reason", required=True)
