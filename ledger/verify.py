"""Ledger verification. Pure: takes iterables and values, touches no database or file.

What is checked, and how a finding is named:

* every payload is hashed (SHA-256) to its leaf and must equal the tree's leaf
  at its position; its signed ``seq`` is its position, its ``prev_leaf_hash`` is
  the previous leaf, its signed ``key_id`` equals the row's and is in the
  trusted keyring — a payload that no longer matches its leaf is a
  ``changed-field`` (or ``inserted`` if it is validly signed), an authentic
  record at the wrong position is ``reordered``, a record the tree never held
  (or a second row at one position) is ``inserted``, a key outside the keyring
  is ``unknown-key``;
* seq continuity — a gap is ``deleted`` (or ``pruned``, informational, when
  retention recorded it), missing records at the end are ``truncated``;
* every checkpoint's signature, and its root against the root recomputed from
  all leaves — ``forged-checkpoint``; a signed size beyond the stored leaves is
  ``truncated``;
* the derived query columns against the fully decoded payload — ``changed-field``
  naming the record and the field (reports are built from these columns);
* record signatures, as chosen by ``signatures`` — ``bad-signature``.

Checkpoint-anchored signatures (``signatures="anchored"``, the default)
--------------------------------------------------------------------------
Ed25519 verification costs ~125 µs a record here, SHA-256 of a payload ~1 µs, so
checking every record signature caps verify at ~8k records/s per core. It is
also redundant for tamper evidence once a signed checkpoint covers a record:

1. every leaf is recomputed from the stored payload bytes, never read from a
   column;
2. the Merkle root over those leaves is recomputed and must equal the root of
   every validly signed checkpoint (checkpoint signatures are always verified);
3. each payload's seq, prev_leaf_hash and key_id are parsed and checked, and
   the key must be in the trusted keyring.

So a record below the last valid checkpoint's size (the *anchor*) cannot be
changed, removed, moved or added without a SHA-256 second preimage/collision or
a forged checkpoint signature; its own signature adds attribution (who wrote
it), not tamper evidence. Anchored mode therefore verifies individual
signatures only for

* the uncovered tail (seq >= anchor), which no checkpoint vouches for yet;
* a deterministic random sample of covered records (``sample_rate``, default
  1 %), drawn from a seed derived from the anchor root (or ``sample_seed``).
  This is the defence against a history that is hash-consistent but forged —
  e.g. rebuilt by someone holding a checkpoint-signing key but unable or
  unwilling to re-sign every record: with m records carrying bad signatures
  the sample misses all of them with probability (1 - rate)^m (1 % sample:
  m = 300 → 5 %, m = 460 → 1 %). The sample is fixed by the root so repeated
  runs agree; because the forger chooses the history and hence the root, they
  can grind for a root whose sample avoids a *few* forged records — an auditor
  who wants an unpredictable sample passes their own ``sample_seed``;
* any record that looks wrong on the cheap checks (leaf mismatch, wrong
  position, …), whose signature decides between ``changed-field``,
  ``inserted`` and ``reordered`` exactly as in full mode.

What only ``signatures="all"`` finds: a signature byte altered (or replaced by
garbage) on a covered, unsampled record whose payload is intact. That is not
a change of content — the payload is still the one the tree and the signed
checkpoint vouch for — but it does lose attribution of that one record, and
``all`` names it ``bad-signature``. In anchored mode ``bad-signature`` is still
found for records in the tail or in the sample.

Cheap checks read only the five writer fields at the front of each payload
(:func:`ledgergate.ledger.sign.audit_header`, no full Avro decode). The column
check cannot: the derived columns come from fields all over the record, and
the honest check recomputes them from the payload (``derive_columns`` of a full
decode, ~30 µs + ~20 µs a record, plus ~20 µs to fetch the columns — most of
verify's cost). It runs per chunk in this process (handing rows to worker
processes cost as much in pickling as it saved) and is counted separately
(``columns_checked``); ``columns=None`` skips it (windowed verifies, or an
integrity-only pass whose rate the bench reports on its own line).
"""

from __future__ import annotations

import json
import math
import os
import random
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Protocol, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import merkle
from .errors import LedgerError
from .keys import Keyring, raw_public
from .sign import (
    DERIVED_COLUMNS,
    ZERO_HASH_HEX,
    audit_header,
    decode_checkpoint,
    decode_record,
    derive_columns,
)

