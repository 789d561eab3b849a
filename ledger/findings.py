"""What a verification found and what it establishes: the typed result of verify.

:class:`VerifyReport` is what every verifier step writes into and what the
CLI, the service API and the reports read (``to_dict`` is its JSON form; the
shape is documented in /work/notes/ledger-verify-result.md and the README).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Problem kinds: each names what changed.
PROBLEM_KINDS = (
    "changed-field",      # a payload, a column or a leaf differs from what was signed
    "bad-signature",      # a signature no longer verifies over intact content
    "deleted",            # records missing in the middle, not covered by a signed retention
    "inserted",           # a record the tree never held at that position
    "reordered",          # an authentic record at another position
    "truncated",          # records or leaves cut off at the end
    "forged-checkpoint",  # a checkpoint that is not a valid signed statement of this tree
    "unknown-key",        # signed by a key nobody vouches for
    "unendorsed-key",     # a key with no endorsement chain from a trusted key
    "rolled-back",        # the ledger (or bundle) ends before a trusted checkpoint
    "forked",             # not a consistent extension of a trusted checkpoint
    "unwitnessed",        # a required witness cosignature is missing or invalid
    "incomplete",         # a bundle does not prove it covers its whole period
    "bad-retention",      # a signed retention record whose rule did not hold
)
INFO_KINDS = ("pruned", "material-key", "not-witnessed", "uncovered")


@dataclass(frozen=True)
class Problem:
    """One finding. ``seq``/``record_id`` are None for tree- or checkpoint-level findings."""

    seq: int | None
    record_id: str | None
    kind: str
    message: str


@dataclass
class Assurance:
    """What a verification that passed establishes, and what it does not."""

    trust_anchor: str = ""                    # where the trusted keys came from
    trusted_keys: list[str] = field(default_factory=list)
    endorsed_keys: list[str] = field(default_factory=list)
    trusted_checkpoint: dict[str, Any] | None = None   # {tree_size, consistent}
    witnesses: list[dict[str, Any]] = field(default_factory=list)  # {name, cosigned_size}
    establishes: list[str] = field(default_factory=list)
    does_not_establish: list[str] = field(default_factory=list)


@dataclass
class VerifyReport:
    """The outcome of a verification. ``ok`` ignores informational entries."""

    source: str = "database"
    problems: list[Problem] = field(default_factory=list)
    info: list[Problem] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)   # the named steps that ran, in order
    records_checked: int = 0
    signatures_checked: int = 0
    tree_size: int = 0
    checkpoints_checked: int = 0
    columns_checked: int = 0
    signature_mode: str = "anchored"
    anchor_size: int = 0       # records below this are covered by a valid signed checkpoint
    assurance: Assurance = field(default_factory=Assurance)

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> set[str]:
        """The problem kinds found (not including info)."""
        return {p.kind for p in self.problems}

    def find(self, kind: str) -> list[Problem]:
        """Problems (or info entries) of one kind."""
        return [p for p in self.problems + self.info if p.kind == kind]

    def add(self, seq: int | None, record_id: str | None, kind: str, message: str) -> None:
        (self.info if kind in INFO_KINDS else self.problems).append(
            Problem(seq, record_id, kind, message))

    def signature_mode_text(self) -> str:
        """One sentence saying which signatures were checked."""
        if self.signature_mode == "all":
            return f"all: every record's Ed25519 signature checked ({self.signatures_checked:,})"
        return (f"anchored: {self.signatures_checked:,} record signatures checked (records after "
                f"the last valid checkpoint at {self.anchor_size:,}, a 1 % sample and every "
                "anomaly); the rest are bound by the signed checkpoints through the Merkle tree")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI, the service API, bundles and reports."""
        return {"ok": self.ok, "source": self.source, "steps": list(self.steps),
                "records_checked": self.records_checked,
                "signatures_checked": self.signatures_checked, "tree_size": self.tree_size,
                "checkpoints_checked": self.checkpoints_checked,
                "columns_checked": self.columns_checked,
                "signature_mode": self.signature_mode,
                "signature_mode_text": self.signature_mode_text(),
                "anchor_size": self.anchor_size,
                "assurance": asdict(self.assurance),
                "problems": [asdict(p) for p in self.problems],
                "info": [asdict(p) for p in self.info]}
