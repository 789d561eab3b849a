"""Trust anchors from outside the ledger, and the verifier steps that use them.

* **keys**: the auditor's public keys (``--trusted-keys DIR|FILE``). Keys the
  ledger or a bundle carries are material to check, never a root of trust: a
  key is accepted only if it is trusted or endorsed by an accepted key through
  a signed key-endorsement record that precedes its first use.
* **trusted checkpoint** (``--trusted-checkpoint FILE``): a C2SP checkpoint the
  auditor kept; the ledger must be a consistent extension of it (RFC 9162).
* **witnesses** (``--witness-key VKEY``): the latest checkpoint the verifier
  anchors on must carry that witness's cosignature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import merkle
from . import note as notes
from .errors import LedgerError
from .keys import Keyring, PublicKeyInfo, key_id_of
from .sign import KEY_ENDORSEMENT, decode_record
from .statements import Endorsement, endorsement_from_json

if TYPE_CHECKING:
    from .verify_context import Context


@dataclass(frozen=True)
class TrustAnchors:
    """What the verifier trusts, all from outside the evidence."""

    keys: Mapping[str, PublicKeyInfo]
    source: str                              # where the keys came from, said in every result
    checkpoint: str | None = None            # a trusted C2SP checkpoint note (text)
    witnesses: tuple[notes.Verifier, ...] = ()

    @classmethod
    def of(cls, keyring: Keyring, source: str, *, checkpoint: str | None = None,
           witnesses: tuple[notes.Verifier, ...] = ()) -> TrustAnchors:
        return cls(dict(keyring.public), source, checkpoint, witnesses)


def load_anchors(*, trusted_keys: str | None, trusted_checkpoint: str | None = None,
                 witness_keys: tuple[str, ...] = (), fallback_dir: str | None = None,
                 fallback: str | None = None) -> TrustAnchors:
    """Anchors from what the auditor passes; ``fallback_dir`` (the operator's key
    directory) only when no --trusted-keys is given, and the result says so."""
    from .keys import load_dir, load_trusted

    if trusted_keys:
        ring, source = load_trusted(trusted_keys), f"trusted keys {trusted_keys}"
    elif fallback_dir is not None:
        ring = load_dir(fallback_dir, require_private=False).public_only()
        source = f"the operator's key directory {fallback_dir} (not independent of the operator)"
    elif fallback is not None:
        return TrustAnchors({}, fallback, trusted_checkpoint,
                            tuple(notes.parse_vkey(v) for v in witness_keys))
    else:
        raise LedgerError("verification needs the public keys you trust: pass --trusted-keys "
                          "DIR|FILE (a directory of <key_id>.pub files, or a key manifest)")
    return TrustAnchors.of(ring, source, checkpoint=trusted_checkpoint,
                           witnesses=tuple(notes.parse_vkey(v) for v in witness_keys))


@dataclass
class KeyChain:
    """Accepted keys and from which ledger position each may sign (-1: trusted)."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    since: dict[str, int] = field(default_factory=dict)

    def valid_for_record(self, kid: str, seq: int) -> bool:
        # <=: the record holding the endorsement may itself be signed by the successor
        # (offline rotation); its authority is the retiring key's inner signature
        s = self.since.get(kid)
        return s is not None and s <= seq

    def valid_for_head(self, kid: str, tree_size: int) -> bool:
        s = self.since.get(kid)
        return s is not None and s < tree_size


def step_keys(ctx: Context) -> None:
    """Build the key chain: trusted keys, then endorsements in ledger order."""
    chain = ctx.chain
    for kid, info in ctx.anchors.keys.items():
        chain.keys[kid] = info.public_key
        chain.since[kid] = -1
    for seq, payload, _sig, _kid, _leaf in ctx.ev.statements:
        try:
            rec = decode_record(payload)
        except Exception:  # noqa: BLE001 - the statements step names the damage
            continue
        if rec.get("kind") != KEY_ENDORSEMENT:
            continue
        _endorse(ctx, seq, rec)
    material = sorted({i.key_id for i in ctx.ev.material_keys} - set(chain.keys))
    for kid in material:
        ctx.rep.add(None, None, "material-key", f"key {kid} is listed by the {ctx.ev.source} but "
                    "is neither trusted nor endorsed by a trusted key; it is not used as a "
                    "root of trust")