SignatureMode = Literal["anchored", "all"]
SIGNATURE_MODES: tuple[str, ...] = ("anchored", "all")
DEFAULT_SAMPLE_RATE = 0.01

PROBLEM_KINDS = ("changed-field", "bad-signature", "deleted", "inserted", "reordered",
                 "truncated", "forged-checkpoint", "unknown-key")
INFO_KINDS = ("pruned",)


@dataclass(frozen=True)
class Problem:
    """One finding. ``seq``/``record_id`` are None for tree- or checkpoint-level findings."""

    seq: int | None
    record_id: str | None
    kind: str
    message: str


@dataclass
class VerifyReport:
    """The outcome of a verification. ``ok`` ignores informational (pruned) entries."""

    problems: list[Problem] = field(default_factory=list)
    info: list[Problem] = field(default_factory=list)
    records_checked: int = 0
    signatures_checked: int = 0
    tree_size: int = 0
    checkpoints_checked: int = 0
    columns_checked: int = 0
    signature_mode: str = "all"
    anchor_size: int = 0       # records below this are covered by a valid signed checkpoint

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the CLI and bundles."""
        return {"ok": self.ok, "records_checked": self.records_checked,
                "signatures_checked": self.signatures_checked, "tree_size": self.tree_size,
                "checkpoints_checked": self.checkpoints_checked,
                "columns_checked": self.columns_checked,
                "signature_mode": self.signature_mode, "anchor_size": self.anchor_size,
                "problems": [p.__dict__ for p in self.problems],
                "info": [p.__dict__ for p in self.info]}


class CheckpointLike(Protocol):
    tree_size: int
    root_hash: str
    at_us: int
    key_id: str
    payload: bytes
    signature: bytes


class PrunedLike(Protocol):
    from_seq: int
    to_seq: int


RecordTuple = tuple[int, bytes, bytes, str, bytes]


# --- signature checking (optionally on several processes) -----------------------

_WORKER_KEYS: dict[str, Ed25519PublicKey] = {}


def _init_worker(raw_keys: dict[str, bytes]) -> None:
    global _WORKER_KEYS
    _WORKER_KEYS = {k: Ed25519PublicKey.from_public_bytes(v) for k, v in raw_keys.items()}


def _check_chunk(items: list[tuple[str, bytes, bytes]]) -> list[bool]:
    return _check(_WORKER_KEYS, items)


def _check(keys: Mapping[str, Ed25519PublicKey],
           items: Sequence[tuple[str, bytes, bytes]]) -> list[bool]:
    out = []
    for kid, payload, sig in items:
        pub = keys.get(kid)
        if pub is None:
            out.append(False)
            continue
        try:
            pub.verify(sig, payload)
            out.append(True)
        except InvalidSignature:
            out.append(False)
    return out


ColumnItem = tuple[int, bytes, Mapping[str, Any]]


def _columns_chunk(items: Sequence[ColumnItem]) -> list[tuple[int, list[str]]]:
    """(seq, names of disagreeing columns) for each row whose columns do not match its payload."""
    out: list[tuple[int, list[str]]] = []
    for seq, payload, cols in items:
        try:
            rec = decode_record(payload)
        except Exception:  # noqa: BLE001 - any decode failure means the bytes are not a record
            out.append((seq, ["payload"]))
            continue
        bad = column_mismatches(rec, cols)
        if bad:
            out.append((seq, bad))
    return out


class _SigChecker:
    """Runs signature checks, on worker processes when ``workers`` > 1.

    Ed25519 verification (~120 µs) is the cost floor and holds the GIL, so
    parallelism needs processes. Small batches stay in-process: a pool round
    trip costs more. (The column check stays in-process: shipping a row's
    columns to a worker cost about as much as decoding its payload here.)
    """

    def __init__(self, keyring: Keyring, workers: int) -> None:
        self._keys = {k: i.public_key for k, i in keyring.public.items()}
        self._workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _map(self, fn: Callable[[Any], list[Any]], items: list[Any]) -> list[Any]:
        if self._pool is None:
            raw = {k: raw_public(v) for k, v in self._keys.items()}
            self._pool = ProcessPoolExecutor(self._workers, initializer=_init_worker,
                                             initargs=(raw,))
        step = math.ceil(len(items) / (self._workers * 4))
        parts = [items[i:i + step] for i in range(0, len(items), step)]
        out: list[Any] = []
        for res in self._pool.map(fn, parts):
            out.extend(res)
        return out

    def check(self, items: list[tuple[str, bytes, bytes]]) -> list[bool]:
        """Validity of each (key_id, payload, signature)."""
        if self._workers == 1 or len(items) < 2000:
            return _check(self._keys, items)
        return self._map(_check_chunk, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def default_workers() -> int:
    """Processes to verify signatures with: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def check_signature_mode(signatures: str) -> str:
    """``signatures`` if it is a known mode, else a LedgerError saying which exist."""
    if signatures not in SIGNATURE_MODES:
        raise LedgerError(f"signature mode {signatures!r} is not one of "
                          f"{', '.join(SIGNATURE_MODES)}: 'anchored' checks the signatures of "
                          "records no checkpoint covers plus a sample, 'all' checks every one")
    return signatures


