"""The last verifier steps: a bundle's completeness, and what the result establishes. Pure."""

from __future__ import annotations

from typing import Any

from . import merkle
from .sign import audit_header, decode_record
from .verify_context import Context


def _context_times(ctx: Context) -> dict[int, int]:
    """recorded_at_us of each context record that is proven in the tree and validly signed."""
    out: dict[int, int] = {}
    for seq, payload, sig, kid, _ in ctx.ev.context:
        pub = ctx.chain.keys.get(kid)
        try:
            p_seq = audit_header(payload)[2]
            ok = (p_seq == seq and pub is not None and ctx.chain.valid_for_record(kid, seq)
                  and ctx.tree.holds(seq, merkle.leaf_hash(payload), ctx.anchor[0]) is True)
            if ok:
                pub.verify(sig, payload)  # type: ignore[union-attr]
                out[seq] = int(decode_record(payload)["recorded_at_us"])
            else:
                ctx.rep.add(seq, None, "changed-field", f"the bundle's boundary record at seq "
                            f"{seq} is not proven in the signed tree or not validly signed")
        except Exception:  # noqa: BLE001 - InvalidSignature or unreadable bytes
            ctx.rep.add(seq, None, "changed-field", f"the bundle's boundary record at seq {seq} "
                        "is altered: its signature or bytes do not check out")
    return out


def _pruned(ctx: Context, seq: int) -> bool:
    return any(rule.covers(seq) for _, rule in ctx.rules)


def bundle_boundaries(ctx: Context) -> None:
    """The records just outside the period prove nothing of it was left out at either end."""
    period = ctx.ev.period
    assert period is not None  # noqa: S101 - only called for bundles
    times = _context_times(ctx)
    if ctx.seen is None:
        return
    first, last = ctx.seen
    if first > 0 and not _pruned(ctx, first - 1):
        t = times.get(first - 1)
        if t is None:
            ctx.rep.add(first - 1, None, "incomplete", f"nothing proves record {first - 1} lies "
                        f"before the period: record(s) before seq {first} may have been dropped "
                        "from the start of the bundle")
        elif period.contains(t):
            ctx.rep.add(first - 1, None, "incomplete", f"record {first - 1} (recorded_at_us {t})"
                        " lies inside the period but is not in the bundle: it was dropped from "
                        "the start")
    size = ctx.tree.size
    if last + 1 < size and not _pruned(ctx, last + 1):
        t = times.get(last + 1)
        if t is None:
            ctx.rep.add(last + 1, None, "incomplete", f"nothing proves record {last + 1} lies "
                        f"after the period: record(s) after seq {last} may have been dropped "
                        "from the end of the bundle")
        elif period.contains(t):
            ctx.rep.add(last + 1, None, "incomplete", f"record {last + 1} (recorded_at_us {t}) "
                        "lies inside the period but is not in the bundle: it was dropped from "
                        "the end")
    if last + 1 > size:
        ctx.rep.add(size, None, "uncovered", f"records {size}..{last} come after the bundle's "
                    "latest checkpoint; their signatures were checked, but no checkpoint proves "
                    "nothing after them was left out")


def step_assurance(ctx: Context) -> None:
    """Say what this result establishes and what it does not."""
    a = ctx.rep.assurance
    ctx.rep.anchor_size = ctx.anchor[0]
    a.trust_anchor = ctx.anchors.source
    a.trusted_keys = sorted(ctx.anchors.keys)
    yes, no = a.establishes, a.does_not_establish
    n, anchor = ctx.rep.records_checked, ctx.anchor[0]
    yes.append(f"internal consistency: the {n:,} records read are exactly what the signed "
               f"checkpoints commit to (up to tree size {anchor:,}), in order and unchanged, "
               "and every missing record is covered by a signed retention record")
    yes.append(f"signatures ({ctx.rep.signature_mode_text()}); every signing key chains to a "
               f"trusted key ({ctx.anchors.source})")
    tc = a.trusted_checkpoint
    if tc and tc.get("consistent"):
        yes.append(f"consistency with the trusted checkpoint at size {tc['tree_size']:,}: "
                   "nothing it covers was changed or rolled back")
    for w in a.witnesses:
        if w["cosigned_size"]:
            yes.append(f"witness {w['name']} cosigned the history up to size "
                       f"{w['cosigned_size']:,}: it is the one the witness saw")
    if not tc and not a.witnesses:
        no.append("freshness: without --trusted-checkpoint or --witness-key, a ledger rolled "
                  "back to an earlier state, or a different history shown to someone else, "
                  "verifies the same")
    if ctx.tree.full and ctx.tree.size > anchor:
        no.append(f"records after the latest valid checkpoint ({ctx.tree.size - anchor:,}) are "
                  "signed but no checkpoint vouches that none was removed before it was written")
    if ctx.rep.signature_mode == "anchored":
        no.append("who signed each covered record individually (only a sample of their "
                  "signatures was checked; use --all-signatures for attribution of each)")
    no.append("that the recorded events are true: only that the records are those the "
              "ledger signed")
    if "operator" in ctx.anchors.source or "self-certified" in ctx.anchors.source:
        no.append("independence from the operator: the trusted keys came from the operator's "
                  "own key directory; pass --trusted-keys with the keys you hold")


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The human lines every verify output ends with (CLI and reports)."""
    a = result.get("assurance") or {}
    lines = [f"signature mode: {result.get('signature_mode_text') or result.get('signature_mode')}",
             f"trust anchor: {a.get('trust_anchor') or 'none given'}"]
    lines += [f"verified: {x}" for x in a.get("establishes") or []]
    lines += [f"not established: {x}" for x in a.get("does_not_establish") or []]
    return lines