def _endorse(ctx: Context, seq: int, rec: Mapping[str, Any]) -> None:
    try:
        e: Endorsement = endorsement_from_json(rec.get("metadata") or {})
    except LedgerError as exc:
        ctx.rep.add(seq, rec.get("record_id"), "unendorsed-key",
                    f"key-endorsement record at seq {seq} is unreadable: {exc}")
        return
    retiring = ctx.chain.keys.get(e.retiring_key_id)
    if retiring is None or not ctx.chain.valid_for_record(e.retiring_key_id, seq):
        ctx.rep.add(seq, rec.get("record_id"), "unendorsed-key",
                    f"key {e.successor_key_id} is endorsed at seq {seq} by key "
                    f"{e.retiring_key_id}, which itself has no endorsement chain from a "
                    f"trusted key ({ctx.anchors.source})")
        return
    if not e.signed_by(retiring):
        ctx.rep.add(seq, rec.get("record_id"), "unendorsed-key",
                    f"the endorsement of key {e.successor_key_id} at seq {seq} does not carry "
                    f"a valid signature by the retiring key {e.retiring_key_id}: it was forged")
        return
    if e.successor_key_id not in ctx.chain.keys:
        ctx.chain.keys[e.successor_key_id] = e.successor()
        ctx.chain.since[e.successor_key_id] = seq
        ctx.rep.assurance.endorsed_keys.append(
            f"{e.successor_key_id} (endorsed by {e.retiring_key_id} at seq {seq})")


def unendorsed_message(ctx: Context, kid: str, what: str) -> str:
    """Why ``kid`` may not sign ``what``."""
    if kid in ctx.chain.since:
        return (f"{what} is signed by key {kid}, which was endorsed only at seq "
                f"{ctx.chain.since[kid]}, after this use")
    return (f"{what} is signed by key {kid}, which has no endorsement chain from a trusted "
            f"key ({ctx.anchors.source}): it was added without the retiring key's consent")


def head_note_verifies(ctx: Context, kid: str, note_text: str, size: int,
                       root: bytes) -> str | None:
    """None if the checkpoint's C2SP note is signed by ``kid`` and states (size, root)."""
    try:
        body, sigs = notes.split_note(note_text)
        cp = notes.parse_checkpoint(body)
    except notes.NoteError as exc:
        return f"its signed note is malformed ({exc})"
    if (cp.tree_size, cp.root_hash) != (size, root):
        return f"its signed note states size {cp.tree_size}, not {size}, or another root"
    v = notes.Verifier(cp.origin, notes.SIG_ED25519, ctx.chain.keys[kid])
    if not notes.verify_note(body, sigs, v):
        return f"its signed note carries no valid signature by {kid}"
    return None


def step_witnesses(ctx: Context) -> None:
    """Each required witness must have cosigned a checkpoint the tree reproduces; the
    anchor moves back to the largest one every witness cosigned."""
    if not ctx.anchors.witnesses:
        return
    witnessed = min((_witnessed_size(ctx, w) for w in ctx.anchors.witnesses), default=0)
    if witnessed < ctx.anchor[0]:
        ctx.rep.add(witnessed, None, "not-witnessed",
                    f"records {witnessed}..{ctx.anchor[0] - 1} are covered by a signed "
                    "checkpoint that the required witnesses have not cosigned (yet); their "
                    "signatures are checked individually")
        roots = {s: r for s, r, _ in ctx.heads}
        ctx.anchor = (witnessed, roots.get(witnessed, merkle.EMPTY_ROOT))


