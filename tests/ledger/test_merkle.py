"""RFC 9162 Merkle tree: known vectors and cross-checks against the definition."""

from __future__ import annotations

import hashlib

import pytest

from ledgergate.ledger import merkle

LEAVES = [merkle.leaf_hash(bytes([i])) for i in range(20)]


def test_empty_tree_root_is_sha256_of_empty_string() -> None:
    assert merkle.root_from_leaves([]) == hashlib.sha256(b"").digest()
    assert merkle.Frontier().root() == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("data,expected", [
    # RFC 6962 / 9162 test vectors: leaf hash of the empty string and of 0x00.
    (b"", "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    (b"\x00", "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
])
def test_leaf_hash_vectors(data: bytes, expected: str) -> None:
    assert merkle.leaf_hash(data).hex() == expected


def test_eight_leaf_root_vector() -> None:
    # The 8-leaf tree from the certificate-transparency reference tests.
    inputs = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
              b"\x50\x51\x52\x53\x54\x55\x56\x57",
              b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"]
    leaves = [merkle.leaf_hash(x) for x in inputs]
    assert merkle.root_from_leaves(leaves).hex() == \
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


@pytest.mark.parametrize("n", range(0, 21))
def test_fast_roots_match_definition(n: int) -> None:
    want = merkle.root_recursive(LEAVES[:n])
    assert merkle.root_from_leaves(LEAVES[:n]) == want
    assert merkle.Frontier.from_leaves(LEAVES[:n]).root() == want
    if n:
        assert merkle.TreeLevels(LEAVES[:n]).root() == want


@pytest.mark.parametrize("n", range(1, 21))
def test_inclusion_proofs_all_positions(n: int) -> None:
    leaves = LEAVES[:n]
    root = merkle.root_recursive(leaves)
    levels = merkle.TreeLevels(leaves)
    cache = merkle.InclusionCache.for_root(n, root)
    for i in range(n):
        path = merkle.inclusion_proof(leaves, i)
        assert levels.inclusion_proof(i) == path
        assert merkle.verify_inclusion(leaves[i], i, n, path, root)
        assert cache.verify(leaves[i], i, path)
        # wrong leaf, wrong index and a truncated path must all fail
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), i, n, path, root)
        if n > 1:
            assert not merkle.verify_inclusion(leaves[i], (i + 1) % n, n, path, root)
            assert not merkle.verify_inclusion(leaves[i], i, n, path[:-1], root)


def test_inclusion_cache_rejects_forged_leaf_after_warmup() -> None:
    leaves = LEAVES[:13]
    root = merkle.root_from_leaves(leaves)
    cache = merkle.InclusionCache.for_root(13, root)
    for i in range(13):
        assert cache.verify(leaves[i], i, merkle.inclusion_proof(leaves, i))
    assert not cache.verify(merkle.leaf_hash(b"forged"), 5, merkle.inclusion_proof(leaves, 5))


@pytest.mark.parametrize("n", range(1, 21))
def test_consistency_proofs_all_sizes(n: int) -> None:
    leaves = LEAVES[:n]
    rn = merkle.root_recursive(leaves)
    for m in range(1, n + 1):
        rm = merkle.root_recursive(leaves[:m])
        proof = merkle.consistency_proof(leaves, m)
        assert merkle.verify_consistency(m, n, rm, rn, proof), (m, n)
        if m < n:
            assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), rn, proof)
            assert not merkle.verify_consistency(m, n, rm, merkle.leaf_hash(b"x"), proof)


def test_proof_errors_name_the_bad_index() -> None:
    with pytest.raises(merkle.ProofError, match="leaf index 5 is outside the tree of size 3"):
        merkle.inclusion_proof(LEAVES[:3], 5)
