"""Route suspensions in the proxy: every instance follows the governance topic and refuses a
suspended route with an OpenAI-style 503 (``route_suspended``), without a restart.

The state is the pure :class:`~ledgergate.governance.state.GovernanceBook`; this
module is the thin loop that feeds it and the check the app calls once a
request's route is known.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ledgergate.governance.state import GovernanceBook, suspended_route
from ledgergate.schemas.codec import SchemaError, default_codec

from .errors import ProxyError

log = logging.getLogger("ledgergate.proxy")
# how long start() waits to read the suspensions already recorded before serving
CATCH_UP_S = 3.0


class RouteSuspended(ProxyError):
    """A person suspended the route (Art. 26(5)); nothing is forwarded until it is resumed."""

    status, type, code = 503, "service_unavailable", "route_suspended"


class SuspensionWatch:
    """Suspended routes as of the governance events read so far. No I/O until :meth:`start`."""

    def __init__(self, bootstrap: str, topic: str, *, client_id: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._client_id = client_id
        self.book = GovernanceBook()
        self._task: asyncio.Task[None] | None = None
        self._caught_up = asyncio.Event()

    def check(self, route: Any, principal: Any = None) -> None:
        """A route check for the app: raise :class:`RouteSuspended` if ``route`` is suspended now."""
        route_id = getattr(route, "id", route)
        s = suspended_route(self.book, route_id)
        if s is not None:
            raise RouteSuspended(f"route {route_id!r} is suspended since {_iso(s.at_us)} by {s.by} "
                                 f"(reason: {s.reason}); a reviewer resumes it with "
                                 f"`ledgergate route resume {route_id}`", param="model")

    async def start(self) -> None:
        """Follow the topic in the background; wait briefly for what is already recorded."""
        self._task = asyncio.create_task(self._follow())
        try:
            await asyncio.wait_for(self._caught_up.wait(), CATCH_UP_S)
        except TimeoutError:
            log.warning("suspensions not read within %.0f s (broker down?); following in the background",
                        CATCH_UP_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                        enable_auto_commit=False, client_id=self._client_id)
            try:
                await consumer.start()
                tp = TopicPartition(self._topic, 0)
                consumer.assign([tp])
                await consumer.seek_to_beginning(tp)
                end = (await consumer.end_offsets([tp]))[tp]
                if end == 0:
                    self._caught_up.set()
                async for msg in consumer:
                    self._offer(msg)
                    if msg.offset + 1 >= end:
                        self._caught_up.set()
            except KafkaError as exc:
                log.warning("governance topic unreachable (%r); retrying", exc)
                await asyncio.sleep(1.0)
            finally:
                await consumer.stop()

    def _offer(self, msg: Any) -> None:
        try:
            self.book.offer(default_codec().decode(msg.value, expect="GovernanceEvent")[1])
        except SchemaError as exc:
            log.error("%s[%d]@%d is not a GovernanceEvent, skipped: %s", msg.topic, msg.partition, msg.offset, exc)


def _iso(us: int) -> str:
    import datetime as dt

    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%SZ")
