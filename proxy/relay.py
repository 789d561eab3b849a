"""Forwarding: send the judged bytes to the upstream, relay its answer (JSON or SSE) to the caller.

Pseudonyms of a redact decision are restored in the answer on the way back.
Everything the exchange needs for its trace (status, latency, answer head/tail
for usage) is written into the :class:`~ledgergate.proxy.exchange.Exchange`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ledgergate.clock import now_us
from ledgergate.proxy.errors import ProxyError
from ledgergate.proxy.exchange import Exchange
from ledgergate.proxy.parts import SSERestorer, restore_json_answer
from ledgergate.proxy.upstream import UpstreamClient, read_error

Send = Callable[[dict[str, Any]], Awaitable[None]]


async def relay(send: Send, upstream: UpstreamClient, x: Exchange, body: bytes,
                mapping: dict[str, str] | None) -> None:
    """Forward ``body`` (the exact bytes judged) and relay the answer."""
    t0 = time.perf_counter()
    x.forwarded_us = now_us()
    try:
        resp = await upstream.request(x.endpoint, body, request_id=x.request_id)
    except ProxyError as exc:
        x.outcome, x.status, x.error, x.reason = "upstream-error", exc.status, exc.message, exc.code
        x.latency_ms = (time.perf_counter() - t0) * 1000
        raise
    x.status = resp.status
    x.outcome = "upstream-error" if resp.status >= 400 else "forwarded"
    if resp.status >= 400:
        x.reason = "upstream_status"
    ctype = resp.header(b"content-type") or b"application/json"
    if x.stream and resp.status == 200 and ctype.startswith(b"text/event-stream"):
        await _relay_stream(send, resp, x, mapping, ctype, t0, upstream)
        return
    try:
        data = await resp.read()
    except Exception as exc:  # noqa: BLE001 - mapped to 502/504
        resp.close()
        err = read_error(exc, upstream.cfg.id)
        x.outcome, x.status, x.error = "upstream-error", getattr(err, "status", 502), str(err)
        x.reason = getattr(err, "code", "upstream_error")
        raise err from exc
    resp.close()
    x.latency_ms = (time.perf_counter() - t0) * 1000
    x.answer = data
    if resp.status >= 400:
        x.error = data[:200].decode("utf-8", "replace")
    if mapping and resp.status == 200:
        try:
            data = json.dumps(restore_json_answer(json.loads(data), mapping)).encode()
        except (ValueError, RecursionError):
            pass  # not JSON: relay as is
    await send({"type": "http.response.start", "status": resp.status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


async def _relay_stream(send: Send, resp: Any, x: Exchange, mapping: dict[str, str] | None,
                        ctype: bytes, t0: float, upstream: UpstreamClient) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", ctype), (b"cache-control", b"no-cache")]})
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
        x.outcome, x.error, x.reason = "upstream-error", str(read_error(exc, upstream.cfg.id)), "upstream_stream"
    finally:
        resp.close()
        x.answer_tail = tail
        x.latency_ms = (time.perf_counter() - t0) * 1000
    try:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass
