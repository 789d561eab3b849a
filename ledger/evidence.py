"""What a verifier is fed: one shape for a ledger database and for an auditor bundle.

The database gives every leaf (a :class:`FullTree`); a bundle gives signed
checkpoints plus inclusion and consistency proofs (a :class:`ProvenTree`).
Everything else — records, checkpoints, signed statements (endorsements,
retention), cosignatures, the key material the ledger carries and its unsigned
retention claims — has the same form from both, so verify.py runs one sequence
of steps over either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import merkle
from .keys import PublicKeyInfo

RecordTuple = tuple[int, bytes, bytes, str, bytes]   # seq, payload, signature, key_id, leaf col


class CheckpointLike(Protocol):
    """A checkpoint as the verifier reads it (read-only, so frozen rows fit)."""

    @property
    def tree_size(self) -> int: ...
    @property
    def root_hash(self) -> str: ...
    @property
    def at_us(self) -> int: ...
    @property
    def key_id(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def signature(self) -> bytes: ...
    @property
    def note(self) -> str | None: ...


class PrunedLike(Protocol):
    """A pruned range as the verifier reads it."""

    @property
    def from_seq(self) -> int: ...
    @property
    def to_seq(self) -> int: ...


class TreeView(Protocol):
    """The Merkle tree as far as the evidence shows it."""

    full: bool

    @property
    def size(self) -> int: ...

    def leaf(self, seq: int) -> bytes | None:
        """The tree's leaf at ``seq`` if the evidence holds it."""

    def holds(self, seq: int, leaf: bytes, anchor: int) -> bool | None:
        """Is ``leaf`` the tree's leaf at ``seq``? None: the evidence cannot say."""

    def consistency(self, m: int, n: int) -> list[bytes] | None:
        """An RFC 9162 consistency proof from size m to size n, if the evidence has one."""


class FullTree:
    """Every leaf, from the database: roots and proofs are recomputed, never read."""

    full = True

    def __init__(self, leaves: list[bytes]) -> None:
        self._leaves = leaves

    @property
    def size(self) -> int:
        return len(self._leaves)

    @property
    def leaves(self) -> list[bytes]:
        return self._leaves

    def leaf(self, seq: int) -> bytes | None:
        return self._leaves[seq] if 0 <= seq < len(self._leaves) else None

    def holds(self, seq: int, leaf: bytes, anchor: int) -> bool | None:
        tl = self.leaf(seq)
        return None if tl is None else tl == leaf

    def consistency(self, m: int, n: int) -> list[bytes] | None:
        if not 0 < m <= n <= len(self._leaves):
            return None
        return merkle.consistency_proof(self._leaves[:n], m)


class ProvenTree:
    """A bundle's view: inclusion proofs against the anchor checkpoint, consistency proofs
    between checkpoints, and the leaves of context records once proven."""

    full = False

    def __init__(self, size: int, root: bytes | None, inclusion: Mapping[int, Sequence[bytes]],
                 consistency: Mapping[tuple[int, int], Sequence[bytes]]) -> None:
        self._size = size
        # root None: the checkpoint the proofs are against is missing; nothing is proven
        self._cache = merkle.InclusionCache.for_root(size, root) if root else None
        self._inclusion = inclusion
        self._consistency = consistency
        self._known: dict[int, bytes] = {}

    @property
    def size(self) -> int:
        return self._size

    def leaf(self, seq: int) -> bytes | None:
        return self._known.get(seq)

    def holds(self, seq: int, leaf: bytes, anchor: int) -> bool | None:
        if not 0 <= seq < self._size or self._cache is None:
            return None
        path = self._inclusion.get(seq)
        ok = path is not None and self._cache.verify(leaf, seq, path)
        if ok:
            self._known[seq] = leaf
        return ok

    def consistency(self, m: int, n: int) -> list[bytes] | None:
        p = self._consistency.get((m, n))
        return list(p) if p is not None else None


@dataclass(frozen=True)
class Period:
    """The time window a bundle claims to cover completely: [from_us, to_us)."""

    from_us: int | None
    to_us: int | None

    def contains(self, t: int) -> bool:
        return (self.from_us is None or t >= self.from_us) and (self.to_us is None or t < self.to_us)


@dataclass
class Evidence:
    """Everything one verification looks at. ``records`` is consumed once, in seq order."""

    source: str                                   # "database" or "bundle"
    ledger_id: str | None
    records: Iterable[RecordTuple]
    checkpoints: Sequence[CheckpointLike]
    tree: TreeView
    statements: Sequence[RecordTuple] = ()        # endorsement + retention records, whole ledger
    context: Sequence[RecordTuple] = ()           # bundle: the records just outside the period
    cosignatures: Mapping[int, Sequence[str]] = field(default_factory=dict)
    material_keys: Sequence[PublicKeyInfo] = ()   # keys the ledger/bundle carries (not trusted)
    pruned_claims: Sequence[PrunedLike] = ()      # the unsigned `pruned` table / pruned.json
    columns: Iterable[Mapping[str, Any]] | None = None
    period: Period | None = None                  # bundle: the period it claims to cover
    windowed: bool = False                        # database: only a time window was read
