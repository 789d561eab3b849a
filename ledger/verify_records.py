"""Verifier steps over records: signed statements, every record, and coverage. Pure.

A finding names what changed: ``changed-field`` (content no longer what was
signed), ``inserted`` (a record the tree never held there), ``reordered`` (an
authentic record at another position), ``deleted``/``truncated`` (missing, and
no signed retention covers it), ``bad-signature`` (intact content, broken
signature), ``unendorsed-key`` (a key without an endorsement chain).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import merkle
from .evidence import FullTree, RecordTuple
from .findings import Problem
from .sigcheck import LazySig, SigChecker, column_mismatches, signature_sample
from .sign import RETENTION, ZERO_HASH_HEX, audit_header, decode_record
from .statements import parse_retention
from .trust import unendorsed_message
from .verify_context import Context


def tree_from_leaves(leaves: Sequence[tuple[int, bytes]], holes: list[Problem]) -> FullTree:
    """The tree's leaf list; a hole in the leaves table is itself a deletion."""
    out: list[bytes] = []
    for seq, h in leaves:
        if seq != len(out):
            holes.append(Problem(len(out), None, "deleted", f"leaves {len(out)}..{seq - 1} are "
                                 "missing from the leaves table: the tree was edited; every "
                                 "checkpoint after them will fail too"))
            break
        out.append(h)
    return FullTree(out)


def _sig_ok(ctx: Context, kid: str, payload: bytes, sig: bytes) -> bool:
    pub = ctx.chain.keys.get(kid)
    if pub is None:
        return False
    ctx.rep.signatures_checked += 1
    try:
        pub.verify(sig, payload)
        return True
    except Exception:  # noqa: BLE001 - InvalidSignature
        return False


def step_statements(ctx: Context) -> None:
    """Endorsement and retention records: in the tree, signed by a chained key; retention
    rules are read (and judged) here."""
    for seq, payload, sig, kid, _ in ctx.ev.statements:
        h = merkle.leaf_hash(payload)
        held = ctx.tree.holds(seq, h, ctx.anchor[0])
        where = f"statement record at seq {seq}"
        if held is False or (held is None and ctx.tree.full):
            ctx.rep.add(seq, None, "changed-field", f"{where} is not the record the tree holds "
                        "there: it was altered or inserted")
            continue
        if not ctx.chain.valid_for_record(kid, seq) or not _sig_ok(ctx, kid, payload, sig):
            ctx.rep.add(seq, None, "unendorsed-key" if kid not in ctx.chain.keys
                        else "changed-field", unendorsed_message(ctx, kid, where)
                        if kid not in ctx.chain.keys else f"{where}: signature does not verify")
            continue
        rec = decode_record(payload)
        if rec["kind"] == RETENTION:
            _retention(ctx, seq, rec)


def _retention(ctx: Context, seq: int, rec: Mapping[str, Any]) -> None:
    try:
        rule = parse_retention(rec.get("metadata") or {})
    except Exception as exc:  # noqa: BLE001 - RecordError
        ctx.rep.add(seq, rec["record_id"], "bad-retention", f"retention record at seq {seq}: {exc}")
        return
    why = rule.problem()
    if why is None and any(b >= seq for _, b in rule.ranges):
        why = f"it claims records at or after its own position {seq}"
    if why:
        ctx.rep.add(seq, rec["record_id"], "bad-retention", f"the retention record at seq {seq} "
                    f"does not justify removing records: {why}")
        return
    ctx.rules.append((seq, rule))


@dataclass
class _Walk:
    """Position state of the records step."""

    expected: int = 0
    started: bool = False
    sample: frozenset[int] = frozenset()
    count: list[int] = field(default_factory=lambda: [0])
    columns: Iterator[Mapping[str, Any]] | None = None
    pending: Mapping[str, Any] | None = None

    def columns_for(self, seq: int) -> Mapping[str, Any] | None:
        if self.columns is None:
            return None
        cur = self.pending
        while cur is None or cur["seq"] < seq:
            cur = next(self.columns, None)
            if cur is None:
                self.columns = None
                return None
        self.pending = cur
        return cur if cur["seq"] == seq else None


def step_records(ctx: Context) -> None:
    """Every record, streamed in chunks; signatures due up front go to the pool at once."""
    anchor = ctx.anchor[0] if ctx.mode == "anchored" else 0
    walk = _Walk(sample=signature_sample(anchor, ctx.anchor[1], ctx.sample_rate, ctx.sample_seed))
    if ctx.ev.columns is not None:
        walk.columns = iter(ctx.ev.columns)
    checker = SigChecker(ctx.chain.keys, ctx.workers)
    try:
        it = iter(ctx.ev.records)
        while True:
            batch = [r for _, r in zip(range(ctx.chunk), it, strict=False)]
            if not batch:
                break
            heads = [_header(r[1]) for r in batch]  # parsed once per record
            if ctx.ev.source == "bundle":  # a bundle's records are placed by their signed seq
                batch = [(h[2] if h else -1, *r[1:]) for h, r in zip(heads, batch, strict=True)]
            due = [i for i, r in enumerate(batch)
                   if not 0 <= r[0] < anchor or r[0] in walk.sample]
            oks = checker.check([(batch[i][3], batch[i][1], batch[i][2]) for i in due])
            ctx.rep.signatures_checked += len(due)
            _batch(ctx, walk, batch, heads, dict(zip(due, oks, strict=True)))
    finally:
        checker.close()
    ctx.rep.signatures_checked += walk.count[0]


