"""The one place that builds the proxy from Settings, and runs it on uvicorn.

* :func:`build_proxy` — every part constructed, nothing connected (no I/O).
* :func:`serve` — ``await`` it inside a running loop: uvicorn (uvloop +
  httptools, access log off) until SIGTERM/SIGINT, then a clean stop (producer
  flushed or spooled, reply consumer closed).
* :func:`run` — the blocking entry point for a CLI.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import uvicorn
from aiokafka.admin import NewTopic

from ledgergate.broker import ensure_topics, topic_specs
from ledgergate.config import Settings
from ledgergate.proxy.app import Authenticator, ProxyApp
from ledgergate.proxy.metrics import ProxyMetrics
from ledgergate.proxy.publisher import Publisher
from ledgergate.proxy.routing import Router
from ledgergate.proxy.spool import Spool
from ledgergate.proxy.suspensions import SuspensionWatch
from ledgergate.proxy.upstream import UpstreamClient
from ledgergate.proxy.waiter import DecisionWaiter
from ledgergate.schemas.codec import Codec, schema
from ledgergate.schemas.store import SchemaResolver, SchemaTopic


def default_instance_id() -> str:
    """``<host>-<pid>``, cleaned to the topic-name alphabet."""
    host = "".join(c if c.isalnum() or c in "-_." else "-" for c in socket.gethostname()) or "proxy"
    return f"{host}-{os.getpid()}"


def build_proxy(settings: Settings, *, authenticator: Authenticator | None = None,
                instance_id: str | None = None) -> ProxyApp:
    """Build the ASGI app and its parts from ``settings``; nothing connects until startup.

    ``authenticator`` defaults to ``ledgergate.proxy.identity.build_authenticator(settings.identity)``.
    The spool lives in ``proxy.spool_dir/<instance id>`` so instances never share one.
    """
    if authenticator is None:
        from ledgergate.proxy.identity import build_authenticator  # the identity module is optional in tests

        authenticator = build_authenticator(settings.identity)
    iid = instance_id or settings.proxy.instance_id or default_instance_id()
    topics = settings.topics
    bootstrap = settings.broker.bootstrap
    client_id = f"ledgergate-proxy-{iid}"
    spool = Spool(settings.proxy.spool_dir / iid)
    publisher = Publisher(bootstrap, spool, publish_timeout_ms=settings.proxy.publish_timeout_ms,
                          linger_ms=settings.proxy.publish_linger_ms, client_id=client_id)
    store = SchemaTopic(bootstrap, topics.schemas)
    waiter = DecisionWaiter(bootstrap, topics.replies(iid), client_id=client_id,
                            fetch_max_wait_ms=settings.broker.fetch_wait_ms,
                            schemas=SchemaResolver(Codec.default(), store))
    upstreams = {u.id: UpstreamClient(u) for u in settings.upstreams}

    # route suspensions recorded through `ledgergate route suspend` (proxy/suspensions.py)
    suspensions = SuspensionWatch(bootstrap, topics.governance, client_id=client_id)

    async def prepare() -> None:
        # the deployment's topics plus this instance's reply topic (one partition:
        # it only carries this instance's decisions)
        specs = topic_specs(topics, settings.broker.partitions, settings.broker.replication_factor)
        specs.append(NewTopic(topics.replies(iid), 1, settings.broker.replication_factor))
        try:
            await ensure_topics(bootstrap, specs, timeout=5.0)
            # before the first event: readers of another release can look these up
            await store.publish([schema("RequestEvent"), schema("ResponseEvent")])
        finally:  # read the suspensions already recorded before serving (or follow them once reachable)
            await suspensions.start()

    app = ProxyApp(settings, router=Router(settings.routes), authenticator=authenticator,
                   upstreams=upstreams, publisher=publisher, waiter=waiter, instance_id=iid,
                   prepare=prepare)
    app.route_checks.append(suspensions.check)
    return app


def uvicorn_config(app: Any, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    """uvicorn settings for the proxy: uvloop, httptools, no access log, lifespan on."""
    kw: dict[str, Any] = dict(host=host, port=port, loop="uvloop", http="httptools", access_log=False,
                              lifespan="on", log_level="warning", timeout_graceful_shutdown=10)
    kw.update(overrides)
    return uvicorn.Config(app, **kw)


async def serve(settings: Settings, *, authenticator: Authenticator | None = None,
                app: ProxyApp | None = None, **uvicorn_overrides: Any) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn's handlers), then stop cleanly via lifespan shutdown."""
    proxy = app or build_proxy(settings, authenticator=authenticator)
    metrics = ProxyMetrics()
    metrics.attach(proxy)
    server = uvicorn.Server(uvicorn_config(metrics.asgi(proxy), settings.proxy.host, settings.proxy.port,
                                           **uvicorn_overrides))
    await server.serve()


def run(settings: Settings, *, authenticator: Authenticator | None = None) -> None:
    """Blocking entry point: build and serve on uvloop."""
    import uvloop

    uvloop.run(serve(settings, authenticator=authenticator))


__all__ = ["build_proxy", "serve", "run", "uvicorn_config", "default_instance_id"]
