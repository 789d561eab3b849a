"""The Faust application: the classify-and-decide agent and the policy follower.

The agent is a thin loop around :class:`ledgergate.streams.decide.Decider`:
decode → decide (one batched classifier pass) → encode → publish. It never
dies on a bad record: each failure is logged with topic/partition/offset, the
record goes to the dead-letter topic with the error, an enforce caller gets a
fail-closed block, and the loop carries on.

Delivery is at least once (the embedded broker has no idempotent producer);
consumers downstream (the proxy's waiter, the ledger sink) are idempotent by
request id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition

from ledgergate.config import Settings
from ledgergate.broker import start_when_reachable
from ledgergate.schemas.codec import Codec, SchemaError
from ledgergate.streams import transport
from ledgergate.streams.batching import take_ready
from ledgergate.streams.decide import Decider, DecideError, blocked_for_error
from ledgergate.streams.overrides import OverrideHook, follow_governance
from ledgergate.streams.policy.registry import PolicyRegistry, PolicyUpdateError

log = logging.getLogger("ledgergate.worker")

# events handled together (one classifier pass); a batch is whatever is ready, never
# waited for. A held request waits at most one observe batch (≈ 1.7 ms an event), so
# observe batches are small: 4 drained an observe backlog within 3 % of 8's rate
# (2 lost 20 %). Held batches can be larger: nothing else waits behind them.
HELD_BATCH_MAX = 8
OBSERVE_BATCH_MAX = 4


def _now_us() -> int:
    return time.time_ns() // 1000


class WorkerState:
    """What the worker has done, for readiness and the bench."""

    def __init__(self) -> None:
        self.decided = 0
        self.dead_lettered = 0
        self.assigned = asyncio.Event()


def build_app(settings: Settings, decider: Decider, policies: PolicyRegistry, *, codec: Codec,
              worker_id: str, on_ready: Callable[[], None] | None = None,
              overrides: OverrideHook | None = None) -> tuple[faust.App, WorkerState]:
    """The Faust app of one worker process (no I/O until it is started)."""
    b = settings.broker
    topics = settings.topics
    transport.register(b.fetch_wait_ms)
    app = faust.App(
        settings.worker.group_id,
        broker=[f"{transport.SCHEME}://{h}" for h in b.bootstrap.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=b.partitions,
        topic_replication_factor=b.replication_factor,
        # small timeouts: a group (re)join takes a few seconds instead of 30+
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=6.0,
        broker_commit_interval=0.5,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.0,
        web_enabled=False,
        autodiscover=False,
        store="memory://",
        stream_wait_empty=False,
        # Faust keeps per-app files here; by default it would write into the
        # current directory. Ours holds nothing durable (tables are in memory).
        datadir=str(Path(settings.ledger.path).parent / "run" / "faust"),
    )
    state = WorkerState()
    requests = app.topic(topics.requests, value_serializer="raw", key_serializer="raw",
                         partitions=b.partitions)
    held = app.topic(topics.held, value_serializer="raw", key_serializer="raw",
                     partitions=b.partitions)
    dead = app.topic(topics.dead_letters, value_serializer="raw", key_serializer="raw",
                     partitions=b.partitions)
    async def dead_letter(ev: Any, error: str) -> None:
        msg = ev.message
        log.error("dead-lettering record %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, error)
        state.dead_lettered += 1
        headers = {"x-error": error[:2000].encode(), "x-topic": msg.topic.encode(),
                   "x-partition": str(msg.partition).encode(), "x-offset": str(msg.offset).encode(),
                   "x-worker": worker_id.encode()}
        try:
            await dead.send(key=msg.key, value=msg.value, headers=headers)
        except Exception:  # the record is still in its source topic; never kill the agent
            log.exception("could not dead-letter %s[%d]@%d", msg.topic, msg.partition, msg.offset)

    async def publish(decision: dict[str, Any], reply_to: str | None) -> list["asyncio.Future[Any]"]:
        """Queue the decision for its reply topic and the decisions topic; the delivery futures.

        Straight to Faust's producer: a ``Topic.send`` costs ≈ 0.3 ms of bookkeeping
        per record (the reply waited for it), this ≈ 0.05 ms.
        """
        payload = codec.encode("Decision", decision)
        key = decision["request_id"].encode()
        producer = app.producer
        futures: list[asyncio.Future[Any]] = []
        # the reply goes first: an enforce caller is waiting for it
        if reply_to:
            # reply topics have one partition, read by exactly one proxy; naming the
            # partition also holds if the topic was auto-created with more
            futures.append(await producer.send(reply_to, key, payload, 0, None, None))
        futures.append(await producer.send(topics.decisions, key, payload, None, None, None))
        state.decided += 1
        return futures

    async def handle(events: Sequence[Any]) -> None:
        decoded: list[tuple[Any, dict[str, Any]]] = []
        for ev in events:
            try:
                decoded.append((ev, codec.decode(ev.value, expect="RequestEvent")[1]))
            except SchemaError as exc:
                await dead_letter(ev, f"undecodable request event: {exc}")
        if not decoded:
            return
        try:
            results: Sequence[Any] = decider.decide_batch([r for _, r in decoded])
        except Exception as exc:  # isolate the poison record: judge one by one
            log.warning("batch of %d failed (%r); judging records one by one", len(decoded), exc)
            results = []
            for _, req in decoded:
                try:
                    results.append(decider.decide_batch([req])[0])
                except Exception as one_exc:
                    results.append(DecideError(f"{type(one_exc).__name__}: {one_exc}"))
        sent: list[tuple[Any, list[asyncio.Future[Any]]]] = []
        for (ev, req), res in zip(decoded, results):
            try:
                if isinstance(res, Exception):
                    await dead_letter(ev, str(res))
                    res = blocked_for_error(req, str(res), worker_id=worker_id, now_us=_now_us())
                elif overrides is not None:  # human override windows (streams/overrides.py)
                    res = overrides.apply(req, res)
                sent.append((ev, await publish(res, req.get("reply_to"))))
            except Exception as exc:
                await dead_letter(ev, f"cannot publish decision: {type(exc).__name__}: {exc}")
        # the batch ends (and Faust may commit its offsets) only once the broker has
        # its decisions: a decision that was never delivered must not be skipped
        # (the producer retries for producer_request_timeout before giving up)
        for ev, futures in sent:
            try:
                for fut in futures:
                    await fut
            except Exception as exc:  # once per event, even if both its sends failed
                await dead_letter(ev, f"decision not delivered: {type(exc).__name__}: {exc}")

    def judge_batches(max_: int) -> Callable[[faust.StreamT], Any]:
        async def judge(stream: faust.StreamT) -> Any:
            async for events in take_ready(stream, max_):
                try:
                    await handle(events)
                except Exception:  # belt and braces: the agent must survive anything
                    log.exception("unexpected error handling a batch of %d", len(events))
        return judge

    # two agents, one loop: held (enforce) requests have their own topic and agent,
    # so they are judged between observe batches instead of behind their backlog
    app.agent(held, name="judge-held")(judge_batches(HELD_BATCH_MAX))
    app.agent(requests, name="judge")(judge_batches(OBSERVE_BATCH_MAX))

    @app.task
    async def follow_policies() -> None:
        """Read the compacted policies topic from the start, forever, outside the group.

        Every worker must see every bundle, so this is a plain consumer with
        no group (a group would split the topic between workers).
        """
        consumer = AIOKafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await start_when_reachable(consumer, "policies consumer")
        try:
            tp = TopicPartition(topics.policies, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            async for msg in consumer:
                try:
                    policies.offer_json(msg.value)
                except PolicyUpdateError as exc:
                    log.error("policies[%d]@%d rejected: %s", msg.partition, msg.offset, exc)
        finally:
            await consumer.stop()

    if overrides is not None:
        @app.task
        async def follow_overrides() -> None:
            """Every worker reads every human override (streams/overrides.py)."""
            await follow_governance(b.bootstrap, topics.governance, overrides, codec)

    @app.on_partitions_assigned.connect
    async def _assigned(app_: Any, assigned: Any, **kwargs: Any) -> None:
        if not state.assigned.is_set():
            state.assigned.set()
            if on_ready:
                on_ready()

    return app, state
