"""Auditor bundles: export, verify without the database, and tampered bundles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from ledgergate.ledger import keys as lkeys
from ledgergate.ledger import merkle
from ledgergate.ledger.bundle import export, prove, verify_bundle
from ledgergate.ledger.errors import NotFoundError
from ledgergate.ledger.sign import decode_checkpoint

from ledger_testkit import T0

N = 60


def _export(ledger: Any, tmp_path: Path, **kw: Any) -> tuple[Any, Path]:
    con, w, r = ledger(N, **kw)
    out = tmp_path / "bundle"
    man = export(r, T0, T0 + 10**12, out)
    assert man["record_count"] == N and man["latest_checkpoint"] == N
    return (con, w, r), out


def test_bundle_round_trip(ledger: Any, tmp_path: Path, keydir: Path) -> None:
    _, out = _export(ledger, tmp_path)
    rep = verify_bundle(out, keyring=lkeys.load_dir(keydir).public_only(), workers=1)
    assert rep.ok, rep.problems
    assert rep.records_checked == N and rep.checkpoints_checked == 6
    assert verify_bundle(out).ok  # with the bundle's own keys.json


def test_bundle_period_subset(ledger: Any, tmp_path: Path) -> None:
    con, w, r = ledger(N)
    out = tmp_path / "sub"
    man = export(r, T0 + 10 * 1_000_000, T0 + 20 * 1_000_000, out)
    assert (man["first_seq"], man["last_seq"]) == (10, 19)
    assert verify_bundle(out).ok


def _rewrite_avro(path: Path, mutate: Any) -> None:
    with open(path, "rb") as fh:
        rd = fastavro.reader(fh)
        schema = rd.writer_schema
        rows = list(rd)
    rows = mutate(rows)
    with open(path, "wb") as fh:
        fastavro.writer(fh, schema, rows)


def _fix_manifest(out: Path, name: str) -> None:
    """An attacker who edits a file also fixes its hash; signatures must still catch it."""
    import hashlib

    man = json.loads((out / "manifest.json").read_text())
    man["files"][name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(man))


def _flip_payload(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    p = bytearray(rows[7]["payload"])
    p[-3] ^= 1
    rows[7]["payload"] = bytes(p)
    return rows


def _drop(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rows[:20] + rows[21:]


def _swap(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows[3], rows[4] = rows[4], rows[3]
    return rows


@pytest.mark.parametrize("mode", ["anchored", "all"])
@pytest.mark.parametrize("name,mutate,kind", [
    ("records.avro", _flip_payload, "changed-field"),
    ("records.avro", _drop, "deleted"),
    ("records.avro", _swap, "reordered"),
    ("checkpoints.avro", lambda rows: rows[:-1], "truncated"),
])
def test_tampered_bundle_fails(ledger: Any, tmp_path: Path, name: str, mutate: Any,
                               kind: str, mode: str) -> None:
    _, out = _export(ledger, tmp_path)
    _rewrite_avro(out / name, mutate)
    rep = verify_bundle(out, workers=1, signatures=mode)
    assert not rep.ok
    assert ("changed-field", None) in [(p.kind, p.seq) for p in rep.problems]  # manifest hash
    _fix_manifest(out, name)
    rep = verify_bundle(out, workers=1, signatures=mode)
    assert kind in rep.kinds(), rep.problems


def test_bundle_signature_modes(ledger: Any, tmp_path: Path) -> None:
    """A flipped signature on a covered record with intact payload: only "all" names it."""
    _, out = _export(ledger, tmp_path)
    assert verify_bundle(out, workers=1).signatures_checked == 1  # 1 % of 60, all covered
    assert verify_bundle(out, workers=1, signatures="all").signatures_checked == N

    def flip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        sig = bytearray(rows[9]["signature"])
        sig[0] ^= 1
        rows[9]["signature"] = bytes(sig)
        return rows

    _rewrite_avro(out / "records.avro", flip)
    _fix_manifest(out, "records.avro")
    assert verify_bundle(out, workers=1, sample_rate=0.0).ok
    # the same diagnosis as the database verifier: intact content, altered signature
    assert [(p.kind, p.seq) for p in verify_bundle(out, workers=1, signatures="all").problems] \
        == [("bad-signature", 9)]
    rep = verify_bundle(out, workers=1, sample_rate=1.0)
    assert [(p.kind, p.seq) for p in rep.problems] == [("bad-signature", 9)]


def test_rewritten_history_fails_consistency(ledger: Any, tmp_path: Path, keydir: Path) -> None:
    """A checkpoint re-signed by the real key over a different history is caught."""
    from ledgergate.ledger.sign import build_checkpoint

    _, out = _export(ledger, tmp_path)
    kr = lkeys.load_dir(keydir)

    def resign(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = decode_checkpoint(rows[2]["payload"])
        p = build_checkpoint(ledger_id=body["ledger_id"], tree_size=body["tree_size"],
                             root_hash=b"\x22" * 32, at_us=body["at_us"], key_id=kr.active_id)
        rows[2] = {"payload": p, "key_id": kr.active_id, "signature": kr.active_private.sign(p)}
        return rows

    _rewrite_avro(out / "checkpoints.avro", resign)
    _fix_manifest(out, "checkpoints.avro")
    rep = verify_bundle(out, workers=1)
    assert "forged-checkpoint" in rep.kinds()


def test_prove_single_record(ledger: Any) -> None:
    con, w, r = ledger(N)
    rid = r.list(limit=1, offset=17)[0]["record_id"]
    pr = prove(r, rid)
    assert pr["seq"] == 17 and pr["tree_size"] == N
    assert merkle.verify_inclusion(bytes.fromhex(pr["leaf_hash"]), 17, N,
                                   [bytes.fromhex(p) for p in pr["path"]],
                                   bytes.fromhex(pr["root_hash"]))
    with pytest.raises(NotFoundError):
        prove(r, "no-such-record")
