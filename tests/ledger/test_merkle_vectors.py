"""The public RFC 6962/9162 conformance vectors (transparency-dev/merkle), all of them.

../shared/vectors/merkle.json: known answers, the 8-leaf reference tree, inline
inclusion/consistency proofs, every probe file (each must be accepted or
rejected exactly as its ``wantErr`` says), and the rolling subtree digests of
the draft-ietf-plants-merkle-tree-certs construction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledgergate.ledger import merkle

_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "merkle.json"
if not _PATH.exists():  # a clone outside the session layout
    _PATH = Path("/work/shared/vectors/merkle.json")
V: dict[str, Any] = json.loads(_PATH.read_text()) if _PATH.exists() else {}
pytestmark = pytest.mark.skipif(not V, reason="shared Merkle vectors not present")

LEAVES = [merkle.leaf_hash(bytes.fromhex(x)) for x in V.get("leaf_inputs_hex", [])]


def _b(xs: list[str] | None) -> list[bytes]:
    return [bytes.fromhex(x) for x in xs or []]


def test_hasher_known_answers() -> None:
    h = V["hasher"]
    assert merkle.EMPTY_ROOT.hex() == h["empty_root"]
    assert merkle.leaf_hash(b"").hex() == h["leaf_empty"]
    assert merkle.leaf_hash(b"L123456").hex() == h["leaf_L123456"]
    assert merkle.node_hash(b"N123", b"N456").hex() == h["children_N123_N456"]


def test_reference_tree_levels_and_roots() -> None:
    assert [x.hex() for x in LEAVES] == V["node_hashes"][0]
    for n, want in enumerate(V["roots_by_size"]):
        assert merkle.root_from_leaves(LEAVES[:n]).hex() == want
        assert merkle.root_recursive(LEAVES[:n]).hex() == want
        assert merkle.Frontier.from_leaves(LEAVES[:n]).root().hex() == want


@pytest.mark.parametrize("case", V.get("inclusion_inline", []), ids=str)
def test_inline_inclusion(case: dict[str, Any]) -> None:
    n, idx, want = case["size"], case["leaf_1based"] - 1, _b(case["proof"])
    if idx < 0:  # marks an invalid request
        with pytest.raises(merkle.ProofError):
            merkle.inclusion_proof(LEAVES[:n], idx)
        return
    assert merkle.inclusion_proof(LEAVES[:n], idx) == want
    assert merkle.TreeLevels(LEAVES[:n]).inclusion_proof(idx) == want
    root = bytes.fromhex(V["roots_by_size"][n])
    assert merkle.verify_inclusion(LEAVES[idx], idx, n, want, root)


@pytest.mark.parametrize("case", V.get("consistency_inline", []), ids=str)
def test_inline_consistency(case: dict[str, Any]) -> None:
    m, n, want = case["size1"], case["size2"], _b(case["proof"])
    if m < n:
        assert merkle.consistency_proof(LEAVES[:n], m) == want
        assert merkle.TreeLevels(LEAVES).consistency_proof(m, n) == want
    r1, r2 = (bytes.fromhex(V["roots_by_size"][k]) for k in (m, n))
    assert merkle.verify_consistency(m, n, r1, r2, want)


@pytest.mark.parametrize("p", V.get("probes", {}).get("inclusion", []),
                         ids=lambda p: f"{p['file']}")
def test_inclusion_probe(p: dict[str, Any]) -> None:
    ok = merkle.verify_inclusion(bytes.fromhex(p["leafHash"]), p["leafIdx"], p["treeSize"],
                                 _b(p["proof"]), bytes.fromhex(p["root"]))
    assert ok is not p["wantErr"], p["desc"]


@pytest.mark.parametrize("p", V.get("probes", {}).get("consistency", []),
                         ids=lambda p: f"{p['file']}")
def test_consistency_probe(p: dict[str, Any]) -> None:
    ok = merkle.verify_consistency(p["size1"], p["size2"], bytes.fromhex(p["root1"]),
                                   bytes.fromhex(p["root2"]), _b(p["proof"]))
    assert ok is not p["wantErr"], p["desc"]


def _valid_subtrees(mx: int) -> list[tuple[int, int]]:
    out = []
    for end in range(mx + 1):
        for start in range(end + 1):
            size = end - start
            p2 = 1
            while p2 < size:
                p2 <<= 1
            if start == 0 or start == end or start % p2 == 0:
                out.append((start, end))
    return out


def test_draft_rolling_subtree_hashes_and_inclusion() -> None:
    dr = V["draft_rolling"]
    d = [merkle.leaf_hash(bytes([i])) for i in range(dr["max"])]
    roots, incl = hashlib.sha256(), hashlib.sha256()
    for start, end in _valid_subtrees(dr["max"]):
        sub = d[start:end]
        roots.update(f"[{start}, {end}) {merkle.root_from_leaves(sub).hex()}\n".encode())
        levels = merkle.TreeLevels(sub) if sub else None
        for index in range(start, end):
            path = levels.inclusion_proof(index - start)  # type: ignore[union-attr]
            incl.update((f"{index} [{start}, {end})" + "".join(f" {h.hex()}" for h in path)
                         + "\n").encode())
    assert roots.hexdigest() == dr["subtree_hash_want"]
    assert incl.hexdigest() == dr["subtree_inclusion_want"]


def test_levelled_consistency_proofs_match_the_definition() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(40)]
    levels = merkle.TreeLevels(leaves)
    for n in range(1, 41):
        for m in range(1, n + 1):
            assert levels.consistency_proof(m, n) == merkle.consistency_proof(leaves[:n], m)
