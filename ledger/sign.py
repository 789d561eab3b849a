"""Building, signing and verifying ledger payloads. Pure: no I/O.

Sign bytes, not objects: a record is encoded once (Avro single-object encoding),
and those exact bytes are signed, hashed into the tree, stored and exported.
Verification works on the stored bytes and never re-serialises, so a codec
upgrade can never make an old record "fail" or a forged one "pass".
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

import fastavro
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledgergate.schemas import codec

from .errors import RecordError

AUDIT_RECORD = "AuditRecord"
CHECKPOINT = "Checkpoint"
ZERO_HASH_HEX = "0" * 64
KINDS = ("decision", "response", "report", "governance")
# The kind mechanism is open: any lower-case name is a record kind (statements the
# ledger signs about itself, incidents, overrides, ...). These two the verifier reads.
KEY_ENDORSEMENT = "key-endorsement"
RETENTION = "retention"
_KIND_RE = re.compile(r"[a-z][a-z0-9-]{0,39}")
# Kinds whose (kind, request_id) pair must be unique: one decision and one response per request.
REQUEST_KEYED_KINDS = ("decision", "response")
WRITER_FIELDS = ("record_id", "ledger_id", "seq", "prev_leaf_hash", "key_id")

# A fixed namespace so record ids are reproducible: replaying the same event
# yields the same id, which is what makes appends idempotent.
_RECORD_NS = uuid.UUID("6c6f6764-6761-7465-2d6c-65646765720a")


def _defaults() -> dict[str, Any]:
    raw = codec.schema(AUDIT_RECORD).raw
    out: dict[str, Any] = {}
    for f in raw["fields"]:
        if "default" in f:
            d = f["default"]
            out[f["name"]] = list(d) if isinstance(d, list) else dict(d) if isinstance(d, dict) else d
    return out


_FIELD_NAMES = tuple(f["name"] for f in codec.schema(AUDIT_RECORD).raw["fields"])
_FIELD_SET = frozenset(_FIELD_NAMES)
_DEFAULTS = _defaults()
# the defaults that are lists or maps, each made anew per record unless the entry brings its own
_CONTAINER_DEFAULTS = tuple((k, type(v)) for k, v in _DEFAULTS.items() if isinstance(v, (list, dict)))


def record_id_for(ledger_id: str, fields: Mapping[str, Any]) -> str:
    """Deterministic record id: the idempotency key of an entry.

    decision/response: from (kind, request_id); report: from the report's content
    (kind, period, tenant, route, sha256), unless the entry brings its own id.
    """
    kind = fields.get("kind")
    if kind in REQUEST_KEYED_KINDS:
        rid = fields.get("request_id")
        if not rid:
            raise RecordError(
                f"{kind} entry has no request_id: expected the request's id, which keys "
                "decision and response records (one of each per request)"
            )
        return str(uuid.uuid5(_RECORD_NS, f"{ledger_id}\x1f{kind}\x1f{rid}"))
    if kind == "report":
        given = fields.get("record_id")
        if given:
            return str(given)
        rep = fields.get("report")
        if not rep:
            raise RecordError(
                "report entry has neither record_id nor report: expected the ReportRef "
                "(kind, period_from, period_to, sha256, filename) of the generated report"
            )
        key = "\x1f".join(str(rep.get(k)) for k in
                          ("kind", "period_from", "period_to", "tenant", "route_id", "sha256"))
        return str(uuid.uuid5(_RECORD_NS, f"{ledger_id}\x1freport\x1f{key}"))
    if kind == "governance":  # a human fact: keyed by its event id, so a redelivery is a duplicate
        event_id = (fields.get("metadata") or {}).get("event_id")
        if not event_id:
            raise RecordError("governance entry has no metadata.event_id: expected the GovernanceEvent's "
                              "event_id (gov_...), which keys its record")
        return str(uuid.uuid5(_RECORD_NS, f"{ledger_id}\x1fgovernance\x1f{event_id}"))
    if isinstance(kind, str) and _KIND_RE.fullmatch(kind):
        # Any other kind (signed statements such as key endorsements and retention,
        # incidents, overrides, ...): the entry's own record_id, else one derived from
        # its content, so re-appending the same statement is idempotent.
        given = fields.get("record_id")
        if given:
            return str(given)
        body = json.dumps({k: fields.get(k) for k in sorted(fields)}, sort_keys=True,
                          separators=(",", ":"), default=str)
        return str(uuid.uuid5(_RECORD_NS, f"{ledger_id}\x1f{kind}\x1f{body}"))
    raise RecordError(f"entry kind {kind!r} is not a record kind: expected one of "
                      f"{', '.join(KINDS)} or another lower-case name like 'key-endorsement'")


def complete_record(fields: Mapping[str, Any], *, ledger_id: str, seq: int,
                    prev_leaf_hash: str, key_id: str,
                    record_id: str | None = None) -> dict[str, Any]:
    """The full AuditRecord dict: schema defaults, then ``fields``, then writer fields."""
    if not _FIELD_SET.issuperset(fields):
        raise RecordError(
            f"entry has fields {sorted(set(fields) - _FIELD_SET)} that AuditRecord does not define: "
            "remove them or put caller tags in `metadata`"
        )
    rec = dict(_DEFAULTS)
    for k, make in _CONTAINER_DEFAULTS:  # fresh containers: defaults must not be shared
        if k not in fields:
            rec[k] = make()
    rec.update(fields)
    rec["record_id"] = record_id or record_id_for(ledger_id, fields)
    rec["ledger_id"] = ledger_id
    rec["seq"] = seq
    rec["prev_leaf_hash"] = prev_leaf_hash
    rec["key_id"] = key_id
    return rec


def build_record(fields: Mapping[str, Any], *, ledger_id: str, seq: int,
                 prev_leaf_hash: str, key_id: str, record_id: str | None = None) -> bytes:
    """Encode one AuditRecord (once) and return the exact bytes to sign and store."""
    rec = complete_record(fields, ledger_id=ledger_id, seq=seq,
                          prev_leaf_hash=prev_leaf_hash, key_id=key_id, record_id=record_id)
    return encode_record(rec)


class _FastCodec:
    """The contract codec's schema, called directly on the append and verify hot paths.

    Same bytes as ``codec.encode``/``decode`` (tests check it); it skips the
    codec's per-call schema lookup and keeps a fast path for our own writer
    schema, handing any other writer (evolution) to the contract codec.
    """

    def __init__(self, name: str) -> None:
        s = codec.schema(name)
        self.name = name
        self.header = s.header
        # records signed before issue #12 carry the byte-reversed fingerprint;
        # their bytes are what was signed, so both headers take the fast path
        self.headers = (s.header, s.legacy_header)
        self.parsed = s.parsed

    def encode(self, rec: Mapping[str, Any]) -> bytes:
        buf = io.BytesIO()
        buf.write(self.header)
        fastavro.schemaless_writer(buf, self.parsed, rec)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        if data[:codec.HEADER_LEN] not in self.headers:
            # Another writer schema (evolution) or garbage: let the contract codec
            # resolve it or raise its precise error.
            return codec.decode(data, expect=self.name)
        return fastavro.schemaless_reader(io.BytesIO(memoryview(data)[codec.HEADER_LEN:]),
                                          self.parsed, None)  # type: ignore[return-value]


_AUDIT = _FastCodec(AUDIT_RECORD)


def encode_record(rec: Mapping[str, Any]) -> bytes:
    """Encode a complete AuditRecord dict, with a RecordError naming the record on failure."""
    try:
        return _AUDIT.encode(rec)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RecordError(
            f"record seq={rec.get('seq')} request_id={rec.get('request_id')!r} does not fit "
            f"AuditRecord: {exc}; check the entry's field types against AuditRecord.avsc"
        ) from exc


def decode_record(payload: bytes) -> dict[str, Any]:
    """Decode stored AuditRecord bytes (for reading; verification hashes the bytes)."""
    return _AUDIT.decode(payload)


def _avro_long(buf: bytes, pos: int) -> tuple[int, int]:
    """Zig-zag varint at ``pos`` → (value, next position)."""
    shift = acc = 0
    while True:
        b = buf[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7
        if shift > 63:
            raise RecordError("Avro long is longer than 10 bytes: the payload is not an AuditRecord")


def _avro_str(buf: bytes, pos: int) -> tuple[str, int]:
    n, pos = _avro_long(buf, pos)
    end = pos + n
    if n < 0 or end > len(buf):
        raise RecordError(f"Avro string of length {n} at byte {pos} runs past the payload "
                          f"({len(buf)} bytes): the payload is not an AuditRecord")
    return buf[pos:end].decode("utf-8"), end


def audit_header(payload: bytes) -> tuple[str, str, int, str, str]:
    """(record_id, ledger_id, seq, prev_leaf_hash, key_id) of stored AuditRecord bytes.

    These are the first five fields of AuditRecord (WRITER_FIELDS, fixed by the
    schema contract), so verify reads them with a tiny varint/string reader
    instead of decoding all ~40 fields; ~20x cheaper than :func:`decode_record`.
    Payloads framed with another writer schema (evolution) fall back to a full
    decode. Raises RecordError (or ValueError/IndexError on garbage bytes) when
    the bytes are not a record.
    """
    if payload[:codec.HEADER_LEN] not in _AUDIT.headers:
        rec = decode_record(payload)
        return (rec["record_id"], rec["ledger_id"], rec["seq"], rec["prev_leaf_hash"],
                rec["key_id"])
    out: list[Any] = []
    pos = codec.HEADER_LEN
    for is_str in _HEADER_SHAPE:
        b = payload[pos]
        if b < 0x80:  # one-byte varint: every id and hash here, and seq < 64
            n, pos = (b >> 1) ^ -(b & 1), pos + 1
        else:
            n, pos = _avro_long(payload, pos)
        if is_str:
            end = pos + n
            if n < 0 or end > len(payload):
                raise RecordError(f"Avro string of length {n} at byte {pos} runs past the "
                                  f"payload ({len(payload)} bytes): not an AuditRecord")
            out.append(payload[pos:end].decode("utf-8"))
            pos = end
        else:
            out.append(n)
    return out[0], out[1], out[2], out[3], out[4]


# record_id, ledger_id: string; seq: long; prev_leaf_hash, key_id: string
_HEADER_SHAPE = (True, True, False, True, True)


def build_checkpoint(*, ledger_id: str, tree_size: int, root_hash: bytes, at_us: int,
                     key_id: str) -> bytes:
    """Encode a Checkpoint (signed tree head)."""
    return codec.encode(CHECKPOINT, {"ledger_id": ledger_id, "tree_size": tree_size,
                                     "root_hash": root_hash.hex(), "at_us": at_us,
                                     "key_id": key_id})


def decode_checkpoint(payload: bytes) -> dict[str, Any]:
    """Decode Checkpoint bytes."""
    return codec.decode(payload, expect=CHECKPOINT)


def sign(payload: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """Ed25519 signature (64 bytes, deterministic) over ``payload``."""
    return private_key.sign(payload)


def verify(payload: bytes, signature: bytes, public_key: Ed25519PublicKey) -> bool:
    """True iff ``signature`` is a valid Ed25519 signature of ``payload``."""
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


# --- derived query columns --------------------------------------------------------

# Order matters: it is the column order of the `records` table after `seq`.
DERIVED_COLUMNS = (
    "record_id", "kind", "request_id", "recorded_at_us", "tenant", "person", "roles",
    "auth_method", "route_id", "upstream_id", "model", "source", "mode", "outcome",
    "forwarded", "policy_id", "policy_version", "policy_hash", "rule_id", "categories",
    "entity_types", "status", "latency_ms", "hold_ms", "prompt_tokens",
    "completion_tokens", "total_tokens", "metadata", "key_id",
)


def metadata_json(metadata: Mapping[str, str]) -> str:
    """Canonical JSON for the metadata column (sorted keys so comparisons are exact)."""
    if not metadata:  # most records carry none: skip the encoder
        return "{}"
    return json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"))


def derive_columns(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The query columns of one record, derived from its decoded payload.

    Used both when inserting and when verifying, so the two can never drift apart.
    """
    principal = rec.get("principal") or {}
    policy = rec.get("policy") or {}
    return {
        "record_id": rec["record_id"],
        "kind": rec["kind"],
        "request_id": rec.get("request_id"),
        "recorded_at_us": rec["recorded_at_us"],
        "tenant": principal.get("tenant"),
        "person": principal.get("person"),
        "roles": list(principal.get("roles") or []),
        "auth_method": principal.get("auth_method"),
        "route_id": rec.get("route_id"),
        "upstream_id": rec.get("upstream_id"),
        "model": rec.get("model"),
        "source": rec.get("source"),
        "mode": rec.get("mode"),
        "outcome": rec.get("outcome"),
        "forwarded": rec.get("forwarded"),
        "policy_id": policy.get("id"),
        "policy_version": policy.get("version"),
        "policy_hash": policy.get("hash"),
        "rule_id": rec.get("rule_id"),
        "categories": list(rec.get("categories") or []),
        "entity_types": sorted({f["entity_type"] for f in rec.get("findings") or []}),
        "status": rec.get("status"),
        "latency_ms": rec.get("latency_ms"),
        "hold_ms": rec.get("hold_ms"),
        "prompt_tokens": rec.get("prompt_tokens"),
        "completion_tokens": rec.get("completion_tokens"),
        "total_tokens": rec.get("total_tokens"),
        "metadata": metadata_json(rec.get("metadata") or {}),
        "key_id": rec["key_id"],
    }
