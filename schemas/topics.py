"""Every topic of a deployment, as data: the one source for topic creation and the AsyncAPI document.

``ledgergate topics`` creates exactly :data:`TOPICS` (except the per-proxy reply
topics, which each proxy creates for itself) and ``schemas/asyncapi.py`` renders
the same list, so the document other teams read cannot drift from what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Partitions = Literal["keyed", "one"]


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name under the prefix, what its records are, who uses it."""

    suffix: str                       # the name after "<prefix>."; "{proxy_id}" marks a parameter
    summary: str
    key: str                          # what the record key is (UTF-8 text)
    value: str                        # an Avro schema name, or "schema-json" / "policy-json" / "bytes"
    partitions: Partitions            # "keyed": broker.partitions; "one": a single partition
    compacted: bool
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    created_by: Literal["topics", "proxy"] = "topics"

    def name(self, prefix: str) -> str:
        return f"{prefix}.{self.suffix}"

    @property
    def avro(self) -> bool:
        return self.value[:1].isupper()


REQUESTS = "RequestEvent"

TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("requests", "Prompts to judge from observe routes, /v1/events, the SDK and MLflow ingest",
              "request id", REQUESTS, "keyed", False,
              ("proxy", "other gateways (/v1/events, SDK, any Avro producer)", "ingest mlflow"),
              ("worker",)),
    TopicSpec("requests.held", "Prompts from enforce routes: a caller waits for the decision",
              "request id", REQUESTS, "keyed", False, ("proxy",), ("worker",)),
    TopicSpec("decisions", "Every decision of the workers", "request id", "Decision", "keyed",
              False, ("worker",), ("ledger", "anyone (SIEM, dashboards)")),
    TopicSpec("replies.{proxy_id}", "Decisions for the proxy instance holding the request",
              "request id", "Decision", "one", False, ("worker",), ("proxy (that instance)",),
              created_by="proxy"),
    TopicSpec("responses", "What the proxy forwarded or refused (never the answer text)",
              "request id", "ResponseEvent", "keyed", False, ("proxy",), ("ledger",)),
    TopicSpec("policies", "Versioned policy bundles; every worker follows the newest version",
              "policy id", "policy-json", "one", True, ("ledgergate policy publish",),
              ("worker (read outside the group)",)),
    TopicSpec("governance", "Recorded human facts: incident steps, overrides of decisions, route "
              "suspensions (kept, one ordered history)", "event id", "GovernanceEvent", "one", False,
              ("ledgergate CLI (a verified person)",),
              ("ledger", "worker (overrides)", "proxy (suspensions)")),
    TopicSpec("schemas", "Writer schemas by fingerprint, so readers resolve writers they were "
              "not built with", "CRC-64-AVRO fingerprint, 16 hex digits in wire order",
              "schema-json", "one", True, ("every writer, before its first message",
                                           "ledgergate topics"),
              ("every reader meeting an unknown fingerprint",)),
    TopicSpec("dead-letters", "Records a worker could not judge, with their coordinates in "
              "headers x-error, x-topic, x-partition, x-offset, x-worker", "original key",
              "bytes", "keyed", False, ("worker",), ("operators",)),
    TopicSpec("audit", "Reserved for signed envelopes", "record id", "SignedEnvelope", "keyed",
              False, (), ()),
)


def by_suffix(suffix: str) -> TopicSpec:
    for t in TOPICS:
        if t.suffix == suffix:
            return t
    raise KeyError(f"no topic {suffix!r}: known {', '.join(t.suffix for t in TOPICS)}")