Header = tuple[str, str, int, str, str]


def _header(payload: bytes) -> Header | None:
    try:
        return audit_header(payload)
    except Exception:  # noqa: BLE001 - not a record any more: _record names it
        return None


def _batch(ctx: Context, walk: _Walk, batch: list[RecordTuple], heads: list[Header | None],
           known: dict[int, bool]) -> None:
    col_items: list[tuple[int, str, bytes, Mapping[str, Any]]] = []
    for i, (seq, payload, sig, kid, leaf_col) in enumerate(batch):
        ctx.rep.records_checked += 1
        if (ctx.ev.windowed or ctx.ev.period is not None) and not walk.started:
            walk.expected = seq
        walk.started = True
        first, last = ctx.seen or (seq, seq)
        ctx.seen = (min(first, seq), max(last, seq))
        lazy = LazySig(ctx.chain.keys, kid, payload, sig, known.get(i), walk.count)
        cols = walk.columns_for(seq)
        rid = _record(ctx, walk, seq, payload, heads[i], kid, leaf_col, lazy, cols)
        if rid is not None and cols is not None:
            col_items.append((seq, rid, payload, cols))
    for seq, rid, payload, cols in col_items:
        ctx.rep.columns_checked += 1
        try:
            bad = column_mismatches(decode_record(payload), cols)
        except Exception:  # noqa: BLE001 - the bytes are not a record
            bad = ["payload"]
        for name in bad:
            value = cols.get(name, cols.get("recorded_at_col_us"))
            ctx.rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): column {name}="
                        f"{value!r} disagrees with the signed payload; run reports from the "
                        "payload or restore the row")


def _record(ctx: Context, walk: _Walk, seq: int, payload: bytes, head: Header | None, kid: str,
            leaf_col: bytes, sig_ok: LazySig, cols: Mapping[str, Any] | None) -> str | None:
    """Checks of one record; returns its id if its content is the tree's (columns worth
    checking), else None."""
    h = merkle.leaf_hash(payload)
    if head is None:
        ctx.rep.add(seq, None, "changed-field", f"record at seq {seq}: payload is not a valid "
                    "AuditRecord any more; it was overwritten")
        walk.expected = max(walk.expected, seq + 1)
        return None
    rid, p_ledger, p_seq, p_prev, p_kid = head
    if seq < walk.expected:
        _out_of_order(ctx, seq, rid, h, sig_ok)
        return None
    if seq > walk.expected:
        ctx.missing.append((walk.expected, seq - 1))
    walk.expected = seq + 1
    if p_seq != seq:
        if ctx.tree.holds(p_seq, h, ctx.anchor[0]) and sig_ok():
            ctx.rep.add(seq, rid, "reordered", f"record {rid} was signed as seq {p_seq} but is "
                        f"stored at seq {seq}: records were moved")
        else:
            ctx.rep.add(seq, rid, "inserted", f"row at seq {seq} holds record {rid} (signed seq "
                        f"{p_seq}) that the tree does not hold at either position: it was inserted")
        return None
    _key(ctx, seq, rid, kid, p_kid)
    if not _content(ctx, seq, rid, kid, h, payload, sig_ok, cols):
        return None
    expected_prev = ctx.tree.leaf(seq - 1) if seq else bytes.fromhex(ZERO_HASH_HEX)
    # a predecessor found altered explains a broken link: it is not a second finding
    if expected_prev is not None and p_prev != expected_prev.hex() and seq - 1 not in ctx.altered:
        ctx.rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) chains to {p_prev[:16]}…, "
                    f"not to leaf {seq - 1}: the chain was rebuilt")
    if ctx.ev.ledger_id is not None and p_ledger != ctx.ev.ledger_id:
        ctx.rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) belongs to ledger "
                    f"{p_ledger!r}, not {ctx.ev.ledger_id!r}")
    if leaf_col and leaf_col != h:
        ctx.rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): field leaf_hash "
                    f"{leaf_col.hex()[:16]}… disagrees with the payload's hash {h.hex()[:16]}…")
    return rid


def _key(ctx: Context, seq: int, rid: str, kid: str, p_kid: str) -> None:
    if not ctx.chain.valid_for_record(kid, seq):
        ctx.rep.add(seq, rid, "unendorsed-key", unendorsed_message(ctx, kid, f"record {rid} "
                                                                         f"(seq {seq})"))
    if p_kid != kid:
        ctx.rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): key_id {kid!r} next "
                    f"to the record differs from the signed key_id {p_kid!r}")