def _witnessed_size(ctx: Context, w: notes.Verifier) -> int:
    best = 0
    good = {s for s, _, _ in ctx.heads}
    for size, note_body in ctx.head_bodies.items():
        lines = ctx.ev.cosignatures.get(size) or ()
        try:
            sigs = [s for ln in lines for s in notes.split_note("x\n\n" + ln.rstrip("\n") + "\n")[1]]
        except notes.NoteError:
            continue
        if notes.verify_cosignature(note_body, sigs, w) is None:
            continue
        if size in good and size <= ctx.anchor[0]:
            best = max(best, size)
        elif size not in good:
            ctx.rep.add(None, None, "forked", f"witness {w.name} cosigned tree size {size}, "
                        "which this evidence does not reproduce: the history it saw was "
                        "rewritten")
    ctx.rep.assurance.witnesses.append({"name": w.name, "cosigned_size": best})
    if best == 0:
        ctx.rep.add(None, None, "unwitnessed", f"no checkpoint here carries a valid cosignature "
                    f"by the required witness {w.name}: nothing proves the witness saw this "
                    "history (add the witness to the ledger config, or check its key)")
    return best


def trusted_checkpoint(ctx: Context) -> tuple[int, bytes] | None:
    """Parse and authenticate the trusted checkpoint; None (with a problem) if it fails."""
    text = ctx.anchors.checkpoint
    if text is None:
        return None
    try:
        body, sigs = notes.split_note(text)
        cp = notes.parse_checkpoint(body)
    except notes.NoteError as exc:
        raise LedgerError(f"the trusted checkpoint is not a C2SP checkpoint: {exc}") from exc
    signed = any(notes.verify_note(body, sigs, notes.Verifier(cp.origin, notes.SIG_ED25519, k))
                 for k in ctx.chain.keys.values())
    if not signed:
        ctx.rep.add(None, None, "forged-checkpoint", f"the trusted checkpoint (size {cp.tree_size})"
                    " is not signed by a trusted or endorsed key")
        return None
    for w in ctx.anchors.witnesses:
        if notes.verify_cosignature(body, sigs, w) is None:
            ctx.rep.add(None, None, "unwitnessed", f"the trusted checkpoint (size "
                        f"{cp.tree_size}) carries no valid cosignature by witness {w.name}")
    if ctx.ev.ledger_id is not None and cp.origin != f"ledgergate/{ctx.ev.ledger_id}":
        ctx.rep.add(None, None, "forked", f"the trusted checkpoint is for log {cp.origin!r}, "
                    f"not ledgergate/{ctx.ev.ledger_id}")
        return None
    return cp.tree_size, cp.root_hash


def step_trusted_checkpoint(ctx: Context) -> None:
    """The evidence must be a consistent extension of the trusted checkpoint."""
    tc = trusted_checkpoint(ctx)
    if tc is None:
        return
    m, root_m = tc
    have = max(ctx.anchor[0], ctx.tree.size if ctx.tree.full else 0)
    ctx.rep.assurance.trusted_checkpoint = {"tree_size": m, "consistent": False}
    if m > have:
        ctx.rep.add(have, None, "rolled-back",
                    f"the trusted checkpoint covers {m} records but this {ctx.ev.source} proves "
                    f"only {have}: records {have}..{m - 1} were removed together with their "
                    "leaves and checkpoints (rolled back)")
        return
    n, root_n = ctx.anchor if ctx.anchor[0] >= m else (have, ctx.root_at(have))
    if m == 0:
        ok = True
    else:
        proof = ctx.tree.consistency(m, n) if m < n else []
        ok = proof is not None and merkle.verify_consistency(m, n, root_m, root_n, proof)
    if not ok:
        ctx.rep.add(None, None, "forked",
                    f"this {ctx.ev.source} at size {n} is not a consistent extension of the "
                    f"trusted checkpoint at size {m} (RFC 9162 consistency proof fails): "
                    f"records before {m} were changed after the auditor took that checkpoint")
        return
    ctx.rep.assurance.trusted_checkpoint = {"tree_size": m, "consistent": True,
                                            "proven_to": n}


def key_ids_of(keys: Mapping[str, Ed25519PublicKey]) -> list[str]:
    return sorted(key_id_of(k) for k in keys.values())
