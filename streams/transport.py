"""Faust's aiokafka transport with a short fetch wait.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its consumer. Real Kafka
answers a fetch as soon as data arrives, so the wait rarely matters there;
the embedded Tansu broker answers only when the wait ends, which would add up
to 1.5 s to every held (enforce) request. This transport keeps everything of
Faust's and only sets the wait. It is registered as the URL scheme
``lgkafka://`` (see :func:`register`).
"""

from __future__ import annotations

from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "lgkafka"
# set by register(); one Faust app per worker process
_fetch_max_wait_ms = 5


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher in start(); set it before that
        consumer._fetch_max_wait_ms = _fetch_max_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """aiokafka transport whose consumer waits at most the configured fetch wait."""

    Consumer = _Consumer


def register(fetch_max_wait_ms: int) -> None:
    """Make ``lgkafka://host:port`` resolve to :class:`Transport` with this fetch wait."""
    global _fetch_max_wait_ms
    _fetch_max_wait_ms = fetch_max_wait_ms
    drivers.TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
