"""A transparency-log witness (C2SP tlog-witness ``add-checkpoint``, tlog-cosignature v1).

Run by a second organisation (the auditor) with its own key: the ledger sends
each new checkpoint with an RFC 9162 consistency proof from the last one this
witness cosigned; the witness checks the log's signature, the old size and the
proof, persists the new head, and answers with its cosignature. An inconsistent
checkpoint is refused (409/422) and recorded in ``refused.log``: it is evidence
that the log rewrote or forked its history.

State directory (survives restarts; every write is atomic)::

    witness.key        the witness's Ed25519 private key (PEM, 0600)
    witness.json       {"name": ..., "logs": {origin: [log vkey, ...]}}
    heads/<hash>.json  per log: latest cosigned {origin, tree_size, root, note}
    heads/<hash>.checkpoint  that checkpoint with the witness's cosignature (C2SP note)
    refused.log        one JSON line per refused submission
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from . import merkle
from . import note as notes
from .errors import LedgerError


class WitnessError(LedgerError):
    """The witness state is missing or unreadable, or a submission was refused."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of add-checkpoint: status, content type, body."""

    status: int
    content_type: str
    body: str


def _atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # a crash leaves the old state or the new one, never half


def init(state: Path, name: str, log_vkeys: list[str]) -> notes.Verifier:
    """Create a witness state directory with a new key; returns its cosigner vkey."""
    logs: dict[str, list[str]] = {}
    for v in log_vkeys:
        logs.setdefault(notes.parse_vkey(v).name, []).append(v.strip())
    try:
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
        (state / "heads").mkdir(exist_ok=True)
        if (state / "witness.key").exists():
            raise WitnessError(f"{state} already holds a witness key: a witness keeps its key; "
                               "use --add-log to trust another log key")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _atomic_write(state / "witness.key", pem.decode(), 0o600)
        _atomic_write(state / "witness.json", json.dumps({"name": name, "logs": logs}, indent=2))
    except OSError as exc:
        raise WitnessError(f"cannot create witness state in {state}: {exc.strerror}") from exc
    return notes.Verifier(name, notes.SIG_COSIGNATURE_V1, key.public_key())


def add_log_keys(state: Path, log_vkeys: list[str]) -> None:
    """Accept checkpoints signed by more log keys (after the log rotated its key)."""
    try:
        cfg = json.loads((state / "witness.json").read_text())
    except (OSError, ValueError) as exc:
        raise WitnessError(f"{state} is not a witness state directory ({exc})") from exc
    for v in log_vkeys:
        keys = cfg["logs"].setdefault(notes.parse_vkey(v).name, [])
        if v.strip() not in keys:
            keys.append(v.strip())
    _atomic_write(state / "witness.json", json.dumps(cfg, indent=2))