def signature_sample(anchor_size: int, anchor_root: bytes, rate: float = DEFAULT_SAMPLE_RATE,
                     seed: bytes | None = None) -> frozenset[int]:
    """The covered seqs (< ``anchor_size``) whose signatures anchored mode checks.

    ceil(rate × anchor_size) distinct positions drawn by a PRNG seeded with
    ``seed`` or, by default, the anchor root: the same ledger always yields the
    same sample (reproducible findings), and the sample is unknown until the
    history — and so its root — is fixed.
    """
    if not 0.0 <= rate <= 1.0:
        raise LedgerError(f"signature sample rate {rate!r} is outside [0, 1]: use e.g. 0.01 for 1 %")
    if anchor_size <= 0 or rate == 0.0:
        return frozenset()
    k = min(anchor_size, math.ceil(rate * anchor_size))
    rng = random.Random(b"ledgergate-sample\x00" + (seed if seed is not None else anchor_root))
    return frozenset(rng.sample(range(anchor_size), k))


# --- column comparison ----------------------------------------------------------


def _norm(name: str, value: Any) -> Any:
    if name == "metadata":
        if value is None:
            return {}
        return json.loads(value) if isinstance(value, str) else dict(value)
    if name in ("roles", "categories", "entity_types"):
        return list(value or [])
    return value


def column_mismatches(rec: Mapping[str, Any], columns: Mapping[str, Any],
                      leaf: bytes | None = None) -> list[str]:
    """Names of the derived columns that disagree with the decoded payload ``rec``."""
    want = derive_columns(rec)
    # Plain equality first (metadata is stored as the same canonical JSON text);
    # only a column that differs as stored is normalised, so an equivalent
    # re-spelling (e.g. JSON whitespace) is not reported.
    bad = [n for n in DERIVED_COLUMNS if n in columns and columns[n] != want[n]
           and _norm(n, columns[n]) != _norm(n, want[n])]
    if "recorded_at_col_us" in columns and columns["recorded_at_col_us"] != rec["recorded_at_us"]:
        bad.append("recorded_at")
    return bad


# --- the verifier ------------------------------------------------------------------


