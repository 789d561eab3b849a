"""Schema evolution through the real broker, both ways, with no reader redeployed.

A writer of another release publishes its schema to ``<p>.schemas`` before its
first message; a reader that meets the unknown fingerprint looks it up there
and resolves the message by Avro's rules.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from typing import Any

from wire_testkit import produce, read_topic  # type: ignore[import-not-found]

from ledgergate.schemas import codec
from ledgergate.schemas.codec import Codec, Schema, UnknownSchemaError
from ledgergate.schemas.store import SchemaResolver, SchemaTopic, record_of

from support import wait_for  # type: ignore[import-not-found]

PRIORITY = {"name": "priority", "type": ["null", "int"], "default": None,
            "doc": "added by a newer release"}


def _with_field(name: str, field: dict[str, Any]) -> Schema:
    raw = copy.deepcopy(codec.schema(name).raw)
    raw["fields"].append(field)
    return Schema(raw)


def _request(rid: str, text: str) -> dict[str, Any]:
    return {"request_id": rid, "received_at_us": time.time_ns() // 1000, "source": "ingest",
            "principal": {"person": "erin", "tenant": "acme", "roles": ["analyst"],
                          "auth_method": "jwt"},
            "route_id": "telemetry", "mode": "observe", "upstream_id": None, "model": None,
            "endpoint": "chat.completions",
            "parts": [{"path": "/messages/0/content", "role": "user", "text": text}],
            "reply_to": None, "policy_id": None, "metadata": {}, "proxy_id": None}


def test_older_worker_and_ledger_read_a_newer_writer(pipeline) -> None:
    """A newer gateway adds an optional field; today's worker judges it and the ledger records it."""
    settings = pipeline
    b = settings.broker.bootstrap
    newer_request = _with_field("RequestEvent", PRIORITY)
    newer = Codec({"RequestEvent": newer_request})
    assert not codec.default_codec().knows(newer_request.fingerprint)

    async def write() -> None:
        await SchemaTopic(b, settings.topics.schemas).publish([newer_request])
        rid = f"newer-{uuid.uuid4().hex[:8]}"
        rec = {**_request(rid, "My SSN is 536-22-8713, can you keep it?"), "priority": 7}
        await produce(b, settings.topics.requests, rid.encode(), newer.encode("RequestEvent", rec))
        write.rid = rid  # type: ignore[attr-defined]

    asyncio.run(write())
    rid = write.rid  # type: ignore[attr-defined]
    got = asyncio.run(read_topic(b, settings.topics.decisions, {rid}))
    assert rid in got, "the worker did not judge the newer writer's event (dead-lettered?)"
    decision = codec.decode(got[rid], expect="Decision")
    assert decision["outcome"] == "redact" and "US_SSN" in {f["entity_type"] for f in decision["findings"]}

    # the ledger (also older) records a Decision from a newer worker release
    newer_decision = _with_field("Decision", {"name": "reviewer", "type": ["null", "string"],
                                              "default": None})
    rid2 = f"newer-dec-{uuid.uuid4().hex[:8]}"
    rec2 = {**decision, "request_id": rid2, "decision_id": f"dec_{rid2}", "reviewer": "r1"}

    async def write_decision() -> None:
        await SchemaTopic(b, settings.topics.schemas).publish([newer_decision])
        await produce(b, settings.topics.decisions, rid2.encode(),
                      Codec({"Decision": newer_decision}).encode("Decision", rec2))

    asyncio.run(write_decision())
    from ledgergate.ledger.client import open_ledger

    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        want = {rid, rid2}
        wait_for(lambda: want <= {r["request_id"] for r in led.list(kind="decision", limit=1000)},
                 30, "both decisions recorded")
        assert led.show(rid2)["outcome"] == "redact"


def test_newer_reader_reads_an_older_writer(pipeline) -> None:
    """A reader built with a newer schema meets today's writer: defaults fill the new field."""
    settings = pipeline
    b = settings.broker.bootstrap
    rid = f"older-{uuid.uuid4().hex[:8]}"
    old_bytes = codec.encode("RequestEvent", _request(rid, "hello"))
    newer_request = _with_field("RequestEvent", PRIORITY)

    async def run() -> dict[str, Any]:
        # the older writer publishes its schema (the proxy and SDK do so on start)
        await SchemaTopic(b, settings.topics.schemas).publish([codec.schema("RequestEvent")])
        topic = f"{settings.topics.prefix}.evolution-{uuid.uuid4().hex[:6]}"
        await produce(b, topic, rid.encode(), old_bytes)
        (value,) = (await read_topic(b, topic, {rid})).values()
        reader = Codec({"RequestEvent": newer_request})  # knows only the newer schema
        try:
            reader.decode(value)
            raise AssertionError("the newer reader should not know the old fingerprint yet")
        except UnknownSchemaError:
            pass
        resolver = SchemaResolver(reader, SchemaTopic(b, settings.topics.schemas))
        assert await resolver.learn([value]) == 1
        return reader.decode(value, expect="RequestEvent")[1]

    rec = asyncio.run(run())
    assert rec["request_id"] == rid and rec["priority"] is None
    assert rec["parts"][0]["text"] == "hello"


def test_schemas_topic_refuses_a_schema_under_someone_elses_fingerprint(pipeline) -> None:
    """A record whose key is not its schema's fingerprint is ignored, not trusted."""
    settings = pipeline
    b = settings.broker.bootstrap
    honest = _with_field("RequestEvent", {"name": "tag", "type": ["null", "string"], "default": None})
    forged = _with_field("RequestEvent", {"name": "evil", "type": "int", "default": 0})

    async def run() -> tuple[Any, Any]:
        key, _ = record_of(honest)
        await produce(b, settings.topics.schemas, key, json.dumps(forged.raw).encode())
        lookup = SchemaTopic(b, settings.topics.schemas, lookup_timeout_s=2)
        first = await lookup.lookup(honest.fingerprint)
        await SchemaTopic(b, settings.topics.schemas).publish([honest])
        second = await lookup.lookup(honest.fingerprint)
        await lookup.close()
        return first, second

    first, second = asyncio.run(run())
    assert first is None
    assert second is not None and second.canonical == honest.canonical


def test_an_unknown_fingerprint_is_still_dead_lettered(pipeline) -> None:
    settings = pipeline
    b = settings.broker.bootstrap
    ghost = _with_field("RequestEvent", {"name": "ghost", "type": ["null", "int"], "default": None})
    rid = f"ghost-{uuid.uuid4().hex[:8]}"
    value = Codec({"RequestEvent": ghost}).encode("RequestEvent", {**_request(rid, "hi"), "ghost": 1})
    asyncio.run(produce(b, settings.topics.requests, rid.encode(), value))
    got = asyncio.run(read_topic(b, settings.topics.dead_letters, {rid}, timeout=30))
    assert got.get(rid) == value


def test_the_sdk_publishes_its_writer_schemas_on_start(broker) -> None:
    from ledgergate.broker import ensure_topics, topic_specs
    from ledgergate.config import Topics
    from ledgergate.proxy.sdk import EventProducer

    prefix = f"sdk{uuid.uuid4().hex[:6]}"
    topics = Topics.for_prefix(prefix)

    async def run() -> dict[bytes, Schema]:
        await ensure_topics(broker.bootstrap, topic_specs(topics, 1))
        async with EventProducer(broker.bootstrap, prefix):
            pass
        return await SchemaTopic(broker.bootstrap, topics.schemas).all()

    found = asyncio.run(run())
    assert {s.name for s in found.values()} == {"RequestEvent", "ResponseEvent"}
    assert codec.schema("RequestEvent").fingerprint in found