def _content(ctx: Context, seq: int, rid: str, kid: str, h: bytes, payload: bytes,
             sig_ok: LazySig, cols: Mapping[str, Any] | None) -> bool:
    """Is the payload the tree's leaf (or, past the tree, validly signed)? Names what not."""
    held = ctx.tree.holds(seq, h, ctx.anchor[0])
    if held is None and ctx.tree.full:
        ctx.rep.add(seq, rid, "inserted", f"record {rid} at seq {seq} is beyond the Merkle tree "
                    f"({ctx.tree.size} leaves): it was never appended by the writer")
        return False
    if held and seq < ctx.broken_below and not sig_ok():
        # the stored leaf matches, but the leaves here no longer give the signed root:
        # the payload was edited and its leaf recomputed to hide it
        ctx.altered.add(seq)
        ctx.rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): the payload no longer "
                    "matches its signature, and its leaf was recomputed to match (the signed "
                    f"checkpoints disagree with the stored tree){_hint(payload, cols)}")
        return False
    if held is False or (held is None and not sig_ok()):
        if sig_ok():
            ctx.rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) is validly signed but "
                        "is not the record the tree holds at that position: it replaced the original")
        else:
            ctx.altered.add(seq)
            ctx.rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): the payload no "
                        f"longer matches its signature or its leaf in the tree{_hint(payload, cols)}")
        return False
    if sig_ok.known is False and ctx.chain.valid_for_record(kid, seq):
        ctx.rep.add(seq, rid, "bad-signature", f"record {rid} (seq {seq}): its signature does "
                    "not verify although the payload matches the tree: the signature was altered")
    return True


def _hint(payload: bytes, cols: Mapping[str, Any] | None) -> str:
    if cols is None:
        return ""
    try:
        fields = column_mismatches(decode_record(payload), cols)
    except Exception:  # noqa: BLE001 - a hint only
        return ""
    return f"; fields differing from the stored columns: {', '.join(fields)}" if fields else ""


def _out_of_order(ctx: Context, seq: int, rid: str, h: bytes, sig_ok: LazySig) -> None:
    gap = next((g for g in ctx.missing if g[0] <= seq <= g[1]), None)
    if gap is not None and ctx.tree.holds(seq, h, ctx.anchor[0]) and sig_ok():
        ctx.missing.remove(gap)
        ctx.missing.extend(g for g in ((gap[0], seq - 1), (seq + 1, gap[1])) if g[0] <= g[1])
        ctx.rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) appears after later "
                    "records: records were moved")
        return
    what = (f"a second row claims seq {seq}" if seq >= 0 else f"a row claims the impossible seq {seq}")
    ctx.rep.add(seq, rid, "inserted", f"{what} (record {rid}): only one record can hold a "
                "position; it was inserted")


def step_coverage(ctx: Context) -> None:
    """Missing records are justified by a signed retention record, or named."""
    from .verify_summary import bundle_boundaries

    at_end: set[tuple[int, int]] = set()
    expected = ctx.seen[1] + 1 if ctx.seen else 0
    if ctx.tree.full and not ctx.ev.windowed and ctx.ev.period is None and expected < ctx.tree.size:
        gap = (expected, ctx.tree.size - 1)
        ctx.missing.append(gap)
        at_end.add(gap)
    used: set[int] = set()
    for a, b in sorted(ctx.missing):
        _gap(ctx, a, b, (a, b) in at_end, used)
    for seq, rule in ctx.rules:
        if seq in used or (ctx.ev.period is not None and _overlaps(rule, ctx.seen)):
            ctx.rep.add(rule.ranges[0][0], None, "pruned", rule.summary())
    if ctx.ev.period is not None:
        bundle_boundaries(ctx)


def _overlaps(rule: Any, seen: tuple[int, int] | None) -> bool:
    return seen is not None and any(a <= seen[1] and b >= seen[0] for a, b in rule.ranges)


def _gap(ctx: Context, a: int, b: int, at_end: bool, used: set[int]) -> None:
    covered = sorted((ra, rb, seq) for seq, rule in ctx.rules for ra, rb in rule.ranges
                     if rb >= a and ra <= b and seq > rb)
    cur = a
    for ra, rb, seq in covered:
        if ra > cur:
            _missing(ctx, cur, ra - 1, at_end=False)
        used.add(seq)
        cur = max(cur, rb + 1)
    if cur <= b:
        _missing(ctx, cur, b, at_end=at_end)


def _missing(ctx: Context, a: int, b: int, *, at_end: bool) -> None:
    claim = any(p.from_seq <= b and p.to_seq >= a for p in ctx.ev.pruned_claims)
    if claim:
        ctx.rep.add(a, None, "deleted", f"records {a}..{b} are missing; the unsigned `pruned` "
                    "list says retention removed them, but no signed retention record covers "
                    "them: they were deleted and the claim added")
    elif at_end:
        ctx.rep.add(a, None, "truncated", f"records {a}..{b} are missing at the end of the "
                    "ledger although the tree holds leaves for them: the tail was cut; restore "
                    "it from a backup or the latest auditor bundle")
    else:
        ctx.rep.add(a, None, "deleted", f"records {a}..{b} are missing and no signed retention "
                    "record covers them: they were deleted")