def verify(records: Iterable[RecordTuple], leaves: Sequence[tuple[int, bytes]],
           checkpoints: Sequence[CheckpointLike], keyring: Keyring,
           pruned_ranges: Sequence[PrunedLike] = (),
           columns: Iterable[Mapping[str, Any]] | None = None, *,
           ledger_id: str | None = None, workers: int = 1,
           chunk: int = 20_000, signatures: SignatureMode | str = "anchored",
           sample_rate: float = DEFAULT_SAMPLE_RATE,
           sample_seed: bytes | None = None) -> VerifyReport:
    """Verify a ledger given as plain data; see the module docstring for what is checked.

    ``records`` yields (seq, payload, signature, key_id, leaf_hash) in seq order;
    ``leaves`` is every stored (seq, leaf_hash); ``columns`` optionally yields the
    derived columns of each row (with ``seq``) in seq order. ``signatures``:
    ``"anchored"`` (default) or ``"all"``; ``sample_rate``/``sample_seed`` shape
    anchored mode's sample. ``workers`` > 1 checks the signatures that are due on
    that many processes.
    """
    mode = check_signature_mode(signatures)
    rep = VerifyReport(signature_mode=mode)
    tree = _check_leaves(leaves, rep)
    rep.tree_size = len(tree)
    anchor, anchor_root = _check_checkpoints(tree, checkpoints, keyring, ledger_id, rep)
    rep.anchor_size = anchor
    if mode == "all":
        covered_unchecked = 0  # every record's signature is checked
        sample: frozenset[int] = frozenset()
    else:
        covered_unchecked = anchor
        sample = signature_sample(anchor, anchor_root, sample_rate, sample_seed)

    pruned = sorted((p.from_seq, p.to_seq) for p in pruned_ranges)
    col_iter: Iterator[Mapping[str, Any]] | None = iter(columns) if columns is not None else None
    pending_col: list[Mapping[str, Any] | None] = [None]

    def next_columns(seq: int) -> Mapping[str, Any] | None:
        if col_iter is None:
            return None
        cur = pending_col[0]
        while cur is None or cur["seq"] < seq:
            cur = next(col_iter, None)
            if cur is None:
                pending_col[0] = None
                return None
        pending_col[0] = cur
        return cur if cur["seq"] == seq else None

    checker = _SigChecker(keyring, workers)
    expected = 0
    prev_hash: bytes | None = None  # hash of the previous row's payload, for tails beyond the tree
    try:
        it = iter(records)
        while True:
            batch = [r for _, r in zip(range(chunk), it)]
            if not batch:
                break
            # Signatures due up front (tail + sample, or all) go to the pool in one
            # go; any other record's signature is checked only if a cheap check
            # fails, where it decides how the finding is named.
            due = [i for i, r in enumerate(batch)
                   if r[0] >= covered_unchecked or r[0] in sample or r[0] < 0]
            oks = checker.check([(batch[i][3], batch[i][1], batch[i][2]) for i in due])
            sig_of: dict[int, bool] = dict(zip(due, oks))
            rep.signatures_checked += len(due)
            col_items: list[ColumnItem] = []
            col_rows: dict[int, tuple[str, Mapping[str, Any]]] = {}
            for i, (seq, payload, sig, kid, leaf_col) in enumerate(batch):
                if seq < expected:
                    rid = _rid_of(payload)
                    what = (f"a second row claims seq {seq}" if seq >= 0 else
                            f"a row claims the impossible seq {seq}")
                    rep.add(seq, rid, "inserted", f"{what} (record {rid}): only one record "
                            "can hold a position; it was inserted")
                    rep.records_checked += 1
                    continue
                if seq > expected:
                    _gap(expected, seq - 1, pruned, rep, at_end=False)
                expected = seq + 1
                cols = next_columns(seq)
                lazy = _LazySig(keyring, kid, payload, sig, sig_of.get(i), rep)
                prev_hash, rid = _check_record(seq, payload, kid, leaf_col, lazy, tree, keyring,
                                               ledger_id, cols, prev_hash, rep)
                if cols is not None and rid is not None:
                    col_items.append((seq, payload, cols))
                    col_rows[seq] = (rid, cols)
                rep.records_checked += 1
            _report_columns(_columns_chunk(col_items), col_rows, rep)
            rep.columns_checked += len(col_items)
    finally:
        checker.close()
    if expected < len(tree):
        _gap(expected, len(tree) - 1, pruned, rep, at_end=True)
    rep.problems.sort(key=lambda p: (p.seq is None, p.seq if p.seq is not None else 0))
    return rep


def _report_columns(mismatches: list[tuple[int, list[str]]],
                    col_rows: Mapping[int, tuple[str, Mapping[str, Any]]],
                    rep: VerifyReport) -> None:
    for seq, bad in mismatches:
        rid, cols = col_rows[seq]
        for name in bad:
            value = cols.get(name, cols.get("recorded_at_col_us"))
            rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): column {name}="
                    f"{value!r} disagrees with the signed payload; run reports from the "
                    "payload or restore the row")


class _LazySig:
    """A record's signature validity, verified on first use unless already known."""

    __slots__ = ("_keyring", "_kid", "_payload", "_sig", "known", "_rep")

    def __init__(self, keyring: Keyring, kid: str, payload: bytes, sig: bytes,
                 known: bool | None, rep: VerifyReport) -> None:
        self._keyring, self._kid, self._payload, self._sig = keyring, kid, payload, sig
        self.known = known
        self._rep = rep

    def __call__(self) -> bool:
        if self.known is None:
            self.known = self._keyring.verify(self._kid, self._sig, self._payload)
            self._rep.signatures_checked += 1
        return self.known


