"""Signature checking (optionally on worker processes), the anchored sample, columns.

Pure apart from the optional process pool: verify.py decides what is due.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .errors import LedgerError
from .keys import raw_public
from .sign import DERIVED_COLUMNS, decode_record, derive_columns

SignatureMode = Literal["anchored", "all"]
SIGNATURE_MODES: tuple[str, ...] = ("anchored", "all")
DEFAULT_SAMPLE_RATE = 0.01

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


class SigChecker:
    """Runs signature checks, on worker processes when ``workers`` > 1.

    Ed25519 verification (~120 µs) is the cost floor and holds the GIL, so
    parallelism needs processes. Small batches stay in-process: a pool round
    trip costs more. (The column check stays in-process: shipping a row's
    columns to a worker cost about as much as decoding its payload here.)
    """

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], workers: int) -> None:
        self._keys = dict(keys)
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




class LazySig:
    """A record's signature validity, verified on first use unless already known."""

    __slots__ = ("_keys", "_kid", "_payload", "_sig", "known", "_count")

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], kid: str, payload: bytes,
                 sig: bytes, known: bool | None, count: list[int]) -> None:
        self._keys, self._kid, self._payload, self._sig = keys, kid, payload, sig
        self.known = known
        self._count = count

    def __call__(self) -> bool:
        if self.known is None:
            self.known = _check(self._keys, [(self._kid, self._payload, self._sig)])[0]
            self._count[0] += 1
        return self.known
