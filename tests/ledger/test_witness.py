"""The witness core (C2SP tlog-witness add-checkpoint rules), table-driven, on real keys and trees."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledgergate.ledger import merkle
from ledgergate.ledger.note import SIG_ED25519, CheckpointNote, Verifier, sign_note, split_note, verify_cosignature
from ledgergate.ledger.witness import Witness, init, request_body

ORIGIN = "ledgergate/t"
LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(40)]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Witness, Ed25519PrivateKey, Path]:
    log = Ed25519PrivateKey.generate()
    init(tmp_path / "w", "auditor.example/w1", [Verifier(ORIGIN, SIG_ED25519, log.public_key()).vkey()])
    return Witness(tmp_path / "w"), log, tmp_path / "w"


def note(log: Ed25519PrivateKey, n: int, root: bytes | None = None) -> str:
    r = root if root is not None else merkle.root_from_leaves(LEAVES[:n])
    return sign_note(CheckpointNote(ORIGIN, n, r).body(), ORIGIN, log)


def proof(m: int, n: int) -> list[bytes]:
    return merkle.consistency_proof(LEAVES[:n], m) if 0 < m < n else []


def test_consistent_sequence_is_cosigned_and_survives_restart(setup) -> None:
    w, log, state = setup
    for old, n in [(0, 5), (5, 12), (12, 12), (12, 40)]:
        a = w.add_checkpoint(request_body(old, proof(old, n), note(log, n)), now=1_700_000_000)
        assert a.status == 200, a.body
        body, _ = split_note(note(log, n))
        assert verify_cosignature(body, split_note("x\n\n" + a.body)[1], w.verifier) == 1_700_000_000
    again = Witness(state)  # a restart: the state is on disk
    assert again.latest(ORIGIN)["tree_size"] == 40
    assert again.add_checkpoint(request_body(12, proof(12, 40), note(log, 40))).status == 409


@pytest.mark.parametrize("case,status", [
    ("unknown log", 404), ("not signed by the log", 403), ("old > new", 400),
    ("proof from 0 not empty", 422), ("bad proof", 422), ("same size other root", 422),
    ("empty tree wrong root", 422), ("garbage", 400),
])
def test_refusals(setup, case: str, status: int) -> None:
    w, log, state = setup
    assert w.add_checkpoint(request_body(0, [], note(log, 10))).status == 200
    other = Ed25519PrivateKey.generate()
    body = {
        "unknown log": request_body(10, proof(10, 20), sign_note(
            CheckpointNote("other/log", 20, b"\x01" * 32).body(), "other/log", log)),
        "not signed by the log": request_body(10, proof(10, 20), note(other, 20)),
        "old > new": request_body(10, [], note(log, 5)),
        "proof from 0 not empty": None,
        "bad proof": request_body(10, [b"\x00" * 32] * 3, note(log, 20)),
        "same size other root": request_body(10, [], note(log, 10, b"\x07" * 32)),
        "empty tree wrong root": None,
        "garbage": "hello",
    }[case]
    if case == "proof from 0 not empty":
        state2 = state.parent / "w2"
        init(state2, "auditor.example/w2", [Verifier(ORIGIN, SIG_ED25519, log.public_key()).vkey()])
        w = Witness(state2)
        body = request_body(0, [b"\x00" * 32], note(log, 10))
    if case == "empty tree wrong root":
        state3 = state.parent / "w3"
        init(state3, "auditor.example/w3", [Verifier(ORIGIN, SIG_ED25519, log.public_key()).vkey()])
        w = Witness(state3)
        body = request_body(0, [], note(log, 0, b"\x09" * 32))
    a = w.add_checkpoint(body)
    assert a.status == status, (case, a)
