"""The worker's Prometheus metrics (served on ``worker.metrics_port`` at ``/metrics``).

Names follow the Prometheus naming guide: ``ledgergate_worker_`` prefix, base
units (seconds), ``_total`` on counters (added by prometheus-client), labels
with a small closed set of values (outcome, category, reason, topic,
partition — never a request id or a person).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ledgergate.streams.judge import Judged

log = logging.getLogger("ledgergate.worker")

# one batched classifier pass: ≈ 0.6 ms an event for pattern-only text, ≈ 6 ms with NER
CLASSIFY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

LagSource = Callable[[], Mapping[tuple[str, int], int]]


class _LagCollector(Collector):
    """Consumer lag per assigned partition, read when scraped."""

    def __init__(self, source: LagSource) -> None:
        self._source = source

    def collect(self) -> Iterable[GaugeMetricFamily]:
        g = GaugeMetricFamily("ledgergate_worker_consumer_lag",
                              "Records in the partition not yet judged by this worker (log end offset "
                              "minus the next offset to judge), per assigned partition.",
                              labels=["topic", "partition"])
        try:
            lags = self._source()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the consumer is rebalancing
            log.debug("consumer lag not available", exc_info=True)
            lags = {}
        for (topic, partition), lag in sorted(lags.items()):
            g.add_metric([topic, str(partition)], lag)
        yield g


class WorkerMetrics:
    """Counters and histograms of one worker process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.judged = Counter("ledgergate_worker_events_judged", "Request events judged, by decision outcome "
                              "and whether a caller was holding for it (held) or not (observe).",
                              ["outcome", "path"], registry=r)
        self.categories = Counter("ledgergate_worker_event_categories",
                                  "Categories found in judged events (an event with two categories counts "
                                  "once in each), by decision outcome.", ["category", "outcome"], registry=r)
        self.classify = Histogram("ledgergate_worker_classify_seconds",
                                  "Time of one batched classify-and-decide pass over a batch of events.",
                                  buckets=CLASSIFY_BUCKETS, registry=r)
        self.batch_events = Histogram("ledgergate_worker_batch_events", "Events in one judged batch.",
                                      buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.dead_letters = Counter("ledgergate_worker_dead_letters", "Records sent to the dead-letter topic, "
                                    "by the step that failed.", ["reason"], registry=r)

    def watch_lag(self, source: LagSource) -> None:
        """Report consumer lag from ``source`` (called at scrape time)."""
        self.registry.register(_LagCollector(source))

    def judged_batch(self, results: list[Judged], path: str, classify_seconds: float) -> None:
        """Count one judged batch."""
        self.classify.observe(classify_seconds)
        self.batch_events.observe(len(results))
        # count the batch first: one labelled increment per distinct label set, not per event
        outcomes: dict[str, int] = {}
        cats: dict[tuple[str, str], int] = {}
        for j in results:
            if j.outcome is None:
                continue
            outcomes[j.outcome] = outcomes.get(j.outcome, 0) + 1
            for c in j.categories:
                cats[(c, j.outcome)] = cats.get((c, j.outcome), 0) + 1
        for outcome, n in outcomes.items():
            self.judged.labels(outcome, path).inc(n)
        for (c, outcome), n in cats.items():
            self.categories.labels(c, outcome).inc(n)

    def dead_lettered(self, reason: str) -> None:
        self.dead_letters.labels(reason).inc()


def serve(metrics_registry: CollectorRegistry, host: str, port: int, what: str) -> int | None:
    """Serve ``/metrics`` from a daemon thread; the bound port, or None if it could not bind.

    A port already in use is logged, not fatal: the worker's job is judging, and
    a second worker on one host without its own port must still run.
    """
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=host, registry=metrics_registry)
    except OSError as exc:
        log.error("%s metrics: cannot listen on %s:%d (%s); /metrics is off for this process", what, host,
                  port, exc.strerror or exc)
        return None
    bound = int(server.server_address[1])
    log.warning("%s metrics on http://%s:%d/metrics", what, host, bound)
    return bound
