"""The ledger service's Prometheus metrics (served on ``ledger.metrics_port`` at ``/metrics``).

Counters that the sink already keeps (duplicates skipped, undecodable records)
and the writer's state (tree size, checkpoint age) are read when scraped; the
append latency and the records appended by kind are observed per batch. The
verify status is the result of the newest verification any caller ran
(``ledgergate verify``, a report): absent until one ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("ledgergate.ledger")

# one DuckDB append of a batch: ≈ 12 ms of fixed cost plus ≈ 0.2 ms a record
APPEND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _StateCollector(Collector):
    """Values owned by the sink and the writer, read at scrape time."""

    def __init__(self, read: Callable[[], Mapping[str, float]]) -> None:
        self._read = read

    def collect(self) -> Iterable[Any]:
        try:
            v = self._read()
        except Exception:  # noqa: BLE001 - a scrape never fails because a value is briefly unreadable
            log.debug("ledger state not readable for metrics", exc_info=True)
            return
        yield CounterMetricFamily("ledgergate_ledger_duplicates_skipped",
                                  "Records read from Kafka that the ledger already held (skipped by "
                                  "kind and request id).", value=v["duplicates"])
        yield CounterMetricFamily("ledgergate_ledger_records_undecodable",
                                  "Records read from Kafka that could not be decoded (left in their topic).",
                                  value=v["undecodable"])
        yield GaugeMetricFamily("ledgergate_ledger_size_records", "Records in the Merkle log (tree size).",
                                value=v["size"])
        if v["checkpoint_at"] > 0:
            yield GaugeMetricFamily("ledgergate_ledger_checkpoint_age_seconds",
                                    "Seconds since the newest signed checkpoint.",
                                    value=max(0.0, time.time() - v["checkpoint_at"]))


class LedgerMetrics:
    """The ledger service's metrics, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.appended = Counter("ledgergate_ledger_records_appended",
                                "Records appended to the signed ledger, by kind.", ["kind"], registry=r)
        self.append_seconds = Histogram("ledgergate_ledger_append_seconds",
                                        "Time of one batch append (sign, Merkle, DuckDB transaction).",
                                        buckets=APPEND_BUCKETS, registry=r)
        self.batch_records = Histogram("ledgergate_ledger_append_batch_records", "Records in one append.",
                                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2500), registry=r)
        self.verify_ok = Gauge("ledgergate_ledger_verify_ok",
                               "1 if the newest verification passed, 0 if it failed.", registry=r)
        self.verify_at = Gauge("ledgergate_ledger_verify_last_timestamp_seconds",
                               "When the newest verification finished (Unix time).", registry=r)

    def watch(self, read: Callable[[], Mapping[str, float]]) -> None:
        """Report sink and writer state; ``read`` returns duplicates, undecodable, size, checkpoint_at (s)."""
        self.registry.register(_StateCollector(read))

    def observe_append(self, entries: Sequence[Mapping[str, Any]], results: Sequence[Any],
                       seconds: float) -> None:
        """Count one append: results align with entries; duplicates are not appended."""
        self.append_seconds.observe(seconds)
        self.batch_records.observe(len(entries))
        kinds: dict[str, int] = {}
        for e, res in zip(entries, results, strict=False):
            if not getattr(res, "duplicate", False):
                kinds[str(e.get("kind"))] = kinds.get(str(e.get("kind")), 0) + 1
        for kind, n in kinds.items():
            self.appended.labels(kind).inc(n)

    def verified(self, result: Mapping[str, Any]) -> None:
        self.verify_ok.set(1 if result.get("ok") else 0)
        self.verify_at.set(time.time())


def serve(registry: CollectorRegistry, host: str, port: int) -> int | None:
    """Serve ``/metrics`` from a daemon thread; the bound port, or None (logged) if the port is taken."""
    from prometheus_client import start_http_server

    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log.error("ledger metrics: cannot listen on %s:%d (%s); /metrics is only on the socket", host, port,
                  exc.strerror or exc)
        return None
    bound = int(server.server_address[1])
    log.warning("ledger metrics on http://%s:%d/metrics", host, bound)
    return bound
