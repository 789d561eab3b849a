"""The state one verification's steps share (see verify.py for the steps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import merkle
from .evidence import Evidence, FullTree, TreeView
from .findings import VerifyReport
from .sigcheck import DEFAULT_SAMPLE_RATE
from .trust import KeyChain, TrustAnchors


@dataclass
class Context:
    """State shared by the steps of one verification."""

    ev: Evidence
    anchors: TrustAnchors
    rep: VerifyReport
    mode: str
    workers: int = 1
    chunk: int = 20_000
    sample_rate: float = DEFAULT_SAMPLE_RATE
    sample_seed: bytes | None = None
    chain: KeyChain = field(default_factory=KeyChain)
    heads: list[tuple[int, bytes, str]] = field(default_factory=list)  # valid: size, root, key
    head_bodies: dict[int, str] = field(default_factory=dict)          # size → note body
    anchor: tuple[int, bytes] = (0, merkle.EMPTY_ROOT)
    missing: list[tuple[int, int]] = field(default_factory=list)
    seen: tuple[int, int] | None = None                                # first, last seq read
    rules: list[tuple[int, Any]] = field(default_factory=list)         # (seq, RetentionRule)
    broken_below: int = 0      # a signed root disagrees with the stored leaves below this size
    altered: set[int] = field(default_factory=set)                     # seqs found changed

    @property
    def tree(self) -> TreeView:
        return self.ev.tree

    def root_at(self, size: int) -> bytes:
        """Root of the first ``size`` leaves (database evidence only)."""
        assert isinstance(self.ev.tree, FullTree)  # noqa: S101 - callers check tree.full
        return merkle.root_from_leaves(self.ev.tree.leaves[:size])
