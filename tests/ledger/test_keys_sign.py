"""Keys, key directories and the exact signed byte format."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.errors import LedgerError, LedgerKeyError
from ledgergate.ledger.sign import audit_header, build_record, decode_record, sign, verify
from ledgergate.schemas import codec

FIXED_KEY_B64 = base64.b64encode(bytes(range(32))).decode()
FIELDS = {"kind": "decision", "recorded_at_us": 1767225600000000, "request_id": "req-1",
          "outcome": "allow", "categories": ["PII"], "metadata": {"loan_id": "L1"}}


def test_signature_format_exact_bytes() -> None:
    # Ed25519 is deterministic: fixed key + fixed record → fixed payload and signature.
    # A change here is a wire-format change: existing ledgers keep their signed bytes.
    kr = lkeys.Keyring.from_base64(FIXED_KEY_B64)
    assert kr.active_id == "56475aa75463474c"
    payload = build_record(FIELDS, ledger_id="L", seq=0, prev_leaf_hash="0" * 64,
                           key_id=kr.active_id)
    assert payload.hex().startswith(
        "c30159ec2760cda64d42"  # C3 01 + CRC-64-AVRO fingerprint of AuditRecord, little-endian
        "4837333466346139372d303638332d353461322d383538372d353030343033663437326337"  # record_id
        "024c00")               # ledger_id "L", seq 0
    assert len(payload) == 209
    sig = sign(payload, kr.active_private)
    assert sig.hex() == (
        "9a8f078edd3647cca9015b4d5b1c1721820821466d03822ef7d956076dcecb50"
        "22214d46588077749f3450f38cf0d34a951bb845160d3c20740f1b4be59d7102")
    assert verify(payload, sig, kr.public_key(kr.active_id))
    assert not verify(payload[:-1] + b"\x01", sig, kr.public_key(kr.active_id))


def test_pre_fix_signed_bytes_still_verify_and_decode() -> None:
    # Before issue #12 the header carried the fingerprint byte-reversed; this is
    # the payload and signature that release produced for the record above.
    kr = lkeys.Keyring.from_base64(FIXED_KEY_B64)
    new = build_record(FIELDS, ledger_id="L", seq=0, prev_leaf_hash="0" * 64, key_id=kr.active_id)
    old = bytes.fromhex("c301424da6cd6027ec59") + new[10:]
    old_sig = bytes.fromhex(
        "0065af653fa5b2d388ce42ee5106db684e8672da1eb02aff9a92e19542a5a82a"
        "44c7d9984b0a629ca62cbda6be05299585e1d61e47280a52df64125c61ddd40b")
    assert verify(old, old_sig, kr.public_key(kr.active_id))
    assert decode_record(old) == decode_record(new)
    assert audit_header(old) == audit_header(new)


def test_fast_codec_bytes_equal_contract_codec() -> None:
    payload = build_record(FIELDS, ledger_id="L", seq=3, prev_leaf_hash="ab" * 32, key_id="k")
    rec = codec.decode(payload, expect="AuditRecord")
    assert codec.encode("AuditRecord", rec) == payload
    assert decode_record(payload) == rec


def test_record_id_is_idempotency_key() -> None:
    a = build_record(FIELDS, ledger_id="L", seq=0, prev_leaf_hash="0" * 64, key_id="k")
    b = build_record(FIELDS, ledger_id="L", seq=9, prev_leaf_hash="1" * 64, key_id="k")
    assert decode_record(a)["record_id"] == decode_record(b)["record_id"]
    c = build_record({**FIELDS, "kind": "response"}, ledger_id="L", seq=0,
                     prev_leaf_hash="0" * 64, key_id="k")
    assert decode_record(c)["record_id"] != decode_record(a)["record_id"]


def test_unknown_field_is_rejected_with_fix() -> None:
    with pytest.raises(LedgerError, match="remove them or put caller tags in `metadata`"):
        build_record({**FIELDS, "loan": "x"}, ledger_id="L", seq=0, prev_leaf_hash="0" * 64,
                     key_id="k")


def test_key_dir_generate_rotate_load(tmp_path: Path) -> None:
    d = tmp_path / "k"
    k1 = lkeys.generate(d)
    assert stat.S_IMODE((d / f"{k1}.key").stat().st_mode) == 0o600
    k2 = lkeys.rotate(d)
    kr = lkeys.load_dir(d)
    assert kr.active_id == k2 and set(kr.public) == {k1, k2}
    man = kr.public_manifest()
    assert [m["key_id"] for m in man] == sorted([k1, k2])
    assert all(len(m["public_key"]) == 64 and m["created"] for m in man)
    assert lkeys.Keyring.from_manifest(man).public.keys() == kr.public.keys()
    assert "PRIVATE" not in repr(kr) and FIXED_KEY_B64 not in repr(kr)


def test_pem_public_key_accepted(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    d = tmp_path / "k"
    kid = lkeys.generate(d)
    pub = lkeys.load_dir(d).public_key(kid)
    (d / f"{kid}.pub").write_bytes(pub.public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    assert lkeys.load_dir(d).public_key(kid) is not None


def test_private_key_mode_checked(tmp_path: Path) -> None:
    d = tmp_path / "k"
    kid = lkeys.generate(d)
    os.chmod(d / f"{kid}.key", 0o644)
    with pytest.raises(LedgerKeyError, match="expected 0600"):
        lkeys.load_dir(d)


@pytest.mark.parametrize("secret,msg", [
    ("", "empty"), ("not base64!!", "not valid base64"),
    (base64.b64encode(b"short").decode(), "decodes to 5 bytes"),
])
def test_bad_base64_keys(secret: str, msg: str) -> None:
    with pytest.raises(LedgerKeyError, match=msg) as info:
        lkeys.Keyring.from_base64(secret)
    assert secret not in str(info.value) or not secret


def test_secretstr_accepted() -> None:
    from pydantic import SecretStr

    kr = lkeys.Keyring.from_base64(SecretStr(FIXED_KEY_B64))
    assert kr.active_id == "56475aa75463474c"
