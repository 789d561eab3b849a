"""Ledger verification: one sequence of named steps over a database or a bundle. Pure.

Both the database (:func:`ledgergate.ledger.sources.from_reader`) and an
auditor bundle (:func:`ledgergate.ledger.bundle.evidence`) are turned into an
:class:`~ledgergate.ledger.evidence.Evidence`; :func:`run` then runs

1. ``keys``        trusted keys (from outside) + signed endorsements → the key chain
2. ``checkpoints`` each checkpoint's signature by a chained key, its fields, its C2SP note
3. ``tree``        the checkpoints' roots reproduced (database: from every leaf;
                   bundle: consistency proofs between checkpoints) → the anchor
4. ``witnesses``   required witness cosignatures; the anchor moves to the witnessed head
5. ``trusted-checkpoint`` RFC 9162 consistency with the auditor's checkpoint
6. ``statements``  endorsement and retention records are in the tree and signed
7. ``records``     every record: leaf in the tree, position, chain, key, signature
8. ``coverage``    missing records: signed retention, or deleted / truncated / incomplete
9. ``assurance``   what the result establishes and what it does not

Anchored signatures (``signatures="anchored"``, the default): a record below the
anchor (the largest checkpoint whose signature and root check out) cannot be
changed, moved, removed or added without a SHA-256 collision or a forged
checkpoint signature, so its own signature adds attribution, not tamper
evidence. Anchored mode verifies the signatures of the uncovered tail, of a
deterministic 1 % sample (seeded by the anchor root, or ``sample_seed``), and of
every record that looks wrong (the signature decides how the finding is named).
Only ``signatures="all"`` finds a signature altered on an intact, covered,
unsampled record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import merkle
from .evidence import CheckpointLike, Evidence, FullTree, PrunedLike, RecordTuple
from .findings import INFO_KINDS, PROBLEM_KINDS, Problem, VerifyReport
from .keys import Keyring
from .sigcheck import (
    DEFAULT_SAMPLE_RATE,
    SIGNATURE_MODES,
    SignatureMode,
    check_signature_mode,
    column_mismatches,
    default_workers,
    signature_sample,
)
from .sign import KEY_ENDORSEMENT, RETENTION, decode_checkpoint, decode_record
from .trust import (
    TrustAnchors,
    head_note_verifies,
    step_keys,
    step_trusted_checkpoint,
    step_witnesses,
    unendorsed_message,
)
from .verify_context import Context
from .verify_records import step_coverage, step_records, step_statements, tree_from_leaves
from .verify_summary import step_assurance

__all__ = ["DEFAULT_SAMPLE_RATE", "INFO_KINDS", "PROBLEM_KINDS", "SIGNATURE_MODES", "Context",
           "Problem", "SignatureMode", "TrustAnchors", "VerifyReport", "check_signature_mode",
           "column_mismatches", "default_workers", "run", "signature_sample", "verify"]


def step_checkpoints(ctx: Context) -> None:
    """Keep the checkpoints validly signed by a chained key whose fields agree."""
    for cp in ctx.ev.checkpoints:
        ctx.rep.checkpoints_checked += 1
        why = _checkpoint_problem(ctx, cp)
        if why:
            ctx.rep.add(None, None, why[0], f"checkpoint at tree size {cp.tree_size}: {why[1]}")
            continue
        ctx.heads.append((cp.tree_size, bytes.fromhex(cp.root_hash), cp.key_id))
    ctx.heads.sort()


def _checkpoint_problem(ctx: Context, cp: CheckpointLike) -> tuple[str, str] | None:
    try:
        body = decode_checkpoint(cp.payload)
    except Exception as exc:  # noqa: BLE001 - any decode failure means the bytes were replaced
        return "forged-checkpoint", f"payload is not a Checkpoint ({exc})"
    pub = ctx.chain.keys.get(cp.key_id)
    if pub is None or not ctx.chain.valid_for_head(cp.key_id, cp.tree_size):
        return "unendorsed-key", unendorsed_message(ctx, cp.key_id, "it")
    try:
        pub.verify(cp.signature, cp.payload)
    except Exception:  # noqa: BLE001 - InvalidSignature
        return "forged-checkpoint", f"signature by {cp.key_id} does not cover its payload"
    fields = {"tree_size": cp.tree_size, "root_hash": cp.root_hash, "key_id": cp.key_id}
    bad = [k for k, v in fields.items() if body[k] != v]
    if ctx.ev.ledger_id is not None and body["ledger_id"] != ctx.ev.ledger_id:
        bad.append("ledger_id")
    if bad:
        return "forged-checkpoint", (f"stored {', '.join(bad)} disagree(s) with the signed "
                                     f"payload (signed: {', '.join(f'{k}={body[k]!r}' for k in bad)})")
    if cp.note:
        why = head_note_verifies(ctx, cp.key_id, cp.note, cp.tree_size, bytes.fromhex(cp.root_hash))
        if why:
            return "forged-checkpoint", why
        ctx.head_bodies[cp.tree_size] = cp.note[:cp.note.rindex("\n\n") + 1]
    return None


def step_tree(ctx: Context) -> None:
    """Reproduce the valid heads' roots; the anchor is the largest one reproduced."""
    if isinstance(ctx.tree, FullTree):
        _full_tree(ctx, ctx.tree)
    else:
        _proven_tree(ctx)
    ctx.rep.tree_size = ctx.tree.size if ctx.tree.full else ctx.anchor[0]


