"""Publish a policy bundle to the compacted policies topic (key: policy id).

A publish that would not take effect is refused: workers keep the highest
version of each policy id (and, for one version, the content they saw first),
so a bundle must carry a version greater than the one running. What runs is
the config's bundles plus everything on the topic, folded the way every worker
folds them (:class:`PolicyRegistry`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from ledgergate.broker import BrokerError
from ledgergate.errors import LedgergateError
from ledgergate.schemas.policy import PolicyBundle

from .registry import PolicyRegistry, PolicyUpdateError


class PolicyPublishError(LedgergateError):
    """The bundle would not take effect: its version is not greater than the running one."""


def check_publishable(running: PolicyBundle | None, bundle: PolicyBundle) -> bool:
    """True to publish, False when exactly this bundle already runs; raises when it would not take effect."""
    if running is None or bundle.version > running.version:
        return True
    if bundle.version == running.version and bundle.content_hash == running.content_hash:
        return False
    what = ("with different content" if bundle.version == running.version
            else f"at a higher version, v{running.version}")
    raise PolicyPublishError(
        f"policy {bundle.id} v{bundle.version} would not take effect: workers already run "
        f"{bundle.id} {what} (hash {running.content_hash[:12]}); set `version: "
        f"{running.version + 1}` (or higher) in the bundle file and publish again")


async def published_bundles(bootstrap: str, topic: str, timeout_s: float = 10.0) -> list[bytes]:
    """Every value on the policies topic, oldest first (read until two empty polls)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                fetch_max_wait_ms=200)
    tp = TopicPartition(topic, 0)
    out: list[bytes] = []
    try:
        await asyncio.wait_for(consumer.start(), timeout_s)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        deadline, empty = time.monotonic() + timeout_s, 0
        while empty < 2 and time.monotonic() < deadline:
            msgs = (await consumer.getmany(tp, timeout_ms=200)).get(tp, [])
            empty = 0 if msgs else empty + 1
            out += [m.value for m in msgs if m.value is not None]
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BrokerError(f"cannot read the policies topic {topic} at {bootstrap}: {exc!r}") from exc
    finally:
        await consumer.stop()
    return out


def running_bundle(configured: Iterable[PolicyBundle], published: Iterable[bytes],
                   policy_id: str) -> PolicyBundle | None:
    """The bundle workers run for ``policy_id``: config first, then the topic, as a worker folds them."""
    registry = PolicyRegistry(configured)
    for raw in published:
        try:
            registry.offer_json(raw)
        except PolicyUpdateError:
            continue  # workers skip an invalid record the same way
    return registry.get(policy_id)


async def publish_bundle(bootstrap: str, topic: str, bundle: PolicyBundle) -> None:
    """Send ``bundle`` so that every worker switches to it (newest version wins)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    try:
        await producer.start()
        await producer.send_and_wait(topic, key=bundle.id.encode(), value=bundle.canonical_json())
    except KafkaError as exc:
        raise BrokerError(f"cannot publish policy {bundle.id} to {topic} at {bootstrap}: {exc!r}") from exc
    finally:
        await producer.stop()


async def publish_checked(bootstrap: str, topic: str, bundle: PolicyBundle,
                          configured: Iterable[PolicyBundle]) -> bool:
    """Publish ``bundle`` if it would take effect; False when it already runs; raises otherwise."""
    running = running_bundle(configured, await published_bundles(bootstrap, topic), bundle.id)
    if not check_publishable(running, bundle):
        return False
    await publish_bundle(bootstrap, topic, bundle)
    return True
