"""The topics as an AsyncAPI 3.0 document, generated from schemas/topics.py and the .avsc files.

Other teams' tools (code generators, catalogues, the AsyncAPI parser) read it;
``ledgergate asyncapi`` prints it for a deployment's prefix and partitions and
``schemas/asyncapi.yaml`` is the rendering for the built-in config (a test keeps
it equal to this generator's output and to the topics ``ledgergate topics`` creates).
"""

from __future__ import annotations

from typing import Any

from .codec import schema
from .topics import TOPICS, TopicSpec

ASYNCAPI_VERSION = "3.1.0"
AVRO_FORMAT = "application/vnd.apache.avro;version=1.9.0"
KAFKA_BINDING = "0.5.0"

_FRAMING = ("Avro single-object encoding (Avro specification): the bytes C3 01, the 8-byte "
            "little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical "
            "Form, then the Avro binary body. Unknown fingerprints are on the schemas topic.")

_NON_AVRO = {
    "schema-json": ("AvroSchemaJson", "An Avro writer schema as JSON text (UTF-8); its "
                    "CRC-64-AVRO fingerprint equals the record key", "application/json",
                    {"type": "object", "description": "an Avro schema (JSON)"}),
    "policy-json": ("PolicyBundleJson", "A policy bundle as canonical JSON (UTF-8): sorted keys, "
                    "no whitespace. These exact bytes are what the SHA-256 bundle hash in every "
                    "decision covers, so they are not re-encoded as Avro", "application/json",
                    {"type": "object", "required": ["id", "version", "rules"],
                     "properties": {"id": {"type": "string"}, "version": {"type": "integer"},
                                    "rules": {"type": "array"}}}),
    "bytes": ("DeadLetter", "The original record's bytes, unchanged; headers x-error, x-topic, "
              "x-partition, x-offset, x-worker name the failure and where it came from",
              "application/octet-stream", {"type": "string", "format": "binary"}),
}


def _channel_id(t: TopicSpec) -> str:
    return t.suffix.replace(".{proxy_id}", "").replace(".", "-")


def _message(value: str) -> tuple[str, dict[str, Any]]:
    if value in _NON_AVRO:
        name, desc, ctype, payload = _NON_AVRO[value]
        return name, {"name": name, "contentType": ctype, "description": desc, "payload": payload}
    s = schema(value)
    return value, {
        "name": value, "title": value, "contentType": "application/octet-stream",
        "summary": s.raw.get("doc", ""),
        "description": f"{_FRAMING} Writer schema fingerprint (wire order): {s.fingerprint.hex()}.",
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": s.raw},
        "x-avro-fingerprint": s.fingerprint.hex(),
    }


def _channel(t: TopicSpec, prefix: str, partitions: int, replicas: int, message: str) -> dict[str, Any]:
    address = f"{prefix}.{t.suffix}".replace("{proxy_id}", "{proxyId}")
    kafka: dict[str, Any] = {"partitions": partitions if t.partitions == "keyed" else 1,
                             "bindingVersion": KAFKA_BINDING}
    if "{" not in address:
        kafka["topic"] = address
    if t.created_by == "topics":
        kafka["replicas"] = replicas
    if t.compacted:
        kafka["topicConfiguration"] = {"cleanup.policy": ["compact"]}
    ch: dict[str, Any] = {
        "address": address, "title": t.suffix, "description": t.summary,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {"kafka": kafka},
        "x-created-by": "ledgergate topics" if t.created_by == "topics" else "each proxy, for itself",
    }
    if "{proxyId}" in address:
        ch["parameters"] = {"proxyId": {"description": "the proxy instance id (proxy.instance_id)"}}
    return ch


def _operation(cid: str, message: str, action: str, who: tuple[str, ...]) -> dict[str, Any]:
    verb = "Published by" if action == "send" else "Read by"
    return {"action": action, "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{verb}: {', '.join(who)}",
            "messages": [{"$ref": f"#/channels/{cid}/messages/{message}"}],
            "tags": [{"name": w.split(" (")[0]} for w in who]}


def document(*, prefix: str = "lg", partitions: int = 4, replicas: int = 1,
             bootstrap: str = "127.0.0.1:19092", version: str = "0.1.0") -> dict[str, Any]:
    """The AsyncAPI 3 document of a deployment (pure: same input, same document)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for t in TOPICS:
        cid = _channel_id(t)
        name, msg = _message(t.value)
        messages[name] = msg
        msg["bindings"] = {"kafka": {"key": {"type": "string", "description": t.key},
                                     "bindingVersion": KAFKA_BINDING}}
        channels[cid] = _channel(t, prefix, partitions, replicas, name)
        if t.publishers:
            operations[f"{cid}.send"] = _operation(cid, name, "send", t.publishers)
        if t.subscribers:
            operations[f"{cid}.receive"] = _operation(cid, name, "receive", t.subscribers)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:io:ledgergate:topics",
        "info": {"title": "ledgergate topics", "version": version,
                 "description": "The event contract of a ledgergate deployment: proxy, workers, "
                                "ledger service and other gateways exchange these records. "
                                "Delivery is at least once; consumers are idempotent by request id. "
                                + _FRAMING,
                 "license": {"name": "Apache-2.0"}},
        "defaultContentType": "application/octet-stream",
        "servers": {"kafka": {"host": bootstrap, "protocol": "kafka",
                              "description": "the deployment's Kafka-compatible broker"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def to_yaml(doc: dict[str, Any]) -> str:
    """The document as YAML, the form AsyncAPI tools usually read."""
    import yaml

    header = ("# Generated by `ledgergate asyncapi` from schemas/topics.py and schemas/avro/*.avsc;\n"
              "# do not edit (tests/schemas/test_asyncapi.py keeps it equal to the generator).\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
