"""ASGI plumbing of the proxy: headers, bodies, JSON answers and the request-id stamp."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ledgergate.errors import LedgergateError
from ledgergate.proxy.errors import BadRequest, PayloadTooLarge, ProxyError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON_CT = (b"content-type", b"application/json")
#: headers a request may carry once: a second copy is ambiguous (which one was checked?)
_SINGLE = {b"authorization": "authorization", b"x-api-key": "api_key", b"api-key": "api_key",
           b"content-length": "content_length"}


class ClientGone(LedgergateError):
    """The caller disconnected before its request body arrived."""


class RequestHeaders:
    """The headers the proxy reads, each at most once (BadRequest on a repeat)."""

    __slots__ = ("authorization", "api_key", "content_length")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.authorization: str | None = None
        self.api_key: str | None = None
        self.content_length: bytes | None = None
        seen: set[bytes] = set()
        for k, v in raw:
            attr = _SINGLE.get(k)
            if attr is None:
                continue
            if k in seen or (attr == "api_key" and self.api_key is not None):
                raise BadRequest(f"the {k.decode()} header is repeated: send it once "
                                 "(which copy would count is ambiguous)", code="duplicate_header",
                                 param=k.decode())
            seen.add(k)
            setattr(self, attr, v if attr == "content_length" else v.decode("latin-1"))


class Stamp:
    """Wraps ``send``: every response start carries ``x-request-id``; remembers the status sent."""

    __slots__ = ("_send", "_rid", "status")

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._rid = request_id.encode()
        self.status = 0

    @property
    def started(self) -> bool:
        return self.status != 0

    async def __call__(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.start":
            self.status = msg["status"]
            msg = dict(msg, headers=[*msg.get("headers", []), (b"x-request-id", self._rid)])
        await self._send(msg)


async def read_body(receive: Receive, content_length: bytes | None, max_body: int) -> bytes:
    """The whole request body, at most ``max_body`` bytes (413 beyond)."""
    if content_length is not None:
        try:
            n = int(content_length)
        except ValueError:
            raise BadRequest(f"Content-Length {content_length[:40]!r} is not a number",
                             code="invalid_header") from None
        if n > max_body:
            raise PayloadTooLarge(f"request body of {n} bytes exceeds proxy.max_body_bytes = {max_body}")
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientGone()
        b = msg.get("body", b"")
        if b:
            size += len(b)
            if size > max_body:
                raise PayloadTooLarge(f"request body exceeds proxy.max_body_bytes = {max_body}")
            chunks.append(b)
        if not msg.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_json(send: Send, status: int, obj: Any) -> None:
    body = json.dumps(obj, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [_JSON_CT, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, exc: ProxyError) -> None:
    body = exc.body_bytes()
    await send({"type": "http.response.start", "status": exc.status,
                "headers": [_JSON_CT, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
