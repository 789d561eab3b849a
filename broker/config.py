"""The ``broker:`` section and the topic names derived from its prefix.

Assembled into the one ``Settings`` model by ``ledgergate.config``, the only reader of the
environment; nothing here does I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ledgergate.configbase import ID_PATTERN, Section


class BrokerConfig(Section):
    """Kafka. Leave ``bootstrap_servers`` out to run the embedded Tansu broker."""

    bootstrap_servers: str | None = Field(None, description="host:port[,host:port]; absent → embedded")
    embedded_host: str = "127.0.0.1"
    embedded_port: int = Field(19092, ge=1, le=65535)
    topic_prefix: str = Field("lg", pattern=ID_PATTERN)
    partitions: int = Field(4, ge=1, le=256)
    replication_factor: int = Field(1, ge=1)
    kind: Literal["kafka", "tansu"] | None = Field(
        None, description="what answers at bootstrap_servers; default tansu when embedded, else kafka. "
                          "Tansu answers a fetch only when its wait ends, so its consumers use short waits")
    fetch_max_wait_ms: int | None = Field(
        None, ge=1, le=30_000,
        description="consumer fetch wait; default 5 on Tansu (it answers a fetch only "
                    "when the wait ends), 500 on Kafka (which answers as soon as data arrives)")

    @property
    def tansu(self) -> bool:
        """True when the broker is Tansu (the embedded default, or ``kind: tansu``)."""
        return self.kind == "tansu" or (self.kind is None and self.embedded)

    @property
    def fetch_wait_ms(self) -> int:
        """The consumer fetch wait in force (see ``fetch_max_wait_ms``)."""
        if self.fetch_max_wait_ms is not None:
            return self.fetch_max_wait_ms
        # Tansu sleeps the whole wait before it answers, so each hop costs the rest
        # of the current wait plus one more. Shorter waits (1-3 ms) measured no
        # faster at concurrency 1 and made Tansu stall replies for 0.1-5 s at 8.
        return 5 if self.tansu else 500

    @property
    def embedded(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"{self.embedded_host}:{self.embedded_port}"


class Topics(Section):
    """Topic names derived from the prefix (documented in the README, listed in schemas/topics.py)."""

    prefix: str
    requests: str
    held: str
    decisions: str
    responses: str
    policies: str
    governance: str
    schemas: str
    audit: str
    dead_letters: str
    replies_prefix: str

    @classmethod
    def for_prefix(cls, prefix: str) -> Topics:
        return cls(
            prefix=prefix, requests=f"{prefix}.requests", held=f"{prefix}.requests.held",
            decisions=f"{prefix}.decisions",
            responses=f"{prefix}.responses", policies=f"{prefix}.policies",
            governance=f"{prefix}.governance", schemas=f"{prefix}.schemas",
            audit=f"{prefix}.audit", dead_letters=f"{prefix}.dead-letters",
            replies_prefix=f"{prefix}.replies.",
        )

    def created(self) -> list[tuple[str, bool, bool]]:
        """(name, keyed, compacted) of every topic ``ledgergate topics`` creates.

        From the contract's topic list (schemas/topics.py), which the AsyncAPI
        document is generated from too; keyed topics get ``broker.partitions``,
        the others one partition.
        """
        from ledgergate.schemas.topics import TOPICS

        return [(t.name(self.prefix), t.partitions == "keyed", t.compacted)
                for t in TOPICS if t.created_by == "topics"]

    def replies(self, instance_id: str) -> str:
        """The reply topic of one proxy instance (each gets only its own decisions)."""
        return f"{self.replies_prefix}{instance_id}"
