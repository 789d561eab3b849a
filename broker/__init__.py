"""The broker layer: the embedded Kafka-compatible broker (Tansu), topic admin, connection helpers.

Runtime packages (proxy, streams, ledger, ingest) and the entry points import the
broker from here; it depends only on ``config`` (topic names) and ``errors``.
"""

from __future__ import annotations

from .admin import ensure_topics, topic_specs
from .connect import follow_from_start, free_port, port_open, start_when_reachable
from .embedded import EmbeddedBroker, die_with_parent, tansu_binary
from .errors import BrokerError

__all__ = [
    "BrokerError",
    "EmbeddedBroker",
    "die_with_parent",
    "ensure_topics",
    "follow_from_start",
    "free_port",
    "port_open",
    "start_when_reachable",
    "tansu_binary",
    "topic_specs",
]
