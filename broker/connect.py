"""Connection helpers: probe a port, pick a free one, start a client once the broker is reachable."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger("ledgergate.broker")


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_when_reachable(client: Any, what: str, stop: asyncio.Event | None = None,
                               retry_s: float = 1.0) -> bool:
    """Start an aiokafka client, retrying while the broker is not reachable yet.

    Returns False if ``stop`` was set before the client could start.
    """
    while stop is None or not stop.is_set():
        try:
            await client.start()
            return True
        except KafkaError as exc:
            log.warning("%s: broker not reachable yet (%r); retrying", what, exc)
            await asyncio.sleep(retry_s)
    return False


async def follow_from_start(bootstrap: str, topic: str, what: str, handle: Callable[[Any], None]) -> None:
    """Hand every record of a one-partition topic to ``handle``, from the start, forever.

    A plain consumer with no group: every process must see every record (a group
    would split the topic between them). This is how policy bundles and human
    facts reach each worker. ``handle`` deals with its own bad records.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await start_when_reachable(consumer, what)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        async for msg in consumer:
            handle(msg)
    finally:
        await consumer.stop()
