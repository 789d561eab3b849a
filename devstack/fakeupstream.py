"""A local fake OpenAI-compatible upstream for tests, the demo and the benchmark.

Bare ASGI on uvicorn (uvloop + httptools) so it is never the bottleneck of a
measurement. It answers:

* ``POST /v1/chat/completions`` — JSON, or SSE with ``"stream": true`` ending
  ``data: [DONE]``; the answer echoes the last user message (``echo: …``) so a
  test can see what reached the upstream and how the proxy restored it; usage
  block included (and in the last SSE chunk).
* ``POST /v1/completions``, ``POST /v1/embeddings``, ``GET /v1/models``.
* ``POST /invocations`` — MLflow Model Serving of a chat model (chat-completion shape).
* ``GET /_last`` — the last JSON body received (with ``_path`` and ``_authorization``);
  ``GET /_count`` — ``{"count": n}`` requests served; ``POST /_reset``.

Knobs (attributes of :class:`FakeUpstream`, also settable with ``POST /_config``):
``delay_ms`` before answering, ``chunk_delay_ms`` between SSE chunks,
``fail_status`` + ``fail_body`` to answer every inference call with an error,
``chunk_chars`` the size of each streamed text piece.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


def _words(text: str) -> int:
    return max(1, len(text.split()))


class FakeUpstream:
    """The ASGI app; its attributes are the knobs and the record of what it saw."""

    def __init__(self) -> None:
        self.delay_ms = 0.0
        self.chunk_delay_ms = 0.0
        self.chunk_chars = 4
        self.fail_status: int | None = None
        self.fail_body: dict[str, Any] = {"error": {"message": "fake upstream failure",
                                                    "type": "invalid_request_error", "code": "fake"}}
        self.last: dict[str, Any] | None = None
        self.count = 0
        self.bodies: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget what was seen and restore the default knobs."""
        self.__init__()  # type: ignore[misc]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "http":
            return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path: str = scope["path"]
        if scope["method"] == "GET":
            return await self._get(path, send)
        if path == "/_reset":
            self.reset()
            return await _json(send, 200, {"ok": True})
        if path == "/_config":
            for k, v in json.loads(body or b"{}").items():
                setattr(self, k, v)
            return await _json(send, 200, {"ok": True})
        try:
            req = json.loads(body) if body else {}
        except ValueError:
            return await _json(send, 400, {"error": {"message": "fake upstream: body is not JSON"}})
        self.count += 1
        auth = next((v.decode() for k, v in scope["headers"] if k == b"authorization"), None)
        rid = next((v.decode() for k, v in scope["headers"] if k == b"x-request-id"), None)
        self.last = dict(req, _path=path, _authorization=auth, _request_id=rid)
        self.bodies.append(self.last)
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000)
        if self.fail_status is not None:
            return await _json(send, self.fail_status, self.fail_body)
        return await self._post(path, req, send)

    async def _get(self, path: str, send: Send) -> None:
        """The fake's own probes (``/_last``, ``/_count``) and the model list."""
        if path == "/_last":
            return await _json(send, 200, self.last)
        if path == "/_count":
            return await _json(send, 200, {"count": self.count})
        if path in ("/v1/models", "/models"):
            return await _json(send, 200, {"object": "list", "data": [
                {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]})
        if path == "/health":
            return await _json(send, 200, {"status": "ok"})
        return await _json(send, 404, {"error": {"message": f"no route {path}"}})

    async def _post(self, path: str, req: dict[str, Any], send: Send) -> None:
        """The OpenAI-compatible endpoints (and MLflow serving's ``/invocations``)."""
        if path.endswith("/chat/completions") or path.endswith("/invocations"):
            return await self._chat(req, send)
        if path.endswith("/completions"):
            return await self._completion(req, send)
        if path.endswith("/embeddings"):
            inputs = req.get("input", "")
            n = len(inputs) if isinstance(inputs, list) else 1
            return await _json(send, 200, {
                "object": "list", "model": req.get("model"),
                "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(n)],
                "usage": {"prompt_tokens": n, "total_tokens": n}})
        return await _json(send, 404, {"error": {"message": f"no route {path}"}})

    async def _chat(self, req: dict[str, Any], send: Send) -> None:
        msgs = req.get("messages") or [{}]
        last = msgs[-1].get("content", "") if isinstance(msgs[-1], dict) else ""
        if isinstance(last, list):
            last = " ".join(p.get("text", "") for p in last if isinstance(p, dict))
        text = f"echo: {last}"
        usage = {"prompt_tokens": _words(str(last)), "completion_tokens": _words(text),
                 "total_tokens": _words(str(last)) + _words(text)}
        cid = f"chatcmpl-fake{self.count}"
        created = int(time.time())
        if req.get("stream"):
            await send({"type": "http.response.start", "status": 200, "headers": _SSE})
            n = max(1, int(self.chunk_chars))
            pieces = [text[i:i + n] for i in range(0, len(text), n)] or [""]
            for i, piece in enumerate(pieces):
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": created,
                         "model": req.get("model"),
                         "choices": [{"index": 0, "delta": ({"role": "assistant", "content": piece} if i == 0
                                                            else {"content": piece}),
                                      "finish_reason": None}]}
                await send({"type": "http.response.body", "body": b"data: " + json.dumps(chunk).encode() + b"\n\n",
                            "more_body": True})
                if self.chunk_delay_ms:
                    await asyncio.sleep(self.chunk_delay_ms / 1000)
            final = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.get("model"),
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
            await send({"type": "http.response.body", "body": b"data: " + json.dumps(final).encode()
                        + b"\n\ndata: [DONE]\n\n", "more_body": False})
            return
        await _json(send, 200, {
            "id": cid, "object": "chat.completion", "created": created, "model": req.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage})

    async def _completion(self, req: dict[str, Any], send: Send) -> None:
        prompt = req.get("prompt", "")
        if isinstance(prompt, list):
            prompt = " ".join(str(p) for p in prompt)
        text = f"echo: {prompt}"
        await _json(send, 200, {
            "id": f"cmpl-fake{self.count}", "object": "text_completion", "created": int(time.time()),
            "model": req.get("model"), "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": _words(prompt), "completion_tokens": _words(text),
                      "total_tokens": _words(prompt) + _words(text)}})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _json(send: Send, status: int, obj: Any) -> None:
    body = json.dumps(obj).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": _JSON + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _config(app: FakeUpstream, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, loop="uvloop", http="httptools",
                          access_log=False, log_level="warning", lifespan="off")


