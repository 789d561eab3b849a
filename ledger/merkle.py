"""RFC 9162 Merkle tree: hashes, incremental frontier, inclusion and consistency proofs.

Everything here is pure (no I/O) and works on raw 32-byte SHA-256 digests.

* leaf hash  = SHA-256(0x00 || data)
* node hash  = SHA-256(0x01 || left || right)
* MTH({})    = SHA-256("")

The tree over n leaves splits at k, the largest power of two < n (RFC 9162 §2.1.1).
That tree equals the "levelled" tree in which an unpaired last node is promoted to
the next level unchanged, which is what :class:`Frontier` and :class:`TreeLevels`
compute, so both the writer (O(log n) memory) and proof generation (O(n) once,
then O(log n) per proof) stay linear instead of recursing per request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import ProofError

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash of ``data``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    return _sha256(b"\x01" + left + right).digest()


def _largest_pow2_below(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree head over the given leaf hashes (levelled, O(n))."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def root_recursive(leaves: Sequence[bytes]) -> bytes:
    """The RFC 9162 §2.1.1 definition, literally; used to cross-check the fast paths."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _largest_pow2_below(n)
    return node_hash(root_recursive(leaves[:k]), root_recursive(leaves[k:]))


class Frontier:
    """Incremental tree state for the single writer: O(log n) memory.

    ``nodes[i]`` is the root of a perfect subtree of 2**i leaves when bit i of
    ``size`` is set. Appending is a binary carry; the root folds the frontier
    right to left, which gives the same head as the RFC's split-at-power-of-two.
    """

    __slots__ = ("size", "_nodes")

    def __init__(self, size: int = 0, nodes: Sequence[bytes | None] = ()) -> None:
        self.size = size
        self._nodes: list[bytes | None] = list(nodes)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> Frontier:
        """Rebuild the frontier from stored leaf hashes (writer start-up)."""
        f = cls()
        for h in leaves:
            f.append(h)
        return f

    def copy(self) -> Frontier:
        """A copy to stage a batch on, so a failed transaction leaves us untouched."""
        return Frontier(self.size, self._nodes)

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        carry = leaf
        i = 0
        size = self.size
        nodes = self._nodes
        while size >> i & 1:
            carry = _sha256(b"\x01" + nodes[i] + carry).digest()  # type: ignore[operator]
            nodes[i] = None
            i += 1
        if i == len(nodes):
            nodes.append(carry)
        else:
            nodes[i] = carry
        self.size = size + 1

    def root(self) -> bytes:
        """Tree head over all appended leaves."""
        acc: bytes | None = None
        for node in self._nodes:
            if node is None:
                continue
            acc = node if acc is None else _sha256(b"\x01" + node + acc).digest()
        return EMPTY_ROOT if acc is None else acc


class TreeLevels:
    """All levels of the tree over a leaf list, for generating many proofs fast."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        levels = [list(leaves)]
        while len(levels[-1]) > 1:
            cur = levels[-1]
            nxt = [_sha256(b"\x01" + cur[i] + cur[i + 1]).digest()
                   for i in range(0, len(cur) - 1, 2)]
            if len(cur) % 2:
                nxt.append(cur[-1])
            levels.append(nxt)
        self._levels = levels

    def root(self) -> bytes:
        """Tree head over all leaves."""
        return self._levels[-1][0] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """Audit path for leaf ``index`` in the full tree (RFC 9162 §2.1.3.1 order)."""
        if not 0 <= index < self.size:
            raise ProofError(
                f"leaf index {index} is outside the tree of size {self.size}: "
                f"expected 0 <= index < {self.size}"
            )
        path: list[bytes] = []
        i = index
        for level in self._levels[:-1]:
            sib = i ^ 1
            if sib < len(level):
                path.append(level[sib])
            i >>= 1
        return path

    def subtree_root(self, a: int, b: int) -> bytes:
        """Root of leaves [a, b) (an RFC 9162 subtree): O(log n) from the stored levels."""
        n = b - a
        if n & (n - 1) == 0 and a % n == 0:  # a perfect, aligned subtree is a stored node
            return self._levels[n.bit_length() - 1][a // n]
        k = _largest_pow2_below(n)
        return node_hash(self.subtree_root(a, a + k), self.subtree_root(a + k, b))

    def consistency_proof(self, m: int, n: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(m, D[n]) (default n = size), O(log² n)."""
        n = self.size if n is None else n
        if not 0 < m <= n <= self.size:
            raise ProofError(
                f"consistency proof from size {m} to {n} is undefined for a tree of "
                f"{self.size} leaves: expected 0 < m <= n <= {self.size}"
            )
        return self._subproof(m, 0, n, True)

    def _subproof(self, m: int, a: int, b: int, whole: bool) -> list[bytes]:
        n = b - a
        if m == n:
            return [] if whole else [self.subtree_root(a, b)]
        k = _largest_pow2_below(n)
        if m <= k:
            return self._subproof(m, a, a + k, whole) + [self.subtree_root(a + k, b)]
        return self._subproof(m - k, a + k, b, False) + [self.subtree_root(a, a + k)]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) by the definition (O(n)); see TreeLevels for many."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ProofError(
            f"leaf index {index} is outside the tree of size {n}: expected 0 <= index < {n}"
        )
    return _path(index, leaves)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = _largest_pow2_below(n)
    if m < k:
        return _path(m, d[:k]) + [root_from_leaves(d[k:])]
    return _path(m - k, d[k:]) + [root_from_leaves(d[:k])]