class Witness:
    """The witness's logic over its state directory (thread-safe; one process per state)."""

    def __init__(self, state: Path) -> None:
        self._state = state
        self._lock = threading.Lock()
        try:
            cfg = json.loads((state / "witness.json").read_text())
            pem = (state / "witness.key").read_bytes()
        except (OSError, ValueError) as exc:
            raise WitnessError(f"{state} is not a witness state directory ({exc}): create one "
                               "with `ledgergate witness init`") from exc
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise WitnessError(f"{state / 'witness.key'} is not an Ed25519 key")
        self._key = key
        self.name: str = cfg["name"]
        self.logs = {o: [notes.parse_vkey(v) for v in vs] for o, vs in cfg["logs"].items()}

    @property
    def verifier(self) -> notes.Verifier:
        return notes.Verifier(self.name, notes.SIG_COSIGNATURE_V1, self._key.public_key())

    def _head_path(self, origin: str, ext: str) -> Path:
        return self._state / "heads" / f"{hashlib.sha256(origin.encode()).hexdigest()[:16]}.{ext}"

    def latest(self, origin: str) -> dict[str, Any] | None:
        """The latest cosigned head of ``origin``: {origin, tree_size, root, note}."""
        p = self._head_path(origin, "json")
        return json.loads(p.read_text()) if p.exists() else None

    def add_checkpoint(self, body: str, *, now: int | None = None) -> Answer:
        """tlog-witness add-checkpoint: check, persist, cosign — or refuse and record why."""
        try:
            old, proof, note_text = _parse_request(body)
            text, sigs = notes.split_note(note_text)
            cp = notes.parse_checkpoint(text)
        except (WitnessError, notes.NoteError) as exc:
            return Answer(400, "text/plain", f"{exc}\n")
        keys = self.logs.get(cp.origin)
        if keys is None:
            return Answer(404, "text/plain", f"unknown log {cp.origin!r}\n")
        if not any(notes.verify_note(text, sigs, k) for k in keys):
            return Answer(403, "text/plain", "no valid signature by a known log key\n")
        if old > cp.tree_size:
            return Answer(400, "text/plain", f"old size {old} exceeds checkpoint size\n")
        with self._lock:  # the check and the persist are one atomic step (spec)
            return self._advance(cp, text, note_text, old, proof, now)

    def _advance(self, cp: notes.CheckpointNote, text: str, note_text: str, old: int,
                 proof: list[bytes], now: int | None) -> Answer:
        head = self.latest(cp.origin)
        have = head["tree_size"] if head else 0
        if old != have:
            return Answer(409, "text/x.tlog.size", f"{have}\n")
        why = _inconsistent(head, cp, old, proof)
        if why:
            self._refuse(cp, old, why)
            return Answer(422, "text/plain", f"{why}\n")
        ts = int(now if now is not None else time.time())
        sig = notes.cosign(text, self.name, self._key, ts)
        record = {"origin": cp.origin, "tree_size": cp.tree_size,
                  "root": base64.b64encode(cp.root_hash).decode(), "note": text,
                  "cosigned_at": ts}
        try:
            _atomic_write(self._head_path(cp.origin, "json"), json.dumps(record))
            # the checkpoint as submitted (the log's signatures) plus our cosignature
            full = note_text if note_text.endswith("\n") else note_text + "\n"
            _atomic_write(self._head_path(cp.origin, "checkpoint"), full + sig.line())
        except OSError as exc:
            return Answer(500, "text/plain", f"cannot persist the new head: {exc.strerror}\n")
        return Answer(200, "text/plain", sig.line())

    def _refuse(self, cp: notes.CheckpointNote, old: int, why: str) -> None:
        line = json.dumps({"at": int(time.time()), "origin": cp.origin, "old": old,
                           "tree_size": cp.tree_size,
                           "root": base64.b64encode(cp.root_hash).decode(), "reason": why})
        with open(self._state / "refused.log", "a") as fh:
            fh.write(line + "\n")


def _inconsistent(head: dict[str, Any] | None, cp: notes.CheckpointNote, old: int,
                  proof: list[bytes]) -> str | None:
    """Why ``cp`` is not a consistent extension of ``head`` (None if it is)."""
    if cp.tree_size == 0 and cp.root_hash != merkle.EMPTY_ROOT:
        return "a checkpoint of size 0 must have the empty tree's root"
    if old == 0:
        return "a proof from size 0 must be empty" if proof else None
    old_root = base64.b64decode(head["root"]) if head else b""
    if old == cp.tree_size:
        return None if cp.root_hash == old_root and not proof else \
            f"size {old} is unchanged but the root differs: the log forked"
    if not merkle.verify_consistency(old, cp.tree_size, old_root, cp.root_hash, proof):
        return (f"the consistency proof from size {old} to {cp.tree_size} does not verify: the "
                "log's history was rewritten")
    return None


def _parse_request(body: str) -> tuple[int, list[bytes], str]:
    """(old size, proof hashes, checkpoint note) of an add-checkpoint body."""
    head, sep, rest = body.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise WitnessError("expected 'old <size>', proof lines, a blank line, then the checkpoint")
    size = lines[0][4:]
    if not size.isdigit() or (size != "0" and size.startswith("0")):
        raise WitnessError(f"old size {size!r} is not a decimal without leading zeroes")
    if len(lines) - 1 > 63:
        raise WitnessError("more than 63 consistency proof lines")
    try:
        proof = [base64.b64decode(x, validate=True) for x in lines[1:]]
    except binascii.Error as exc:
        raise WitnessError(f"a proof line is not base64: {exc}") from exc
    return int(size), proof, rest


def request_body(old: int, proof: list[bytes], note_text: str) -> str:
    """The add-checkpoint body a log sends."""
    lines = [f"old {old}"] + [base64.b64encode(p).decode() for p in proof]
    return "\n".join(lines) + "\n\n" + note_text
