"""The event contract: framing, exact bytes, round trips and schema evolution."""

from __future__ import annotations

import copy
import json
import struct

import pytest

from ledgergate.schemas import codec
from ledgergate.schemas.codec import Codec, DecodeError, EncodeError, Schema, SchemaError, UnknownSchemaError
from ledgergate.schemas.models import MODELS

CHECKPOINT = {"ledger_id": "l", "tree_size": 3, "root_hash": "ab", "at_us": 1, "key_id": "k"}

REQUEST = {
    "request_id": "req-1", "received_at_us": 1_795_000_000_000_000, "source": "proxy",
    "principal": {"person": "alice", "tenant": "acme", "roles": ["analyst"], "auth_method": "jwt"},
    "route_id": "assistant", "mode": "enforce", "upstream_id": "fake", "model": "gpt-demo",
    "endpoint": "chat.completions",
    "parts": [{"path": "/messages/0/content", "role": "user", "text": "hello"}],
    "reply_to": "lg.replies.p1", "policy_id": None, "metadata": {"loan_id": "LN-1"}, "proxy_id": "p1",
    "submitted_by": None,
}


# Apache Avro's published CRC-64-AVRO vectors (share/test/data/schema-tests.txt,
# the cross-language conformance file the spec's fingerprint section is tested
# with): canonical form → fingerprint as a signed 64-bit integer.
SPEC_VECTORS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
]


def _rabin64(data: bytes) -> int:
    """The spec's fingerprint64 pseudo-code, written out here as an independent oracle."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


@pytest.mark.parametrize("canonical, expected", SPEC_VECTORS)
def test_fingerprint_matches_the_spec_vectors(canonical: str, expected: int) -> None:
    from fastavro.schema import fingerprint

    little_endian = struct.pack("<q", expected)
    assert _rabin64(canonical.encode()) == expected & (2**64 - 1)
    assert bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")) == little_endian


def test_null_fingerprint_is_the_spec_little_endian_bytes() -> None:
    # 7195948357588979594 = 0x63DD24E7CC258F8A; little-endian on the wire
    assert struct.pack("<q", 7195948357588979594).hex() == "8a8f25cce724dd63"


def test_checkpoint_exact_bytes() -> None:
    # C3 01 marker, CRC-64-AVRO fingerprint little-endian, then the Avro body:
    # "l" (len 1 → zigzag 02, 6c), 3 → 06, "ab" → 04 61 62, 1 → 02, "k" → 02 6b
    data = codec.encode("Checkpoint", CHECKPOINT)
    assert data.hex() == "c301c9a455ffb163fd48" + "026c" + "06" + "046162" + "02" + "026b"
    assert codec.schema("Checkpoint").fingerprint.hex() == "c9a455ffb163fd48"


@pytest.mark.parametrize("name", codec.SCHEMA_NAMES)
def test_every_header_is_the_spec_fingerprint_of_the_canonical_form(name: str) -> None:
    s = codec.schema(name)
    expected = struct.pack("<Q", _rabin64(s.canonical.encode()))
    assert s.header == b"\xc3\x01" + expected
    assert s.fingerprint == expected
    assert struct.pack("<q", s.fingerprint_int) == expected


def test_legacy_header_is_still_read() -> None:
    """Bytes written before the fix (fingerprint reversed) decode unchanged."""
    data = codec.encode("Checkpoint", CHECKPOINT)
    legacy = data[:2] + data[2:10][::-1] + data[10:]
    assert legacy.hex().startswith("c30148fd63b1ff55a4c9")  # what pre-fix releases wrote
    assert codec.decode(legacy, expect="Checkpoint") == CHECKPOINT


def test_request_round_trip() -> None:
    data = codec.encode("RequestEvent", REQUEST)
    assert codec.decode(data, expect="RequestEvent") == REQUEST


@pytest.mark.parametrize("bad, error", [
    (b"", DecodeError),
    (b"\x00\x01" + bytes(8) + b"x", DecodeError),
    (b"\xc3\x01" + bytes(8) + b"x", UnknownSchemaError),
])
def test_bad_frames_are_named(bad: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        codec.decode(bad)


def test_truncated_body_is_a_decode_error() -> None:
    data = codec.encode("RequestEvent", REQUEST)
    with pytest.raises(DecodeError, match="corrupt RequestEvent"):
        codec.decode(data[:-20])


def test_wrong_record_type_is_refused() -> None:
    with pytest.raises(DecodeError, match="expected a Decision message, got a Checkpoint"):
        codec.decode(codec.encode("Checkpoint", CHECKPOINT), expect="Decision")


def test_encode_error_names_schema() -> None:
    with pytest.raises(EncodeError, match="RequestEvent"):
        codec.encode("RequestEvent", {"request_id": 5})


def _evolved(extra_field: dict) -> Schema:
    raw = copy.deepcopy(codec.schema("RequestEvent").raw)
    raw["fields"].append(extra_field)
    return Schema(raw)


def _old() -> Schema:
    raw = copy.deepcopy(codec.schema("RequestEvent").raw)
    raw["fields"] = [f for f in raw["fields"] if f["name"] not in ("proxy_id", "metadata")]
    return Schema(raw)


def test_new_writer_old_reader() -> None:
    """A v2 producer adds a field with a default; today's reader ignores it."""
    new = _evolved({"name": "priority", "type": "int", "default": 0})
    writer = Codec({"RequestEvent": new})
    data = writer.encode("RequestEvent", {**REQUEST, "priority": 7})
    reader = Codec.default()
    reader.add_writer(new)
    assert reader.decode(data, expect="RequestEvent")[1] == REQUEST


