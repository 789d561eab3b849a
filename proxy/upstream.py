"""Clients for the LLM upstreams: a lean pooled HTTP/1.1 client on asyncio + httptools.

Why not httpx or aiohttp: the proxy's overhead budget is ≤ 1 ms p50 and
≤ 0.6 ms CPU per request, and the upstream call is the largest piece of it.
Measured on this machine (2 CPUs) against the fake upstream
(``bench/proxy_bench.py --clients``), one keep-alive connection, c=1, 2000
POSTs of a 600-character chat body: this client p50 0.21-0.26 ms and
0.09 ms CPU/request; aiohttp 0.36-0.39 ms, 0.21 ms CPU; httpx 1.13 ms, 0.94 ms
CPU. httpx alone would exceed the whole CPU budget. The HTTP/1.1 subset an
OpenAI-compatible upstream needs is small (one request per connection at a
time, Content-Length or chunked answers, keep-alive) and httptools — already
uvicorn's parser — does the parsing in C.

Upstream kinds:

* ``openai`` and ``mlflow-gateway``: ``{base_url}/chat/completions``,
  ``/completions``, ``/embeddings``, ``/models`` (MLflow AI Gateway speaks the
  OpenAI API under its base URL).
* ``mlflow-serving``: every inference endpoint is ``POST {base_url}/invocations``
  with the OpenAI-shaped body (MLflow Model Serving of chat models answers in
  the chat-completion shape).

The credential (``UpstreamConfig.api_key``) is sent as ``Authorization: Bearer``
and never appears in a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

from ledgergate.proxy.config import UpstreamConfig
from ledgergate.proxy.errors import UpstreamTimeout, UpstreamUnreachable

log = logging.getLogger("ledgergate.proxy.upstream")

_OPENAI_PATHS = {
    "chat.completions": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "models": "/models",
}

# Pause reading from the upstream socket once this much answer is buffered and
# not yet relayed to the caller (slow client): back-pressure instead of memory.
_HIGH_WATER = 256 * 1024


class UpstreamResponse:
    """The status, headers and body of one upstream answer, body streamed."""

    __slots__ = ("status", "headers", "_conn")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], conn: _Connection) -> None:
        self.status = status
        self.headers = headers
        self._conn = conn

    def header(self, name: bytes) -> bytes | None:
        """The first header ``name`` (lower-case bytes) or None."""
        for k, v in self.headers:
            if k == name:
                return v
        return None

    async def read(self) -> bytes:
        """The whole body (for JSON answers)."""
        chunks = []
        async for c in self.iter_chunks():
            chunks.append(c)
        return b"".join(chunks)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives from the socket (for SSE relaying)."""
        conn = self._conn
        while True:
            chunk = await conn.next_chunk()
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        """Give the connection back to the pool, or drop it if the body was not read."""
        self._conn.release()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.reused = False
        self.got_bytes = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: asyncio.Future[int] | None = None
        self._body: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._exc: BaseException | None = None
        self._keep_alive = True

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"malformed HTTP answer from upstream: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._complete:
            self._fail(exc or ConnectionResetError("upstream closed the connection"))

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._keep_alive = self.parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result(self.parser.get_status_code())

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._complete = True
        self._wake()

    # -- internals
    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self._exc = exc
        self.closed = True
        if self._head is not None and not self._head.done():
            self._head.set_exception(exc)
        self._wake()
        if self.transport is not None:
            self.transport.close()

    def _timeout(self, fut: asyncio.Future) -> None:  # type: ignore[type-arg]
        if not fut.done():
            fut.set_exception(TimeoutError())

    async def send(self, data: bytes, timeout: float) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Write one request and wait for the status line and headers."""
        loop = self.pool.loop
        self._headers = []
        self._body.clear()
        self._buffered = 0
        self._complete = False
        self._exc = None
        self.got_bytes = False
        self._head = loop.create_future()
        self.parser = httptools.HttpResponseParser(self)
        assert self.transport is not None
        self.transport.write(data)
        handle = loop.call_later(timeout, self._timeout, self._head)
        try:
            status = await self._head
        finally:
            handle.cancel()
        return status, self._headers

    async def next_chunk(self) -> bytes | None:
        """The next body piece, or None at the end of the answer."""
        timeout = self.pool.read_timeout
        while True:
            if self._body:
                chunk = self._body.popleft()
                self._buffered -= len(chunk)
                if self._reading_paused and self._buffered < _HIGH_WATER // 2 and self.transport:
                    self._reading_paused = False
                    self.transport.resume_reading()
                return chunk
            if self._complete:
                return None
            if self._exc is not None:
                raise self._exc
            loop = self.pool.loop
            self._waiter = w = loop.create_future()
            handle = loop.call_later(timeout, self._timeout, w)
            try:
                await w
            except TimeoutError:
                self._fail(TimeoutError())
                raise
            finally:
                handle.cancel()
                self._waiter = None

    def release(self) -> None:
        """Back to the pool if the answer was read to its end and keep-alive holds."""
        if self._complete and self._keep_alive and not self.closed and not self._body:
            self.reused = True
            self.pool.idle.append(self)
        else:
            self.closed = True
            if self.transport is not None:
                self.transport.close()


class _Pool:
    """Idle keep-alive connections to one origin."""

    def __init__(self, host: str, port: int, tls: bool, connect_timeout: float,
                 read_timeout: float, max_idle: int = 64) -> None:
        self.host = host
        self.port = port
        self.ssl: ssl.SSLContext | None = ssl.create_default_context() if tls else None
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle: deque[_Connection] = deque(maxlen=max_idle)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def acquire(self) -> _Connection:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        loop = self.loop
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(self), self.host, self.port,
                                       ssl=self.ssl, server_hostname=self.host if self.ssl else None),
                self.connect_timeout)
        except TimeoutError:
            raise
        return proto  # type: ignore[return-value]

    def close(self) -> None:
        while self.idle:
            c = self.idle.pop()
            if c.transport is not None:
                c.transport.close()


class UpstreamClient:
    """Sends OpenAI-shaped requests to one configured upstream.

    Constructing it does no I/O; connections open on first use and are kept
    alive in a pool bound to the running event loop.
    """

    def __init__(self, cfg: UpstreamConfig) -> None:
        self.cfg = cfg
        url = urlsplit(cfg.base_url)
        tls = url.scheme == "https"
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (443 if tls else 80)
        self.base_path = url.path.rstrip("/")
        host_header = url.netloc.rsplit("@", 1)[-1]
        self._pool = _Pool(self.host, self.port, tls, cfg.connect_timeout_seconds, cfg.timeout_seconds)
        auth = b""
        if cfg.api_key is not None:
            auth = b"Authorization: Bearer " + cfg.api_key.get_secret_value().encode("latin-1") + b"\r\n"
        # the constant part of every request head, built once
        self._head_tail = (b"Host: " + host_header.encode("idna") + b"\r\n" + auth
                           + b"User-Agent: ledgergate\r\nAccept-Encoding: identity\r\n")

    def path_for(self, endpoint: str) -> str:
        """The upstream path of an endpoint (``chat.completions`` …) for this upstream's kind."""
        if self.cfg.kind == "mlflow-serving" and endpoint != "models":
            return self.base_path + "/invocations"
        try:
            return self.base_path + _OPENAI_PATHS[endpoint]
        except KeyError:
            raise ValueError(f"unknown endpoint {endpoint!r}: expected one of {sorted(_OPENAI_PATHS)}") from None

    def _request_bytes(self, method: str, path: str, body: bytes | None, request_id: str | None = None) -> bytes:
        head = method.encode() + b" " + path.encode() + b" HTTP/1.1\r\n" + self._head_tail
        if request_id is not None and request_id.isascii() and request_id.isprintable():
            head += b"X-Request-Id: " + request_id.encode() + b"\r\n"
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            return head + body
        return head + b"\r\n"

    async def request(self, endpoint: str, body: bytes | None, *, method: str = "POST",
                      request_id: str | None = None) -> UpstreamResponse:
        """Send one request; returns once the answer's headers are in.

        ``request_id`` goes along as ``X-Request-Id`` so the upstream's logs name
        the same request as the audit trail.

        Raises UpstreamUnreachable (502) when no connection can be made or the
        upstream drops it, UpstreamTimeout (504) on connect or answer timeout.
        A request on a reused keep-alive connection that the upstream had
        already closed (nothing received yet) is retried once on a new one.
        """
        data = self._request_bytes(method, self.path_for(endpoint), body, request_id)
        for attempt in (0, 1):
            try:
                conn = await self._pool.acquire()
            except TimeoutError as exc:
                raise UpstreamTimeout(
                    f"upstream {self.cfg.id!r} did not accept a connection within "
                    f"{self.cfg.connect_timeout_seconds:g}s: check that it is up or raise "
                    "upstreams[].connect_timeout_seconds") from exc
            except OSError as exc:
                raise UpstreamUnreachable(
                    f"upstream {self.cfg.id!r} at {self.host}:{self.port} is unreachable "
                    f"({exc.strerror or type(exc).__name__}): check upstreams[].base_url and that it is running"
                ) from exc
            try:
                status, headers = await conn.send(data, self.cfg.timeout_seconds)
            except TimeoutError as exc:
                conn.release()
                raise UpstreamTimeout(
                    f"upstream {self.cfg.id!r} did not answer within {self.cfg.timeout_seconds:g}s: "
                    "raise upstreams[].timeout_seconds if the model is slow") from exc
            except (ConnectionError, OSError) as exc:
                stale = conn.reused and not conn.got_bytes
                conn.release()
                if stale and attempt == 0:
                    continue
                raise UpstreamUnreachable(
                    f"upstream {self.cfg.id!r} closed the connection before answering ({type(exc).__name__})") from exc
            return UpstreamResponse(status, headers, conn)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def aclose(self) -> None:
        """Close idle connections."""
        self._pool.close()


def read_error(exc: BaseException, upstream_id: str) -> Exception:
    """Map an exception raised while reading an answer's body to a proxy error."""
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(f"upstream {upstream_id!r} stopped sending its answer (read timeout)")
    return UpstreamUnreachable(f"upstream {upstream_id!r} dropped the connection mid-answer ({type(exc).__name__})")
