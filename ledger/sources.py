"""Evidence from a ledger database (the bundle's comes from bundle.py). Reads, no writes."""

from __future__ import annotations

from typing import Any

from .evidence import Evidence
from .findings import VerifyReport
from .keys import PublicKeyInfo, public_from_raw
from .reader import LedgerReader
from .sign import KEY_ENDORSEMENT, RETENTION
from .trust import TrustAnchors
from .verify import run
from .verify_records import tree_from_leaves

STATEMENT_KINDS = (KEY_ENDORSEMENT, RETENTION)


def from_reader(reader: LedgerReader, *, from_us: int | None = None, to_us: int | None = None,
                columns: bool = True) -> tuple[Evidence, list[Any]]:
    """The evidence a stopped or running ledger file holds; plus leaf-table holes found."""
    windowed = from_us is not None or to_us is not None
    holes: list[Any] = []
    tree = tree_from_leaves(reader.leaves(), holes)
    material = [PublicKeyInfo(k, public_from_raw(raw), at) for k, raw, at in reader.stored_keys()
                if len(raw) == 32]
    ev = Evidence(
        source="database", ledger_id=reader.ledger_id(),
        records=reader.iter_signed(since_us=from_us, until_us=to_us) if windowed
        else reader.iter_signed(),
        checkpoints=reader.checkpoints(), tree=tree,
        statements=reader.statements(STATEMENT_KINDS), cosignatures=reader.cosignatures(),
        material_keys=material, pruned_claims=reader.pruned_ranges(),
        columns=reader.iter_columns() if columns and not windowed else None, windowed=windowed)
    return ev, holes


def verify_database(reader: LedgerReader, anchors: TrustAnchors, *, from_us: int | None = None,
                    to_us: int | None = None, columns: bool = True, **kw: Any) -> VerifyReport:
    """Run the verifier over a ledger database."""
    ev, holes = from_reader(reader, from_us=from_us, to_us=to_us, columns=columns)
    rep = run(ev, anchors, **kw)
    rep.problems[:0] = holes
    return rep
