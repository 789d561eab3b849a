"""The wire contract as another team uses it: Apache Avro's own Python library.

The producer side here uses only the `avro` package, the .avsc files and a Kafka
client: the single-object framing (C3 01, the 8-byte little-endian CRC-64-AVRO
fingerprint, the body) is written from the specification, not by our codec.
A real worker and a real ledger service judge and record what it sends, and our
decisions on the decisions topic are read back with the same library.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import pytest
from wire_testkit import produce, read_topic  # type: ignore[import-not-found]

from ledgergate.ledger.client import open_ledger

from support import wait_for  # type: ignore[import-not-found]

AVSC_DIR = Path(__file__).resolve().parents[2] / "schemas" / "avro"
MARKER = b"\xc3\x01"


def _apache_schema(name: str) -> avro.schema.RecordSchema:
    return avro.schema.parse((AVSC_DIR / f"{name}.avsc").read_text("utf-8"))  # type: ignore[return-value]


def spec_encode(schema: avro.schema.Schema, datum: dict[str, Any]) -> bytes:
    """Single-object encoding written from the spec with the Apache library."""
    buf = io.BytesIO()
    buf.write(MARKER + schema.fingerprint("CRC-64-AVRO"))
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def spec_decode(known: dict[bytes, avro.schema.Schema], data: bytes) -> tuple[str, Any]:
    """Read a single-object message the way a spec-following consumer does."""
    if data[:2] != MARKER:
        raise ValueError(f"not single-object encoded: {data[:2].hex()}")
    writer = known[data[2:10]]  # KeyError = a fingerprint a spec reader cannot resolve
    body = avro.io.BinaryDecoder(io.BytesIO(data[10:]))
    return writer.name, avro.io.DatumReader(writer, writer).read(body)


def _known() -> dict[bytes, avro.schema.Schema]:
    out = {}
    for path in AVSC_DIR.glob("*.avsc"):
        s = avro.schema.parse(path.read_text("utf-8"))
        out[s.fingerprint("CRC-64-AVRO")] = s
    return out


@pytest.mark.parametrize("name, record", [
    ("Checkpoint", {"ledger_id": "l", "tree_size": 3, "root_hash": "ab", "at_us": 1, "key_id": "k"}),
    ("RequestEvent", {
        "request_id": "r-1", "received_at_us": 1_795_000_000_000_000, "source": "proxy",
        "principal": {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
        "route_id": "assistant", "mode": "observe", "upstream_id": None, "model": "m",
        "endpoint": "chat.completions", "parts": [{"path": "/messages/0/content", "role": "user",
                                                   "text": "héllo"}],
        "reply_to": None, "policy_id": None, "metadata": {"k": "v"}, "proxy_id": "p"}),
])
def test_our_bytes_equal_the_apache_library_bytes(name: str, record: dict[str, Any]) -> None:
    from ledgergate.schemas import codec

    ours = codec.encode(name, record)
    assert ours == spec_encode(_apache_schema(name), record)
    assert spec_decode(_known(), ours) == (name, codec.decode(ours, expect=name))


# ---------------------------------------------------------------- through the broker

def test_a_spec_framed_request_from_another_gateway_is_judged_and_recorded(pipeline) -> None:
    settings = pipeline
    rid = f"other-gw-{uuid.uuid4().hex[:8]}"
    event = {
        "request_id": rid, "received_at_us": time.time_ns() // 1000, "source": "ingest",
        "principal": {"person": "dana", "tenant": "acme", "roles": ["analyst"],
                      "auth_method": "api-key"},
        "route_id": "telemetry", "mode": "observe", "upstream_id": None, "model": "gpt-demo-observe",
        "endpoint": "chat.completions",
        "parts": [{"path": "/messages/0/content", "role": "user",
                   "text": "Please email jane.doe@fastmail.com the summary."}],
        "reply_to": None, "policy_id": None, "metadata": {"gateway": "other"}, "proxy_id": None,
    }
    value = spec_encode(_apache_schema("RequestEvent"), event)
    asyncio.run(produce(settings.broker.bootstrap, settings.topics.requests, rid.encode(), value))

    # judged: the decision on the decisions topic, read with the Apache library
    got = asyncio.run(read_topic(settings.broker.bootstrap, settings.topics.decisions, {rid}))
    assert rid in got, "the worker never decided the spec-framed request (dead-lettered?)"
    name, decision = spec_decode(_known(), got[rid])
    assert name == "Decision"
    assert (decision["request_id"], decision["outcome"]) == (rid, "redact")
    assert decision["principal"]["person"] == "dana"
    assert "EMAIL_ADDRESS" in {f["entity_type"] for f in decision["findings"]}

    # recorded: a signed decision record in the ledger that verifies
    with open_ledger(db=settings.ledger.path, socket=settings.ledger.socket_path,
                     keys_dir=settings.ledger.keys_dir) as led:
        wait_for(lambda: any(r["request_id"] == rid for r in led.list(kind="decision", limit=1000)),
                 30, "the decision record")
        rec = led.show(rid)
        # the caller's tags come through; the worker adds its own under the reserved "lg." namespace
        tags = {k: v for k, v in rec["metadata"].items() if not k.startswith("lg.")}
        assert rec["outcome"] == "redact" and tags == {"gateway": "other"}
        assert len(rec["metadata"]["lg.request_hash"]) == 64
        v = led.verify()
        assert v["ok"], v["problems"]