def run_fake_upstream(host: str = "127.0.0.1", port: int = 18000, app: FakeUpstream | None = None) -> None:
    """Serve the fake upstream in the foreground (blocks until SIGINT/SIGTERM)."""
    uvicorn.Server(_config(app or FakeUpstream(), host, port)).run()


class RunningFake:
    """A fake upstream serving in a background thread (see :func:`fake_upstream`)."""

    def __init__(self, app: FakeUpstream, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. ``http://127.0.0.1:18000/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def fake_upstream(host: str = "127.0.0.1", port: int = 0, app: FakeUpstream | None = None,
                  timeout: float = 10.0) -> Iterator[RunningFake]:
    """Run the fake upstream in a daemon thread; yields a :class:`RunningFake`.

    ``port=0`` picks a free port.
    """
    if port == 0:
        from ledgergate.broker import free_port
        port = free_port()
    fake = app or FakeUpstream()
    server = uvicorn.Server(_config(fake, host, port))
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # not the main thread
    thread = threading.Thread(target=server.run, name=f"fake-upstream-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"fake upstream did not start on {host}:{port} within {timeout:g}s")
        time.sleep(0.01)
    try:
        yield RunningFake(fake, host, port)
    finally:
        server.should_exit = True
        thread.join(timeout)


def main() -> None:  # pragma: no cover - manual use
    """``python -m ledgergate.devstack.fakeupstream [port]``."""
    import sys

    run_fake_upstream(port=int(sys.argv[1]) if len(sys.argv) > 1 else 18000)


if __name__ == "__main__":  # pragma: no cover
    main()
