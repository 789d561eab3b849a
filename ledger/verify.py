"""Ledger verification. Pure: takes iterables and values, touches no database or file.

What is checked, and how a finding is named:

* every record signature, with the record's own key id (so key rotation
  mid-stream verifies) — ``bad-signature`` / ``unknown-key``;
* the payload hashes to the tree's leaf at its position, its ``seq`` is its
  position and its ``prev_leaf_hash`` is the previous leaf — a payload that no
  longer matches its signature and leaf is a ``changed-field``; an authentic
  record at the wrong position is ``reordered``; a record the tree never held is
  ``inserted``;
* seq continuity — a gap is ``deleted`` (or ``pruned``, informational, when
  retention recorded it), missing records at the end are ``truncated``;
* every checkpoint's signature and its root against the root recomputed from
  the leaves — ``forged-checkpoint``; a signed size beyond the stored leaves is
  ``truncated``;
* the derived query columns against the payload — ``changed-field`` naming the
  record and the field.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import merkle
from .keys import Keyring, raw_public
from .sign import DERIVED_COLUMNS, ZERO_HASH_HEX, decode_checkpoint, decode_record, derive_columns

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


class _SigChecker:
    """Ed25519 verification is the cost floor (~120 µs each on the reference box) and
    `cryptography` holds the GIL while verifying, so parallelism needs processes."""

    def __init__(self, keyring: Keyring, workers: int) -> None:
        self._keys = {k: i.public_key for k, i in keyring.public.items()}
        self._workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def check(self, items: list[tuple[str, bytes, bytes]]) -> list[bool]:
        if self._workers == 1 or len(items) < 2000:
            return _check(self._keys, items)
        if self._pool is None:
            raw = {k: raw_public(v) for k, v in self._keys.items()}
            self._pool = ProcessPoolExecutor(self._workers, initializer=_init_worker,
                                             initargs=(raw,))
        step = math.ceil(len(items) / (self._workers * 4))
        parts = [items[i:i + step] for i in range(0, len(items), step)]
        out: list[bool] = []
        for res in self._pool.map(_check_chunk, parts):
            out.extend(res)
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


def default_workers() -> int:
    """Processes to verify signatures with: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


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
    bad = [n for n in DERIVED_COLUMNS if n in columns and _norm(n, columns[n]) != _norm(n, want[n])]
    if "recorded_at_col_us" in columns and columns["recorded_at_col_us"] != rec["recorded_at_us"]:
        bad.append("recorded_at")
    return bad


# --- the verifier ------------------------------------------------------------------


def verify(records: Iterable[RecordTuple], leaves: Sequence[tuple[int, bytes]],
           checkpoints: Sequence[CheckpointLike], keyring: Keyring,
           pruned_ranges: Sequence[PrunedLike] = (),
           columns: Iterable[Mapping[str, Any]] | None = None, *,
           ledger_id: str | None = None, workers: int = 1,
           chunk: int = 20_000) -> VerifyReport:
    """Verify a ledger given as plain data; see the module docstring for what is checked.

    ``records`` yields (seq, payload, signature, key_id, leaf_hash) in seq order;
    ``leaves`` is every stored (seq, leaf_hash); ``columns`` optionally yields the
    derived columns of each row (with ``seq``) in seq order. ``workers`` > 1
    verifies signatures on that many processes.
    """
    rep = VerifyReport()
    tree = _check_leaves(leaves, rep)
    rep.tree_size = len(tree)
    _check_checkpoints(tree, checkpoints, keyring, ledger_id, rep)

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
            sig_ok = checker.check([(kid, p, s) for _, p, s, kid, _ in batch])
            rep.signatures_checked += len(batch)
            for (seq, payload, sig, kid, leaf_col), ok in zip(batch, sig_ok):
                if seq > expected:
                    _gap(expected, seq - 1, pruned, rep, at_end=False)
                expected = max(expected, seq + 1)
                prev_hash = _check_record(seq, payload, kid, leaf_col, ok, tree, keyring,
                                          ledger_id, next_columns(seq), prev_hash, rep)
                rep.records_checked += 1
    finally:
        checker.close()
    if expected < len(tree):
        _gap(expected, len(tree) - 1, pruned, rep, at_end=True)
    return rep


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
                       keyring: Keyring, ledger_id: str | None, rep: VerifyReport) -> None:
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