def _rid_of(payload: bytes) -> str | None:
    try:
        return audit_header(payload)[0]
    except Exception:  # noqa: BLE001 - garbage bytes have no record id
        return None


def _gap(a: int, b: int, pruned: list[tuple[int, int]], rep: VerifyReport, *,
         at_end: bool) -> None:
    """Report seqs a..b missing from records: pruned where recorded, else deleted/truncated."""
    cur = a
    for pa, pb in pruned:
        if pb < cur or pa > b:
            continue
        if pa > cur:
            _missing(cur, pa - 1, rep, at_end=False)
        lo, hi = max(pa, cur), min(pb, b)
        rep.add(lo, None, "pruned", f"records {lo}..{hi} were removed by retention; their "
                "leaves remain in the tree")
        cur = hi + 1
    if cur <= b:
        _missing(cur, b, rep, at_end=at_end)


def _missing(a: int, b: int, rep: VerifyReport, *, at_end: bool) -> None:
    if at_end:
        rep.add(a, None, "truncated", f"records {a}..{b} are missing at the end of the ledger "
                f"although the tree holds leaves for them: the tail was cut; restore it from "
                "a backup or the latest auditor bundle")
    else:
        rep.add(a, None, "deleted", f"records {a}..{b} are missing and no retention prune "
                "recorded them: they were deleted")


def _check_leaves(leaves: Sequence[tuple[int, bytes]], rep: VerifyReport) -> list[bytes]:
    """The tree's leaf list; a hole in the leaves table is itself a deletion."""
    out: list[bytes] = []
    for seq, h in leaves:
        if seq != len(out):
            rep.add(len(out), None, "deleted",
                    f"leaves {len(out)}..{seq - 1} are missing from the leaves table: the tree "
                    "was edited; every checkpoint after them will fail too")
            return out
        out.append(h)
    return out


def _check_checkpoints(tree: list[bytes], checkpoints: Sequence[CheckpointLike],
                       keyring: Keyring, ledger_id: str | None,
                       rep: VerifyReport) -> tuple[int, bytes]:
    """Check every checkpoint; returns the anchor: (size, root) of the largest validly
    signed checkpoint whose root the recomputed tree reproduces, or (0, EMPTY_ROOT)."""
    valid: list[tuple[int, bytes]] = []
    for cp in checkpoints:
        rep.checkpoints_checked += 1
        where = f"checkpoint at tree size {cp.tree_size}"
        try:
            body = decode_checkpoint(cp.payload)
        except Exception as exc:  # any decode failure means the bytes were replaced
            rep.add(None, None, "forged-checkpoint", f"{where}: payload is not a Checkpoint ({exc})")
            continue
        if keyring.public_key(cp.key_id) is None:
            rep.add(None, None, "forged-checkpoint",
                    f"{where} is signed by unknown key {cp.key_id!r}: expected one of "
                    f"{sorted(keyring.public)}")
            continue
        if not keyring.verify(cp.key_id, cp.signature, cp.payload):
            rep.add(None, None, "forged-checkpoint",
                    f"{where}: signature by {cp.key_id} does not cover its payload")
            continue
        fields = {"tree_size": cp.tree_size, "root_hash": cp.root_hash, "at_us": cp.at_us,
                  "key_id": cp.key_id}
        bad = [k for k, v in fields.items() if body[k] != v]
        if ledger_id is not None and body["ledger_id"] != ledger_id:
            bad.append("ledger_id")
        if bad:
            rep.add(None, None, "forged-checkpoint",
                    f"{where}: stored {', '.join(bad)} disagree(s) with the signed payload "
                    f"(signed: {', '.join(f'{k}={body[k]!r}' for k in bad)})")
            continue
        valid.append((int(body["tree_size"]), bytes.fromhex(body["root_hash"])))
    valid.sort()
    frontier = merkle.Frontier()
    anchor: tuple[int, bytes] = (0, merkle.EMPTY_ROOT)
    broken = False
    for size, root in valid:
        if size > len(tree):
            rep.add(size - 1, None, "truncated",
                    f"signed checkpoint covers {size} leaves but only {len(tree)} are stored: "
                    f"leaves {len(tree)}..{size - 1} were cut off")
            continue
        while frontier.size < size:
            frontier.append(tree[frontier.size])
        if frontier.root() != root:
            rep.add(None, None, "changed-field",
                    f"leaves 0..{size - 1} do not hash to the root {root.hex()} of the signed "
                    "checkpoint at that size: a leaf was changed, inserted or removed")
            # The tree no longer reproduces this signed head, so no checkpoint from
            # here on may anchor records: later ones extend the same broken tree.
            broken = True
        elif not broken:
            anchor = (size, root)
    return anchor