def test_old_writer_new_reader() -> None:
    """An older producer lacks fields; today's reader fills their defaults."""
    old = _old()
    writer = Codec({"RequestEvent": old})
    rec = {k: v for k, v in REQUEST.items() if k not in ("proxy_id", "metadata")}
    data = writer.encode("RequestEvent", rec)
    reader = Codec.default()
    reader.add_writer(old)
    got = reader.decode(data, expect="RequestEvent")[1]
    assert got == {**rec, "metadata": {}, "proxy_id": None}


def test_unknown_writer_without_registration_is_named() -> None:
    data = Codec({"RequestEvent": _old()}).encode(
        "RequestEvent", {k: v for k, v in REQUEST.items() if k not in ("proxy_id", "metadata")})
    with pytest.raises(UnknownSchemaError, match="add_writer") as info:
        codec.decode(data)
    assert info.value.fingerprint == _old().fingerprint


@pytest.mark.parametrize("raw", [{"type": "string"}, {"type": "record"}, "null",
                                 {"type": "record", "name": "X", "fields": [{"name": "a"}]}])
def test_invalid_schema_is_a_schema_error(raw: object) -> None:
    with pytest.raises(SchemaError):
        Schema(raw)  # type: ignore[arg-type]


def _avro_fields(schema: dict) -> dict[str, bool]:
    """field name → optional (nullable union or has a default)."""
    return {f["name"]: (isinstance(f["type"], list) and "null" in f["type"]) or "default" in f
            for f in schema["fields"]}


@pytest.mark.parametrize("name", codec.SCHEMA_NAMES)
def test_pydantic_mirror_matches_avsc(name: str) -> None:
    model = MODELS[name]
    avro = _avro_fields(codec.schema(name).raw)
    assert set(model.model_fields) == set(avro)
    for field, optional in avro.items():
        assert (not model.model_fields[field].is_required()) == optional, field


def test_pydantic_request_round_trips_through_codec() -> None:
    model = MODELS["RequestEvent"].model_validate(REQUEST)
    assert codec.decode(codec.encode("RequestEvent", model.to_avro())) == REQUEST


def test_avsc_files_are_valid_json_with_docs() -> None:
    for name in codec.SCHEMA_NAMES:
        raw = json.loads(codec.schema_json(name))
        assert raw["namespace"] == "io.ledgergate.v1" and raw.get("doc")
