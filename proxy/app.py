"""The proxy: a bare ASGI application (served by uvicorn with httptools + uvloop).

Why bare ASGI and not Starlette: the overhead budget is ≤ 1 ms p50 and ≤ 0.6 ms
CPU per request; a framework's routing, Request/Response objects and middleware
stack cost a measurable share of that (bench/proxy_bench.py) for six fixed paths.

Per request, in order (nothing is forwarded or published before the checks pass):
path → endpoint/route (404) · headers, each once (400) · authenticate (401) ·
body size (413) · strict JSON (400) · route by prefix or model (404) ·
roles/tenant (403) · route checks (hooks) · the request schema walk (400), which
also collects every string the upstream will read. The canonical bytes of that
one reading are what is forwarded:

* ``observe`` route: forward at once; the RequestEvent goes with the trace.
* ``enforce`` route: :class:`~ledgergate.proxy.enforce.Enforcer` holds it for its
  decision (fail closed).

**One trace per request.** Every request but the ``/health`` and ``/ready``
probes ends in exactly one ResponseEvent, whatever happened — answered, refused
at authentication (with what could be read of the claimed identity, never the
token), authorisation or validation, failed upstream or inside the proxy — built
by :mod:`ledgergate.proxy.events` from the request's
:class:`~ledgergate.proxy.exchange.Exchange`. Every response carries ``x-request-id``.

Hooks (plain lists, empty by default): ``route_checks`` run after authorisation
and may raise a ProxyError (e.g. a suspended route); ``observers`` are called
with every ended exchange (e.g. metrics counters).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ledgergate.broker.config import Topics
from ledgergate.clock import now_us
from ledgergate.config import Settings
from ledgergate.proxy.config import RouteConfig
from ledgergate.proxy.enforce import Enforcer
from ledgergate.proxy.errors import AuthError, BadRequest, ProxyError, Unavailable
from ledgergate.proxy.events import EventBuilder
from ledgergate.proxy.exchange import Exchange, metadata_of
from ledgergate.proxy.http import (
    ClientGone,
    Receive,
    RequestHeaders,
    Scope,
    Send,
    Stamp,
    read_body,
    send_error,
    send_json,
)
from ledgergate.proxy.ingest_api import records_for
from ledgergate.proxy.jsonbody import canonical, parse
from ledgergate.proxy.openai_schema import judge
from ledgergate.proxy.publisher import Publisher
from ledgergate.proxy.relay import relay
from ledgergate.proxy.routing import Router, Target
from ledgergate.proxy.spool import SpoolError
from ledgergate.proxy.upstream import UpstreamClient
from ledgergate.proxy.waiter import DecisionWaiter

log = logging.getLogger("ledgergate.proxy")

RouteCheck = Callable[[RouteConfig, Any], None]
Observer = Callable[[Exchange], None]


class Authenticator(Protocol):
    """What the proxy needs of ``ledgergate.proxy.identity.Authenticator``."""

    async def authenticate(self, authorization: str | None, api_key: str | None = None) -> Any: ...


class MethodNotAllowed(ProxyError):
    status, type, code = 405, "invalid_request_error", "method_not_allowed"


class _Anonymous:
    person, tenant, roles, auth_method = "anonymous", "unknown", (), "none"


class ProxyApp:
    """The ASGI callable. Built by :func:`ledgergate.proxy.wiring.build_proxy`; no I/O until startup."""

    def __init__(self, settings: Settings, *, router: Router, authenticator: Authenticator,
                 upstreams: Mapping[str, UpstreamClient], publisher: Publisher, waiter: DecisionWaiter,
                 instance_id: str, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self.router = router
        self.auth = authenticator
        self.upstreams = dict(upstreams)
        self.publisher = publisher
        self.waiter = waiter
        self.instance_id = instance_id
        self.topics: Topics = settings.topics
        self.events = EventBuilder(settings.topics, instance_id)
        self.reply_topic = self.events.reply_topic
        self.max_body = settings.proxy.max_body_bytes
        self.enforcer = Enforcer(publisher, waiter, self.events, settings.proxy.publish_timeout_ms / 1000)
        self.route_checks: list[RouteCheck] = []
        self.observers: list[Observer] = []
        self._prepare = prepare
        self.started = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Create topics, open the spool, connect producer and reply consumer (tolerating a down broker)."""
        if self._prepare is not None:
            try:
                await self._prepare()
            except Exception as exc:  # noqa: BLE001 - start anyway: observe works from the spool
                log.warning("could not prepare topics (%s); starting anyway, enforce routes answer 503 "
                            "until the broker answers", exc)
        await self.publisher.start()
        await self.waiter.start()
        self.started = True

    async def stop(self) -> None:
        """Flush the producer (or spool what it cannot take), close the consumer and upstream pools."""
        try:
            await self.waiter.stop()
        finally:
            try:
                await self.publisher.stop()  # must run: it flushes or spools the queued events
            finally:
                for u in self.upstreams.values():
                    await u.aclose()
                self.started = False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:  # noqa: BLE001 - reported to uvicorn, which exits
                    log.exception("proxy startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                try:
                    await self.stop()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        x = Exchange(str(uuid.uuid4()), now_us())
        stamp = Stamp(send, x.request_id)
        if scope["path"] in ("/health", "/ready"):  # probes: answered, not audited
            return await self._probe(scope["path"], stamp)
        try:
            await self._dispatch(scope, receive, stamp, x)
        except ProxyError as exc:
            x.refused(exc)
            if not stamp.started:
                await send_error(stamp, exc)
        except ClientGone:
            x.outcome, x.status, x.reason = x.outcome or "abandoned", x.status or 499, "client_disconnected"
        except Exception as exc:  # noqa: BLE001 - the caller gets a 500, the log gets the trace
            log.exception("unexpected error on %s %s (request %s)", scope.get("method"), scope.get("path"),
                          x.request_id)
            x.failed(exc)
            if not stamp.started:
                await send_error(stamp, ProxyError(f"internal error in the proxy (request {x.request_id}); "
                                                   "see its log"))
        finally:
            self._finish(x, stamp)

    def _finish(self, x: Exchange, stamp: Stamp) -> None:
        """The request's one trace, queued for the background publisher; then the observers."""
        x.answered_us = now_us()
        x.status = x.status or stamp.status
        if x.outcome is None:
            x.outcome = "served" if 0 < x.status < 400 else "internal-error"
        self.publisher.submit(self.events.trace(x, x.request))
        for observe in self.observers:
            try:
                observe(x)
            except Exception:  # noqa: BLE001 - an observer must never break a request
                log.exception("observer %r failed", observe)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, x: Exchange) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/v1/events":
            x.endpoint = "events"
            return await self._ingest(scope, receive, send, x)
        target = self.router.target(path)
        x.endpoint, x.route = target.endpoint, target.route
        hdr = RequestHeaders(scope["headers"])
        if target.endpoint == "models":
            if method != "GET":
                raise MethodNotAllowed(f"{method} {path}: use GET", param="method")
            principal = await self._authenticate(x, hdr)
            if target.route is not None:
                self.router.authorize(target.route, principal)
            return await send_json(send, 200, self.router.models_for(principal, target.route))
        if method != "POST":
            raise MethodNotAllowed(f"{method} {path}: use POST", param="method")
        await self._inference(receive, send, x, hdr, target)

    async def _authenticate(self, x: Exchange, hdr: RequestHeaders) -> Any:
        try:
            x.principal = await self.auth.authenticate(hdr.authorization, hdr.api_key)
        except AuthError:
            claimed = getattr(self.auth, "claimed", None)
            x.principal = claimed(hdr.authorization, hdr.api_key) if claimed is not None else _Anonymous()
            raise
        return x.principal

    # ------------------------------------------------------------------ inference
    async def _inference(self, receive: Receive, send: Send, x: Exchange, hdr: RequestHeaders,
                         target: Target) -> None:
        principal = await self._authenticate(x, hdr)
        req = parse(await read_body(receive, hdr.content_length, self.max_body))
        if not isinstance(req, dict):
            raise BadRequest(f"the request body is a JSON {type(req).__name__}: expected an object with "
                             "\"model\" and \"messages\" (or \"prompt\"/\"input\")")
        x.stream, x.metadata = req.get("stream") is True, metadata_of(req)
        x.model = req.get("model") if isinstance(req.get("model"), str) else None
        route = x.route = self.router.resolve(target, req.get("model"))
        self.router.authorize(route, principal)
        for check in self.route_checks:
            check(route, principal)
        if route.upstream_model:
            req["model"] = x.model = route.upstream_model
        x.parts = judge(x.endpoint, req)  # 400 before anything is published or forwarded
        if route.upstream_model or (x.model is not None and x.model in route.models):
            # the model names a configured value: not caller text to classify
            x.parts = [p for p in x.parts if p["path"] != "/model"]
        raw = canonical(req)  # the bytes of the reading that was judged
        upstream = self.upstreams[route.upstream]
        if route.mode == "observe":
            x.forwarded, x.request = "original", req
            await relay(send, upstream, x, raw, None)
        else:
            body, mapping = await self.enforcer.judge(x, req, raw)
            await relay(send, upstream, x, body, mapping)

    # ------------------------------------------------------------------ other endpoints
    async def _ingest(self, scope: Scope, receive: Receive, send: Send, x: Exchange) -> None:
        """``POST /v1/events`` (see :mod:`ledgergate.proxy.ingest_api`); 202 once broker-acked or spooled."""
        if scope["method"] != "POST":
            raise MethodNotAllowed(f"{scope['method']} /v1/events: use POST", param="method")
        hdr = RequestHeaders(scope["headers"])
        principal = await self._authenticate(x, hdr)
        raw = await read_body(receive, hdr.content_length, self.max_body)
        records, ids = records_for(raw, principal, self.topics.requests, self.settings.proxy.ingest_roles)
        try:
            where = await self.publisher.send_durable(records)
        except SpoolError as exc:
            raise Unavailable(f"events could not be stored: {exc}", code="ingest_unavailable") from exc
        x.metadata = {"accepted": str(len(records)), "stored": where}
        await send_json(send, 202, {"accepted": len(records), "request_ids": ids, "stored": where})

    async def _probe(self, path: str, send: Send) -> None:
        if path == "/health":
            return await send_json(send, 200, {"status": "ok", "instance": self.instance_id})
        w, p = self.waiter, self.publisher
        now = time.monotonic()
        flowing = not (w.last_timeout_at is not None
                       and (w.last_decision_at is None or w.last_timeout_at > w.last_decision_at))
        trail_ok = not (p.unsaved or p.lost or p.build_failures)
        ready = self.started and p.healthy and w.running and flowing and trail_ok
        await send_json(send, 200 if ready else 503, {
            "ready": ready, "broker": p.healthy, "reply_consumer": w.running, "decisions_flowing": flowing,
            "last_decision_age_s": None if w.last_decision_at is None else round(now - w.last_decision_at, 3),
            "spool_pending": p.spool.pending, "audit_trail_ok": trail_ok, "events_unsaved": len(p.unsaved),
            "events_lost": p.lost, "event_build_failures": p.build_failures, "instance": self.instance_id})