def _check_record(seq: int, payload: bytes, kid: str, leaf_col: bytes, sig_ok: _LazySig,
                  tree: list[bytes], keyring: Keyring, ledger_id: str | None,
                  cols: Mapping[str, Any] | None, prev_hash: bytes | None,
                  rep: VerifyReport) -> tuple[bytes, str | None]:
    """Cheap checks of one row; returns (its payload hash, its record id if the row's
    payload is the tree's leaf, i.e. its columns are worth checking, else None)."""
    h = merkle.leaf_hash(payload)
    tree_leaf = tree[seq] if 0 <= seq < len(tree) else None
    try:
        rid, p_ledger, p_seq, p_prev, p_kid = audit_header(payload)
    except Exception as exc:  # the stored bytes are not a record any more
        rep.add(seq, None, "changed-field", f"record {seq}: payload is not a valid AuditRecord "
                f"({exc}); it was overwritten")
        return h, None
    known_key = keyring.public_key(kid) is not None

    if p_seq != seq:
        if 0 <= p_seq < len(tree) and tree[p_seq] == h and sig_ok():
            rep.add(seq, rid, "reordered", f"record {rid} was signed as seq {p_seq} but is "
                    f"stored at seq {seq}: records were moved")
        else:
            rep.add(seq, rid, "inserted", f"row at seq {seq} holds record {rid} (signed seq "
                    f"{p_seq}) that the tree does not hold at either position: it was inserted")
        return h, None
    if not known_key:
        rep.add(seq, rid, "unknown-key", f"record {rid} (seq {seq}) is signed with key id "
                f"{kid!r}, which is not in the keyring {sorted(keyring.public)}: add the key's "
                "public part if it is genuine")
    elif keyring.public_key(p_kid) is None:
        rep.add(seq, rid, "unknown-key", f"record {rid} (seq {seq}) names signing key "
                f"{p_kid!r} in its payload, which is not in the keyring")
    if tree_leaf is None:
        rep.add(seq, rid, "inserted", f"record {rid} at seq {seq} is beyond the Merkle tree "
                f"({len(tree)} leaves): it was never appended by the writer")
        return h, None
    if h != tree_leaf:
        if not known_key or not sig_ok():
            fields: list[str] = []
            if cols is not None:
                try:
                    fields = column_mismatches(decode_record(payload), cols)
                except Exception:  # noqa: BLE001 - a hint only; the finding stands
                    fields = []
            hint = (f"; fields differing from the stored columns: {', '.join(fields)}"
                    if fields else "")
            rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): payload no longer "
                    f"matches its signature or its leaf in the tree{hint}")
        else:
            rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) is validly signed but is not "
                    "the record the tree holds at that position: it replaced the original")
        return h, None
    # sig_ok.known is None for a covered record outside the sample (anchored
    # mode): its content is vouched for by the checkpoint, see the docstring.
    if known_key and sig_ok.known is False:
        rep.add(seq, rid, "bad-signature", f"record {rid} (seq {seq}): signature by {kid} does "
                "not verify although the payload matches the tree: the signature was altered")
    if p_kid != kid:
        rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): key_id column {kid!r} "
                f"differs from the signed key_id {p_kid!r}")
    expected_prev = tree[seq - 1].hex() if seq else ZERO_HASH_HEX
    if p_prev != expected_prev:
        rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) chains to "
                f"{p_prev[:16]}…, not to leaf {seq - 1}: the chain was rebuilt")
    if ledger_id is not None and p_ledger != ledger_id:
        rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) belongs to ledger "
                f"{p_ledger!r}, not {ledger_id!r}")
    if leaf_col and leaf_col != h:
        rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): field leaf_hash "
                f"{leaf_col.hex()[:16]}… disagrees with the payload's hash {h.hex()[:16]}…")
    return h, rid
