"""Records gathered into aiokafka record batches, one open batch per (topic, partition).

Sending a batch with ``producer.send_batch`` costs one future and a fraction of
the bookkeeping of a ``producer.send`` per record. The worker's decision sender
and the SDK's bulk publisher both fill batches this way and then send them
(full ones first, each in the order it filled), so a partition's records keep
their order.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

Tag = TypeVar("Tag")


class RecordBatches(Generic[Tag]):
    """Record batches being filled, by (topic, partition), each with the tags of the records it holds.

    A batch that is full (the producer's ``max_batch_size``) is closed and a
    fresh one takes the record. The first record of a batch always fits, however
    large, as in Kafka: the broker judges a too-large record when it is sent.
    """

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], tuple[Any, list[Tag]]] = {}
        self._full: list[tuple[str, int, Any, list[Tag]]] = []

    def add(self, topic: str, partition: int, key: bytes | None, value: bytes, tag: Tag) -> None:
        """Append one record to the open batch of (topic, partition); ``tag`` names it in :meth:`batches`."""
        tp = (topic, partition)
        entry = self._open.get(tp)
        if entry is None:
            entry = self._open[tp] = (self._producer.create_batch(), [])
        if entry[0].append(key=key, value=value, timestamp=None) is None:
            self._full.append((topic, partition, *entry))
            entry = self._open[tp] = (self._producer.create_batch(), [])
            entry[0].append(key=key, value=value, timestamp=None)
        entry[1].append(tag)

    def batches(self) -> list[tuple[str, int, Any, list[Tag]]]:
        """Every batch as (topic, partition, batch, tags): the full ones first, in the order they filled."""
        return [*self._full, *((t, p, b, tags) for (t, p), (b, tags) in self._open.items())]
