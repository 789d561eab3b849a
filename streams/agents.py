"""The Faust application: two judging agents and the policy follower (decisions go out through streams/sender.py).

The agents are thin loops: take the events that are ready (``take_ready``),
hand their bytes to :class:`ledgergate.streams.judge.Judge` (decode → one
batched classifier pass → decide → encode), send the decisions
(``streams/sender.py``: one record batch per topic partition) and wait for
their delivery; only then are the batch's events acked
(their offsets may be committed), and one whose decision was not delivered is
dead-lettered. Backpressure is the broker's: unread events wait in their
topic, and the agent takes the next batch only when it is done with this one.

It never dies on a bad record: each failure goes to the dead-letter topic
with its topic/partition/offset and the error, an enforce caller gets a
fail-closed block, and the loop carries on.

Held (enforce) requests have their own topic and agent. Both agents share one
event loop; the observe agent yields to it between batches it sizes to about
10 ms of judging, so a held request waits for at most one such slice, never
for the backlog.

Delivery is at least once (the embedded broker has no idempotent producer);
consumers downstream (the proxy's waiter, the ledger sink) are idempotent by
request id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust

from ledgergate.broker import follow_from_start
from ledgergate.config import Settings
from ledgergate.schemas.codec import SchemaError, default_codec
from ledgergate.schemas.store import SchemaResolver, WriterSchemas
from ledgergate.streams import transport
from ledgergate.streams.batching import (
    HELD_QUIET_S,
    OBSERVE_BUDGET_S,
    OBSERVE_QUIET_BUDGET_S,
    BatchBudget,
    HeldActivity,
    take_ready,
)
from ledgergate.streams.judge import Judge
from ledgergate.streams.metrics import WorkerMetrics
from ledgergate.streams.overrides import OverrideHook, follow_governance
from ledgergate.streams.policy.registry import PolicyRegistry, PolicyUpdateError
from ledgergate.streams.sender import DecisionSender, WorkerState

__all__ = ["DecisionSender", "WorkerState", "build_app", "judging_agent", "make_app"]

log = logging.getLogger("ledgergate.worker")

# events judged together (one classifier pass). A batch is whatever is ready, never
# waited for. A held request waits at most one observe batch, so observe batches are
# sized by time (streams/batching.py: ≈ OBSERVE_BUDGET_S of judging while held requests
# come, OBSERVE_QUIET_BUDGET_S after HELD_QUIET_S without one, learned from the
# batches before), between these bounds; held batches have a fixed cap: nothing else
# waits behind them.
HELD_BATCH_MAX = 8
OBSERVE_BATCH_MIN = 2
OBSERVE_BATCH_MAX = 64


def make_app(settings: Settings) -> faust.App:
    """The Faust app object for a worker (no I/O until it is started)."""
    b = settings.broker
    transport.register(b.fetch_wait_ms)
    return faust.App(
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


def judging_agent(judge: Judge, sender: DecisionSender, state: WorkerState, metrics: WorkerMetrics, *,
                  batch: int | BatchBudget, path: str, schemas: SchemaResolver | None = None,
                  writer_schemas: WriterSchemas | None = None,
                  seen: HeldActivity | None = None) -> Callable[[faust.StreamT], Any]:
    """The agent body: judge what is ready, queue the decisions, carry on.

    ``batch``: the most events a batch holds, or a :class:`BatchBudget` that sizes
    each batch by the judging time it learns. ``schemas`` looks up writer schemas
    this worker was not built with (the schemas topic) before the batch is decoded;
    ``writer_schemas`` publishes the Decision schema before the first decision
    (retried on the next batch if the broker refused). ``seen`` is told of every
    batch as it is taken (the held agent's, so the observe budget knows someone waits).
    """
    budget = batch if isinstance(batch, BatchBudget) else None
    limit: int | Callable[[], int] = batch.size if isinstance(batch, BatchBudget) else batch

    async def run(stream: faust.StreamT) -> None:
        async for events in take_ready(stream, limit):
            if seen is not None:
                seen.saw()
            try:
                if schemas is not None:
                    await schemas.learn(ev.value for ev in events)
                if writer_schemas is not None:
                    try:
                        await writer_schemas.ensure()
                    except SchemaError as exc:
                        log.warning("Decision schema not published yet (%s); retrying next batch", exc)
                t0 = time.perf_counter()
                judged = judge.judge([ev.value for ev in events])
                if budget is not None:
                    budget.record(len(events), time.perf_counter() - t0)
                metrics.judged_batch(judged, path, judge.last_timing.decide)
                for ev in events:
                    m = ev.message
                    state.next_offset[(m.topic, m.partition)] = m.offset + 1
                await sender.send(events, judged)
            except Exception:  # noqa: BLE001 - belt and braces: the agent must survive anything
                log.exception("unexpected error handling a batch of %d", len(events))
    return run


async def follow_policies(bootstrap: str, topic: str, policies: PolicyRegistry) -> None:
    """Read the compacted policies topic from the start, forever: every worker sees every bundle."""

    def offer(msg: Any) -> None:
        try:
            policies.offer_json(msg.value)
        except PolicyUpdateError as exc:
            log.error("policies[%d]@%d rejected: %s", msg.partition, msg.offset, exc)

    await follow_from_start(bootstrap, topic, "policies consumer", offer)


def consumer_lag(app: faust.App, state: WorkerState, topics: frozenset[str]) -> dict[tuple[str, int], int]:
    """Per assigned partition of ``topics``: log end offset minus the next offset to judge (at scrape time)."""
    consumer = app.consumer
    out: dict[tuple[str, int], int] = {}
    for tp in consumer.assignment():
        if tp.topic not in topics:  # Faust's own topics (the assignor's) are not ours to report
            continue
        end = consumer.highwater(tp)
        if end is None:
            continue
        nxt = state.next_offset.get((tp.topic, tp.partition))
        if nxt is None:
            nxt = consumer._committed_offset.get(tp) or 0  # type: ignore[attr-defined]  # nothing judged here yet
        out[(tp.topic, tp.partition)] = max(0, end - nxt)
    return out


def build_app(settings: Settings, judge: Judge, policies: PolicyRegistry, *, worker_id: str,
              metrics: WorkerMetrics | None = None, on_ready: Callable[[], None] | None = None,
              overrides: OverrideHook | None = None, schemas: SchemaResolver | None = None,
              writer_schemas: WriterSchemas | None = None) -> tuple[faust.App, WorkerState]:
    """The Faust app of one worker process, wired (no I/O until it is started).

    ``overrides``: fed from the governance topic by a task of its own (every worker
    reads every override); the judge applies it through its ``amend`` seam.
    """
    app = make_app(settings)
    topics, parts = settings.topics, settings.broker.partitions
    state = WorkerState()
    metrics = metrics or WorkerMetrics()
    judged_topics = frozenset({topics.requests, topics.held})
    metrics.watch_lag(lambda: consumer_lag(app, state, judged_topics))
    sender = DecisionSender(app, topics, worker_id=worker_id, state=state, metrics=metrics)

    def topic(name: str) -> Any:
        return app.topic(name, value_serializer="raw", key_serializer="raw", partitions=parts)

    # two agents, one loop: held (enforce) requests have their own topic and agent,
    # so they are judged between observe batches instead of behind their backlog
    held = HeldActivity()
    app.agent(topic(topics.held), name="judge-held")(
        judging_agent(judge, sender, state, metrics, batch=HELD_BATCH_MAX, path="held",
                      schemas=schemas, writer_schemas=writer_schemas, seen=held))
    observe_budget = BatchBudget(OBSERVE_BUDGET_S, lo=OBSERVE_BATCH_MIN, hi=OBSERVE_BATCH_MAX,
                                 quiet_budget_s=OBSERVE_QUIET_BUDGET_S, busy=lambda: held.within(HELD_QUIET_S))
    app.agent(topic(topics.requests), name="judge")(
        judging_agent(judge, sender, state, metrics, path="observe", batch=observe_budget,
                      schemas=schemas, writer_schemas=writer_schemas))
    app.task(lambda: follow_policies(settings.broker.bootstrap, topics.policies, policies))
    if overrides is not None:
        app.task(lambda: follow_governance(settings.broker.bootstrap, topics.governance, overrides,
                                           default_codec()))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # Faust's signal types want a sync receiver
    async def _assigned(app_: Any, assigned: Any, **kwargs: Any) -> None:
        if not state.assigned.is_set():
            state.assigned.set()
            if on_ready:
                on_ready()

    return app, state
