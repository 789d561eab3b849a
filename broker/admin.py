"""Topic administration: every topic of a deployment, created with explicit partition counts."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from .config import Topics
from .errors import BrokerError


def topic_specs(topics: Topics, partitions: int, replication: int = 1) -> list[NewTopic]:
    """Every topic ``ledgergate topics`` creates, from the contract's list (schemas/topics.py).

    requests/held/decisions/responses share one partition count so that a request,
    its decision and its response land on the same partition number (key =
    request id); policies and schemas are compacted and single-partition (one
    ordered history each). Reply topics are created by each proxy.
    """
    return [NewTopic(name, partitions if keyed else 1, replication,
                     topic_configs={"cleanup.policy": "compact"} if compacted else None)
            for name, keyed, compacted in topics.created()]


async def ensure_topics(bootstrap: str, specs: list[NewTopic], timeout: float = 15.0) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BrokerError(f"cannot create topics on {bootstrap}: {exc!r}; is the broker running?") from exc
    finally:
        await admin.close()