def _full_tree(ctx: Context, tree: FullTree) -> None:
    frontier = merkle.Frontier()
    good: list[tuple[int, bytes, str]] = []
    broken = False
    for size, root, kid in ctx.heads:
        if size > tree.size:
            ctx.rep.add(size - 1, None, "truncated",
                        f"a signed checkpoint covers {size} leaves but only {tree.size} are "
                        f"stored: leaves {tree.size}..{size - 1} were cut off")
            continue
        while frontier.size < size:
            frontier.append(tree.leaves[frontier.size])
        if frontier.root() != root:
            ctx.rep.add(None, None, "changed-field",
                        f"leaves 0..{size - 1} do not hash to the root {root.hex()[:16]}… of the "
                        "signed checkpoint at that size: a leaf was changed, inserted or removed")
            broken = True  # later checkpoints extend the same broken tree: none may anchor
            ctx.broken_below = max(ctx.broken_below, size)
        elif not broken:
            ctx.anchor = (size, root)
            good.append((size, root, kid))
    ctx.heads = good


def _proven_tree(ctx: Context) -> None:
    heads = ctx.heads
    ok = True
    for (m, rm, _), (n, rn, _) in zip(heads, heads[1:], strict=False):
        if m == 0:
            continue
        proof = ctx.tree.consistency(m, heads[-1][0])
        if m == n or proof is None:
            proof = ctx.tree.consistency(m, n)
            target, troot = n, rn
        else:
            target, troot = heads[-1][0], heads[-1][1]
        if proof is None or not merkle.verify_consistency(m, target, rm, troot, proof):
            ctx.rep.add(None, None, "forked", f"checkpoints at sizes {m} and {target} are not "
                        "consistent: the later tree does not extend the earlier one (history "
                        "was rewritten)")
            ok = False
    if heads and ok:
        ctx.anchor = (heads[-1][0], heads[-1][1])
    last = heads[-1][0] if heads else 0
    if last < ctx.tree.size:
        ctx.rep.add(last, None, "truncated", f"the bundle's proofs are against a checkpoint of "
                    f"tree size {ctx.tree.size}, which is missing or invalid (latest valid: "
                    f"{last}): the latest checkpoint was removed")
    elif last > ctx.tree.size:
        ctx.rep.add(None, None, "incomplete", f"the bundle's proofs are against tree size "
                    f"{ctx.tree.size} but its latest valid checkpoint is {last}")


def run(ev: Evidence, anchors: TrustAnchors, *, signatures: SignatureMode | str = "anchored",
        workers: int = 1, chunk: int = 20_000, sample_rate: float = DEFAULT_SAMPLE_RATE,
        sample_seed: bytes | None = None) -> VerifyReport:
    """Verify ``ev`` against ``anchors``: every step in order, findings in the report."""
    mode = check_signature_mode(signatures)
    rep = VerifyReport(source=ev.source, signature_mode=mode)
    ctx = Context(ev, anchors, rep, mode, workers, chunk, sample_rate, sample_seed)
    steps: Sequence[tuple[str, Callable[[Context], None]]] = (
        ("keys", step_keys), ("checkpoints", step_checkpoints), ("tree", step_tree),
        ("witnesses", step_witnesses), ("trusted-checkpoint", step_trusted_checkpoint),
        ("statements", step_statements), ("records", step_records),
        ("coverage", step_coverage), ("assurance", step_assurance))
    for name, step in steps:
        rep.steps.append(name)
        step(ctx)
    rep.anchor_size = ctx.anchor[0]
    rep.problems.sort(key=lambda p: (p.seq is None, p.seq if p.seq is not None else 0))
    return rep


def _is_statement(payload: bytes) -> bool:
    try:
        return decode_record(payload)["kind"] in (KEY_ENDORSEMENT, RETENTION)
    except Exception:  # noqa: BLE001 - the records step names unreadable bytes
        return False


def verify(records: Iterable[RecordTuple], leaves: Sequence[tuple[int, bytes]],
           checkpoints: Sequence[CheckpointLike], keyring: Keyring,
           pruned_ranges: Sequence[PrunedLike] = (),
           columns: Iterable[Mapping[str, Any]] | None = None, *,
           ledger_id: str | None = None, workers: int = 1, chunk: int = 20_000,
           signatures: SignatureMode | str = "anchored",
           sample_rate: float = DEFAULT_SAMPLE_RATE, sample_seed: bytes | None = None,
           statements: Sequence[RecordTuple] = (), trust_source: str = "the given keyring",
           ) -> VerifyReport:
    """Verify a ledger given as plain data, trusting ``keyring``'s public keys.

    ``leaves``: every stored (seq, leaf_hash); a hole in it is itself a deletion.
    ``statements`` (endorsement and retention records) default to those found in
    ``records``, which are then read into memory first; the database path
    (:func:`ledgergate.ledger.sources.verify_database`) streams instead.
    """
    if not statements:
        records = list(records)
        statements = [r for r in records if _is_statement(r[1])]
    rep_holes: list[Problem] = []
    tree = tree_from_leaves(leaves, rep_holes)
    ev = Evidence("database", ledger_id, records, checkpoints, tree, statements=statements,
                  pruned_claims=pruned_ranges, columns=columns)
    rep = run(ev, TrustAnchors.of(keyring, trust_source), signatures=signatures,
              workers=workers, chunk=chunk, sample_rate=sample_rate, sample_seed=sample_seed)
    rep.problems[:0] = rep_holes
    return rep