def _check_record(seq: int, payload: bytes, kid: str, leaf_col: bytes, sig_ok: bool,
                  tree: list[bytes], keyring: Keyring, ledger_id: str | None,
                  cols: Mapping[str, Any] | None, prev_hash: bytes | None,
                  rep: VerifyReport) -> bytes:
    h = merkle.leaf_hash(payload)
    tree_leaf = tree[seq] if seq < len(tree) else None
    try:
        rec = decode_record(payload)
    except Exception as exc:  # the stored bytes are not a record any more
        rep.add(seq, None, "changed-field", f"record {seq}: payload is not a valid AuditRecord "
                f"({exc}); it was overwritten")
        return h
    rid = rec["record_id"]
    p_seq = rec["seq"]
    known_key = keyring.public_key(kid) is not None

    if p_seq != seq:
        if p_seq < len(tree) and tree[p_seq] == h and sig_ok:
            rep.add(seq, rid, "reordered", f"record {rid} was signed as seq {p_seq} but is "
                    f"stored at seq {seq}: records were moved")
        else:
            rep.add(seq, rid, "inserted", f"row at seq {seq} holds record {rid} (signed seq "
                    f"{p_seq}) that the tree does not hold at either position: it was inserted")
        return h
    if not known_key:
        rep.add(seq, rid, "unknown-key", f"record {rid} (seq {seq}) is signed with key id "
                f"{kid!r}, which is not in the keyring {sorted(keyring.public)}: add the key's "
                "public part if it is genuine")
    if tree_leaf is None:
        rep.add(seq, rid, "inserted", f"record {rid} at seq {seq} is beyond the Merkle tree "
                f"({len(tree)} leaves): it was never appended by the writer")
        return h
    if h != tree_leaf:
        if not sig_ok or not known_key:
            fields = column_mismatches(rec, cols) if cols is not None else []
            hint = (f"; fields differing from the stored columns: {', '.join(fields)}"
                    if fields else "")
            rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): payload no longer "
                    f"matches its signature or its leaf in the tree{hint}")
        else:
            rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) is validly signed but is not "
                    "the record the tree holds at that position: it replaced the original")
        return h
    if known_key and not sig_ok:
        rep.add(seq, rid, "bad-signature", f"record {rid} (seq {seq}): signature by {kid} does "
                "not verify although the payload matches the tree: the signature was altered")
    if rec["key_id"] != kid:
        rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): key_id column {kid!r} "
                f"differs from the signed key_id {rec['key_id']!r}")
    expected_prev = tree[seq - 1].hex() if seq else ZERO_HASH_HEX
    if rec["prev_leaf_hash"] != expected_prev:
        rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) chains to "
                f"{rec['prev_leaf_hash'][:16]}…, not to leaf {seq - 1}: the chain was rebuilt")
    if ledger_id is not None and rec["ledger_id"] != ledger_id:
        rep.add(seq, rid, "inserted", f"record {rid} (seq {seq}) belongs to ledger "
                f"{rec['ledger_id']!r}, not {ledger_id!r}")
    if leaf_col and leaf_col != h:
        rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): field leaf_hash "
                f"{leaf_col.hex()[:16]}… disagrees with the payload's hash {h.hex()[:16]}…")
    if cols is not None:
        bad = column_mismatches(rec, cols)
        for name in bad:
            rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): column {name}="
                    f"{cols.get(name, cols.get('recorded_at_col_us'))!r} disagrees with the signed "
                    f"payload; run reports from the payload or restore the row")
    return h
