"""The proxy: a bare ASGI application (served by uvicorn with httptools + uvloop).

Why bare ASGI and not Starlette: the overhead budget is ≤ 1 ms p50 and ≤ 0.6 ms
CPU per request; a framework's routing, Request/Response objects and middleware
stack cost a measurable share of that (bench/proxy_bench.py) for six fixed paths.

Per request, in order (nothing is forwarded or published before the checks pass):
path → endpoint/route (404) · authenticate (401) · body size (413) · JSON (400) ·
route by prefix or model (404) · roles/tenant (403). Then:

* ``observe`` route: forward at once; when the answer is done, the RequestEvent
  and the ResponseEvent are queued together for the background publisher (parts
  are extracted and encoded off the hot path, one produce request for both).
* ``enforce`` route: publish the RequestEvent and wait for its ack (broker down →
  503 ``refused-unavailable``), hold until the Decision arrives on this
  instance's reply topic or ``hold_timeout_ms`` passes (→ 503 ``refused-timeout``,
  nothing forwarded); allow → original body, redact → body with the decision's
  ``redacted_parts`` (pseudonyms restored in the answer), block → 403 naming the
  decision and rule.

After every inference request a ResponseEvent (status, latencies, token usage,
upstream id, decision id, outcome) is queued for the background publisher.

``POST /v1/events`` ingests RequestEvents from other gateways (see :meth:`ProxyApp._events`).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Awaitable, Callable, Mapping, Protocol

from ledgergate.config import RouteConfig, Settings, Topics
from ledgergate.errors import LedgergateError
from ledgergate.proxy.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    PolicyBlocked,
    ProxyError,
    Unavailable,
)
from ledgergate.proxy.parts import (
    PartsError,
    SSERestorer,
    apply_redactions,
    extract_parts,
    pseudonym_map,
    restore_json_answer,
)
from ledgergate.proxy.publisher import Publisher, PublishError
from ledgergate.proxy.routing import Router
from ledgergate.proxy.sdk import EventValidationError, complete_request, validate
from ledgergate.proxy.spool import Record, SpoolError
from ledgergate.proxy.upstream import UpstreamClient, read_error
from ledgergate.proxy.waiter import DecisionWaiter
from ledgergate.schemas.codec import encode

log = logging.getLogger("ledgergate.proxy")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON_CT = (b"content-type", b"application/json")


class Authenticator(Protocol):
    """What the proxy needs of ``ledgergate.proxy.identity.Authenticator``."""

    async def authenticate(self, authorization: str | None, api_key: str | None = None) -> Any: ...


class MethodNotAllowed(ProxyError):
    status, type, code = 405, "invalid_request_error", "method_not_allowed"


class _ClientGone(LedgergateError):
    """The caller disconnected before its request body arrived."""


def _now_us() -> int:
    return time.time_ns() // 1000


def _principal_record(p: Any) -> dict[str, Any]:
    return {"person": p.person, "tenant": p.tenant, "roles": list(p.roles), "auth_method": p.auth_method}


def _metadata(req: Mapping[str, Any]) -> dict[str, str]:
    md = req.get("metadata")
    if isinstance(md, dict):
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in md.items()}
    return {}


class _Exchange:
    """What one inference request did, for its ResponseEvent (built off the hot path)."""

    __slots__ = ("request_id", "received_us", "principal", "route", "endpoint", "model", "stream",
                 "metadata", "outcome", "forwarded", "forwarded_us", "answered_us", "status", "latency_ms", "hold_ms",
                 "decision_id", "error", "answer", "answer_head", "answer_tail")

    def __init__(self, request_id: str, received_us: int, principal: Any, route: RouteConfig,
                 endpoint: str, model: Any, stream: bool, metadata: dict[str, str]) -> None:
        self.request_id = request_id
        self.received_us = received_us
        self.principal = principal
        self.route = route
        self.endpoint = endpoint
        self.model = model if isinstance(model, str) else None
        self.stream = stream
        self.metadata = metadata
        self.outcome = "forwarded"
        self.forwarded = "none"
        self.forwarded_us: int | None = None
        self.answered_us = 0  # stamped when the exchange ends, not when its event is built
        self.status = 0
        self.latency_ms: float | None = None
        self.hold_ms: float | None = None
        self.decision_id: str | None = None
        self.error: str | None = None
        self.answer: bytes | None = None       # whole JSON answer (non-streaming)
        self.answer_head: bytes | None = None  # first SSE chunk (upstream id)
        self.answer_tail: bytes = b""          # last SSE bytes (usage)


def _usage_and_id(x: _Exchange) -> tuple[dict[str, Any], str | None]:
    """Token usage and upstream id from the answer (JSON, or the SSE head/tail)."""
    if x.answer is not None:
        try:
            obj = json.loads(x.answer)
        except ValueError:
            return {}, None
        if not isinstance(obj, dict):
            return {}, None
        u = obj.get("usage")
        return (u if isinstance(u, dict) else {}), (obj.get("id") if isinstance(obj.get("id"), str) else None)
    usage: dict[str, Any] = {}
    uid = None
    for blob, first in ((x.answer_head, True), (x.answer_tail, False)):
        if not blob:
            continue
        for line in blob.split(b"\n"):
            if not line.startswith(b"data:") or b"[DONE]" in line:
                continue
            try:
                obj = json.loads(line[5:])
            except ValueError:
                continue  # a partial event at the edge of the kept bytes
            if isinstance(obj, dict):
                if first and uid is None and isinstance(obj.get("id"), str):
                    uid = obj["id"]
                if isinstance(obj.get("usage"), dict):
                    usage = obj["usage"]
    return usage, uid


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
        self.reply_topic = self.topics.replies(instance_id)
        self.max_body = settings.proxy.max_body_bytes
        self.publish_timeout = settings.proxy.publish_timeout_ms / 1000
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
        state = {"started": False}

        async def tracked(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self._dispatch(scope, receive, tracked)
        except ProxyError as exc:
            if not state["started"]:
                await _send_error(send, exc)
        except _ClientGone:
            return
        except Exception:  # noqa: BLE001 - the caller gets a 500, the log gets the trace
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if not state["started"]:
                await _send_error(send, ProxyError("internal error in the proxy; see its log"))

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/health":
            return await _send_json(send, 200, {"status": "ok", "instance": self.instance_id})
        if path == "/ready":
            return await self._ready(send)
        authorization = api_key = None
        content_length = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                authorization = v.decode("latin-1")
            elif k == b"x-api-key":
                api_key = v.decode("latin-1")
            elif k == b"content-length":
                content_length = v
        if path == "/v1/events":
            if method != "POST":
                raise MethodNotAllowed(f"{method} {path}: use POST", param="method")
            principal = await self.auth.authenticate(authorization, api_key)
            body = await self._body(receive, content_length)
            return await self._events(send, principal, body)
        target = self.router.target(path)
        if target.endpoint == "models":
            if method != "GET":
                raise MethodNotAllowed(f"{method} {path}: use GET", param="method")
            principal = await self.auth.authenticate(authorization, api_key)
            if target.route is not None:
                self.router.authorize(target.route, principal)
            return await _send_json(send, 200, self.router.models_for(principal, target.route))
        if method != "POST":
            raise MethodNotAllowed(f"{method} {path}: use POST", param="method")
        received_us = _now_us()
        principal = await self.auth.authenticate(authorization, api_key)
        raw = await self._body(receive, content_length)
        req = _parse_object(raw)
        route = self.router.resolve(target, req.get("model"))
        self.router.authorize(route, principal)
        upstream = self.upstreams[route.upstream]
        if route.upstream_model:
            req["model"] = route.upstream_model
            raw = json.dumps(req, separators=(",", ":")).encode()
        x = _Exchange(str(uuid.uuid4()), received_us, principal, route, target.endpoint,
                      req.get("model"), req.get("stream") is True, _metadata(req))
        observe = route.mode == "observe"
        try:
            if observe:
                x.forwarded = "original"
                await self._relay(send, upstream, x, raw, None)
            else:
                await self._enforce(send, upstream, x, req, raw)
        except ProxyError as exc:
            if not x.status:
                x.status, x.error = exc.status, exc.message
            raise
        finally:
            x.answered_us = _now_us()
            # every inference request leaves a ResponseEvent, refusals included.
            # Observe publishes its RequestEvent here too, off the hot path and in
            # the same produce request as the response (one broker round trip)
            if observe:
                self.publisher.submit(lambda: [self._request_record(x, req, None), self._response_record(x)])
            else:
                self.publisher.submit(lambda: [self._response_record(x)])

    # ------------------------------------------------------------------ enforce
    async def _enforce(self, send: Send, upstream: UpstreamClient, x: _Exchange,
                       req: dict[str, Any], raw: bytes) -> None:
        route = x.route
        parts = extract_parts(x.endpoint, req)
        hold = route.hold_timeout_ms / 1000
        t0 = time.perf_counter()
        request_record = self._request_record(x, req, parts)
        if not self.waiter.running:
            self._refuse(x, "refused-unavailable", request_record,
                         "the decision consumer is not connected to the broker")
            raise Unavailable(f"route {route.id!r} is in enforce mode and decisions cannot be received "
                              "(broker unreachable): retry later; nothing was forwarded",
                              extra={"request_id": x.request_id})
        fut = self.waiter.expect(x.request_id)
        try:
            await self.publisher.send_acked(request_record, min(self.publish_timeout, hold))
        except PublishError as exc:
            self.waiter.forget(x.request_id)
            self._refuse(x, "refused-unavailable", request_record, str(exc))
            raise Unavailable(f"route {route.id!r} is in enforce mode and the broker is unreachable: "
                              "retry later; nothing was forwarded",
                              extra={"request_id": x.request_id}) from exc
        decision = await self.waiter.wait(x.request_id, fut, max(0.0, hold - (time.perf_counter() - t0)))
        x.hold_ms = (time.perf_counter() - t0) * 1000
        if decision is None:
            x.outcome, x.status = "refused-timeout", 503
            x.error = f"no decision within {route.hold_timeout_ms} ms"
            raise Unavailable(f"no policy decision within the route's hold timeout of {route.hold_timeout_ms} ms: "
                              "retry later; nothing was forwarded", extra={"request_id": x.request_id})
        x.decision_id = decision["decision_id"]
        outcome = decision["outcome"]
        if outcome == "block":
            x.outcome, x.status = "refused-policy", 403
            raise PolicyBlocked(
                f"blocked by policy {decision['policy']['id']} v{decision['policy']['version']}, "
                f"rule {decision['rule_id']!r} (decision {decision['decision_id']}): {decision['explanation']}",
                extra={"decision_id": decision["decision_id"], "rule_id": decision["rule_id"],
                       "request_id": x.request_id, "categories": list(decision.get("categories") or [])})
        mapping: dict[str, str] | None = None
        if outcome == "redact":
            try:
                body = apply_redactions(req, decision.get("redacted_parts") or [])
            except PartsError as exc:
                x.outcome, x.status, x.error = "refused-policy", 503, f"bad redaction: {exc}"
                raise Unavailable(f"the decision {decision['decision_id']} does not fit the request ({exc}); "
                                  "nothing was forwarded", extra={"request_id": x.request_id}) from exc
            raw = json.dumps(body, separators=(",", ":")).encode()
            mapping = pseudonym_map(parts, decision.get("findings") or []) or None
            x.forwarded = "redacted"
        elif outcome == "allow":
            x.forwarded = "original"
        else:
            x.outcome, x.status, x.error = "refused-policy", 503, f"unknown decision outcome {outcome!r}"
            raise Unavailable(f"decision {decision['decision_id']} has unknown outcome {outcome!r} "
                              "(expected allow, redact or block); nothing was forwarded")
        await self._relay(send, upstream, x, raw, mapping)

    def _refuse(self, x: _Exchange, outcome: str, request_record: Record, error: str) -> None:
        """Record a refusal; the request event goes along so the audit trail has the prompt."""
        x.outcome, x.status, x.error = outcome, 503, error
        self.publisher.submit(lambda: [request_record])

    # ------------------------------------------------------------------ forwarding
    async def _relay(self, send: Send, upstream: UpstreamClient, x: _Exchange, body: bytes,
                     mapping: dict[str, str] | None) -> None:
        t0 = time.perf_counter()
        x.forwarded_us = _now_us()
        try:
            resp = await upstream.request(x.endpoint, body)
        except ProxyError as exc:
            x.outcome, x.status, x.error = "upstream-error", exc.status, exc.message
            x.latency_ms = (time.perf_counter() - t0) * 1000
            raise
        x.status = resp.status
        if resp.status >= 400:
            x.outcome = "upstream-error"
        ctype = resp.header(b"content-type") or b"application/json"
        if x.stream and resp.status == 200 and ctype.startswith(b"text/event-stream"):
            await self._relay_stream(send, resp, x, mapping, ctype, t0, upstream)
            return
        try:
            data = await resp.read()
        except Exception as exc:  # noqa: BLE001 - mapped to 502/504
            resp.close()
            err = read_error(exc, upstream.cfg.id)
            x.outcome, x.status, x.error = "upstream-error", getattr(err, "status", 502), str(err)
            raise err from exc
        resp.close()
        x.latency_ms = (time.perf_counter() - t0) * 1000
        x.answer = data
        if resp.status >= 400:
            x.error = data[:200].decode("utf-8", "replace")
        if mapping and resp.status == 200:
            try:
                data = json.dumps(restore_json_answer(json.loads(data), mapping)).encode()
            except ValueError:
                pass  # not JSON: relay as is
        await send({"type": "http.response.start", "status": resp.status,
                    "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode()),
                                (b"x-request-id", x.request_id.encode())]})
        await send({"type": "http.response.body", "body": data})

    async def _relay_stream(self, send: Send, resp: Any, x: _Exchange, mapping: dict[str, str] | None,
                            ctype: bytes, t0: float, upstream: UpstreamClient) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", ctype), (b"cache-control", b"no-cache"),
                                (b"x-request-id", x.request_id.encode())]})
        sse = SSERestorer(mapping) if mapping else None
        tail = b""
        try:
            async for chunk in resp.iter_chunks():
                if x.answer_head is None:
                    x.answer_head = chunk[:2048]
                tail = (tail + chunk)[-4096:]
                if sse is not None:
                    chunk = sse.feed(chunk)
                    if not chunk:
                        continue
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if sse is not None:
                rest = sse.flush()
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
        except OSError as exc:  # the caller went away: stop reading the upstream
            x.error = f"caller disconnected mid-stream ({type(exc).__name__})"
        except Exception as exc:  # noqa: BLE001 - the stream has started: end it, record why
            x.outcome, x.error = "upstream-error", str(read_error(exc, upstream.cfg.id))
        finally:
            resp.close()
            x.answer_tail = tail
            x.latency_ms = (time.perf_counter() - t0) * 1000
        try:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass

    # ------------------------------------------------------------------ events
    def _request_record(self, x: _Exchange, req: Mapping[str, Any], parts: list[dict[str, Any]] | None) -> Record:
        # held requests (a caller is waiting) name the reply topic and travel on their
        # own topic, so a burst of observe traffic never queues ahead of them in the worker
        held = x.route.mode == "enforce"
        rec = {
            "request_id": x.request_id, "received_at_us": x.received_us, "source": "proxy",
            "principal": _principal_record(x.principal), "route_id": x.route.id, "mode": x.route.mode,
            "upstream_id": x.route.upstream, "model": x.model, "endpoint": x.endpoint,
            "parts": parts if parts is not None else extract_parts(x.endpoint, req),
            "reply_to": self.reply_topic if held else None,
            "policy_id": x.route.policy, "metadata": x.metadata, "proxy_id": self.instance_id,
        }
        topic = self.topics.held if held else self.topics.requests
        return Record(topic, x.request_id.encode(), encode("RequestEvent", rec))

    def _response_record(self, x: _Exchange) -> Record:
        usage, upstream_id = _usage_and_id(x)
        md = dict(x.metadata)
        if upstream_id:
            md["upstream_response_id"] = upstream_id

        def tok(k: str) -> int | None:
            v = usage.get(k)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        rec = {
            "request_id": x.request_id, "answered_at_us": x.answered_us, "received_at_us": x.received_us,
            "source": "proxy", "principal": _principal_record(x.principal), "route_id": x.route.id,
            "mode": x.route.mode, "upstream_id": x.route.upstream, "model": x.model, "endpoint": x.endpoint,
            "outcome": x.outcome, "forwarded": x.forwarded if x.outcome in ("forwarded", "upstream-error") else "none",
            "forwarded_at_us": x.forwarded_us, "status": x.status, "latency_ms": x.latency_ms,
            "hold_ms": x.hold_ms, "prompt_tokens": tok("prompt_tokens"),
            "completion_tokens": tok("completion_tokens"), "total_tokens": tok("total_tokens"),
            "decision_id": x.decision_id, "error": x.error, "stream": x.stream, "metadata": md,
            "proxy_id": self.instance_id,
        }
        return Record(self.topics.responses, x.request_id.encode(), encode("ResponseEvent", rec))

    async def _events(self, send: Send, principal: Any, raw: bytes) -> None:
        """``POST /v1/events``: one RequestEvent (JSON object) or a list of them.

        ``principal`` absent → the caller's identity; present → kept (the sending
        gateway attests its end user) but must be of the caller's tenant (403),
        and ``metadata.ingested_by`` records the caller. ``source`` defaults to
        ``ingest``; ``request_id`` and ``received_at_us`` are filled if absent.
        202 once the broker acked or the spool fsync'd every event.
        """
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"the body is not valid JSON ({exc}): send a RequestEvent object") from exc
        items = doc if isinstance(doc, list) else [doc]
        problems: list[dict[str, str]] = []
        records: list[Record] = []
        ids: list[str] = []
        for i, item in enumerate(items):
            prefix = f"[{i}]." if isinstance(doc, list) else ""
            if not isinstance(item, dict):
                problems.append({"path": prefix.rstrip(".") or "$", "message": "expected a RequestEvent object"})
                continue
            ev = complete_request(item)
            if "principal" not in ev:
                ev["principal"] = _principal_record(principal)
            elif isinstance(ev["principal"], dict) and ev["principal"].get("tenant") not in (None, principal.tenant):
                raise Forbidden(f"event {prefix or ''}principal.tenant {ev['principal'].get('tenant')!r} is not the "
                                f"caller's tenant {principal.tenant!r}: a gateway may only ingest its own tenant's events")
            if isinstance(ev.get("metadata"), dict):
                ev["metadata"] = dict(ev["metadata"], ingested_by=f"{principal.person}@{principal.tenant}")
            elif "metadata" not in ev:
                ev["metadata"] = {"ingested_by": f"{principal.person}@{principal.tenant}"}
            try:
                rec = validate("RequestEvent", ev)
            except EventValidationError as exc:
                problems += [{"path": prefix + p, "message": m} for p, m in exc.problems]
                continue
            records.append(Record(self.topics.requests, rec["request_id"].encode(), encode("RequestEvent", rec)))
            ids.append(rec["request_id"])
        if problems:
            raise BadRequest("invalid RequestEvent: " + "; ".join(f"{p['path']}: {p['message']}" for p in problems),
                             code="invalid_event", extra={"problems": problems})
        try:
            where = await self.publisher.send_durable(records)
        except SpoolError as exc:
            raise Unavailable(f"events could not be stored: {exc}", code="ingest_unavailable") from exc
        await _send_json(send, 202, {"accepted": len(records), "request_ids": ids, "stored": where})

    async def _ready(self, send: Send) -> None:
        w, p = self.waiter, self.publisher
        now = time.monotonic()
        flowing = not (w.last_timeout_at is not None
                       and (w.last_decision_at is None or w.last_timeout_at > w.last_decision_at))
        ready = self.started and p.healthy and w.running and flowing
        await _send_json(send, 200 if ready else 503, {
            "ready": ready, "broker": p.healthy, "reply_consumer": w.running, "decisions_flowing": flowing,
            "last_decision_age_s": None if w.last_decision_at is None else round(now - w.last_decision_at, 3),
            "spool_pending": p.spool.pending, "instance": self.instance_id})

    async def _body(self, receive: Receive, content_length: bytes | None) -> bytes:
        if content_length is not None:
            try:
                n = int(content_length)
            except ValueError:
                raise BadRequest(f"Content-Length {content_length!r} is not a number") from None
            if n > self.max_body:
                raise PayloadTooLarge(f"request body of {n} bytes exceeds proxy.max_body_bytes = {self.max_body}")
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise _ClientGone()
            b = msg.get("body", b"")
            if b:
                size += len(b)
                if size > self.max_body:
                    raise PayloadTooLarge(f"request body exceeds proxy.max_body_bytes = {self.max_body}")
                chunks.append(b)
            if not msg.get("more_body"):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _parse_object(raw: bytes) -> dict[str, Any]:
    try:
        req = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the request body is not valid JSON ({exc}): send an OpenAI request object") from exc
    if not isinstance(req, dict):
        raise BadRequest(f"the request body is a JSON {type(req).__name__}: expected an object with "
                         "\"model\" and \"messages\" (or \"prompt\"/\"input\")")
    return req


async def _send_json(send: Send, status: int, obj: Any) -> None:
    body = json.dumps(obj, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [_JSON_CT, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, exc: ProxyError) -> None:
    body = exc.body_bytes()
    await send({"type": "http.response.start", "status": exc.status,
                "headers": [_JSON_CT, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