def root_from_inclusion(leaf: bytes, index: int, tree_size: int,
                        path: Sequence[bytes]) -> bytes:
    """Root implied by an inclusion proof (RFC 9162 §2.1.3.2); raises on a malformed path."""
    if not 0 <= index < tree_size:
        raise ProofError(
            f"leaf index {index} is outside tree size {tree_size}: "
            "expected 0 <= index < tree_size"
        )
    fn, sn = index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError(
                f"inclusion path for leaf {index} of {tree_size} is too long "
                f"({len(path)} hashes): the proof was built for another tree size"
            )
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion path for leaf {index} of {tree_size} is too short "
            f"({len(path)} hashes): the proof was built for another tree size"
        )
    return r


def _has_empty(*hashes: bytes) -> bool:
    """A zero-length hash is never a digest: RFC 9162 vectors require rejecting it
    (an empty root equal to an empty leaf would otherwise "prove" a 1-leaf tree)."""
    return b"" in hashes


def verify_inclusion(leaf: bytes, index: int, tree_size: int,
                     path: Sequence[bytes], root: bytes) -> bool:
    """True iff ``path`` proves ``leaf`` at ``index`` in the tree with head ``root``."""
    if _has_empty(leaf, root, *path):
        return False
    try:
        return root_from_inclusion(leaf, index, tree_size, path) == root
    except ProofError:
        return False


def consistency_proof(leaves: Sequence[bytes], m: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]) for 0 < m <= n = len(leaves)."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ProofError(
            f"consistency proof from size {m} to {n} is undefined: expected 0 < m <= n"
        )
    return _subproof(m, leaves, True)


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [root_from_leaves(d)]
    k = _largest_pow2_below(n)
    if m <= k:
        return _subproof(m, d[:k], b) + [root_from_leaves(d[k:])]
    return _subproof(m - k, d[k:], False) + [root_from_leaves(d[:k])]


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show tree ``first`` is a prefix of ``second``?

    A proof from size 0 is refused, even (0, 0): the empty tree is a prefix of
    everything, so such a "proof" says nothing and a verifier that accepts it can
    be steered past a real check. Zero-length hashes are refused too.
    """
    if first <= 0 or _has_empty(first_root, second_root, *proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second:
        return False
    proof = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the seed
        proof = [first_root] + proof
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


@dataclass(frozen=True)
class InclusionCache:
    """Memo of proven (level, index) → hash nodes for checking many proofs in O(n) total.

    Sound because a node that equals one already proven to reach a trusted root is
    itself authentic; a leaf that hashes up to it is therefore in the tree too.
    """

    tree_size: int
    root: bytes
    proven: dict[tuple[int, int], bytes]

    @classmethod
    def for_root(cls, tree_size: int, root: bytes) -> InclusionCache:
        return cls(tree_size, root, {})

    def verify(self, leaf: bytes, index: int, path: Sequence[bytes]) -> bool:
        """Like :func:`verify_inclusion` against this cache's root, usually much cheaper."""
        if not 0 <= index < self.tree_size or not leaf or b"" in path:
            return False
        # Walk the levelled tree: at each level the node index is index >> level
        # only while no promotion happened; track it explicitly instead.
        size = self.tree_size
        i = index
        r = leaf
        trail: list[tuple[tuple[int, int], bytes]] = []
        level = 0
        pi = 0
        while size > 1:
            key = (level, i)
            known = self.proven.get(key)
            if known is not None:
                if known != r:
                    return False
                break
            trail.append((key, r))
            sib = i ^ 1
            if sib < size:
                if pi >= len(path):
                    return False
                p = path[pi]
                pi += 1
                r = _sha256(b"\x01" + p + r).digest() if i & 1 else \
                    _sha256(b"\x01" + r + p).digest()
            i >>= 1
            size = (size + 1) >> 1
            level += 1
        else:
            if pi != len(path) or r != self.root:
                return False
        for key, h in trail:
            self.proven[key] = h
        return True
