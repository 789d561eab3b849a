"""The proxy's Prometheus metrics, served by the proxy itself at ``GET /metrics``.

Every request that reaches the proxy ends in exactly one ResponseEvent with an
outcome (see the README's outcome table); the same exchange is counted here
by route, mode and outcome. Held (enforce) requests add their hold time — from
publishing the request to having the decision — to a histogram. Spool depth,
events sent, spooled and failed sends are read from the publisher when scraped.

Labels have small closed value sets: a route id from the config (``-`` before
routing), the route's mode (``none`` before routing) and an outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ledgergate.proxy.exchange import Exchange

log = logging.getLogger("ledgergate.proxy")

# enforce adds ≈ 8-20 ms on a quiet machine; the hold timeout defaults to 5 s
HOLD_BUCKETS = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PublisherCollector(Collector):
    def __init__(self, publisher: Any) -> None:
        self._p = publisher

    def collect(self) -> Iterable[Any]:
        p = self._p
        yield GaugeMetricFamily("ledgergate_proxy_spool_events",
                                "Events in the local spool waiting for the broker.", value=p.spool.pending)
        yield CounterMetricFamily("ledgergate_proxy_events_published",
                                  "Events the broker acknowledged (request, response, replayed).", value=p.sent)
        yield CounterMetricFamily("ledgergate_proxy_events_spooled",
                                  "Events written to the local spool instead of the broker.", value=p.spooled)
        yield CounterMetricFamily("ledgergate_proxy_publish_failures",
                                  "Sends to the broker that failed (the proxy then spools until it answers).",
                                  value=p.failures)
        yield CounterMetricFamily("ledgergate_proxy_events_lost",
                                  "Events neither sent nor spooled (the spool failed too); each is also logged.",
                                  value=getattr(p, "lost", 0))


class ProxyMetrics:
    """Counters of one proxy process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("ledgergate_proxy_requests", "Requests answered, by route, mode and outcome.",
                                ["route", "mode", "outcome"], registry=self.registry)
        self.hold = Histogram("ledgergate_proxy_hold_seconds",
                              "Enforce: time from publishing a held request to having its decision.",
                              ["route"], buckets=HOLD_BUCKETS, registry=self.registry)

    def attach(self, proxy: Any) -> None:
        """Count ``proxy``'s exchanges and read its publisher."""
        proxy.observers.append(self.observe)
        self.registry.register(_PublisherCollector(proxy.publisher))

    def observe(self, x: Exchange) -> None:
        """One finished exchange (a proxy observer)."""
        route = x.route.id if x.route is not None else "-"
        mode = x.route.mode if x.route is not None else "none"
        self.requests.labels(route, mode, x.outcome or "unknown").inc()
        if x.hold_ms is not None:
            self.hold.labels(route).observe(x.hold_ms / 1000)

    def asgi(self, app: Any) -> Any:
        """``app`` with ``GET /metrics`` answered in the Prometheus text format."""
        registry = self.registry

        async def with_metrics(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/metrics":
                if scope["method"] not in ("GET", "HEAD"):
                    body, status, ctype = b'{"error":{"message":"GET /metrics","type":"invalid_request_error",' \
                        b'"code":"method_not_allowed"}}', 405, b"application/json"
                else:
                    body, status, ctype = generate_latest(registry), 200, CONTENT_TYPE_LATEST.encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await app(scope, receive, send)

        return with_metrics
