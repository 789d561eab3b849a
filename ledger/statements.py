"""Signed statements the ledger keeps about itself: key endorsements and retention. Pure.

Both are ordinary ledger records (an AuditRecord of their own kind, signed,
hashed into the tree) whose ``metadata`` carries the statement, so the record
schema stays as it is and old readers still decode them.

* **key-endorsement**: at rotation the *retiring* key signs a statement naming
  its successor (key id, raw public key, time). The statement bytes and that
  signature are stored verbatim in the record; the record's own signature is
  the writer's as usual. A verifier starts from the keys it trusts and follows
  these statements, so a key that just appears (in the keys table, a bundle's
  keys.json, or a keys directory) is trusted only with a chain back to an anchor.
* **retention**: pruning appends a record naming the removed seq range, the
  rule (retention days, the cut-off it implies, the legal holds in force), the
  newest recorded_at_us among the removed records and the time. The verifier
  accepts a missing range only where such a record covers it and its rule held.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import RecordError
from .sign import KEY_ENDORSEMENT, RETENTION


# keys.py imports this module (rotation writes an endorsement), so the two helpers
# it would give us are spelled out here: same definitions as keys.key_id_of/raw_public
def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey | bytes) -> str:
    raw = public_key if isinstance(public_key, bytes) else _raw(public_key)
    return hashlib.sha256(raw).hexdigest()[:16]

ENDORSEMENT_FORMAT = "ledgergate-key-endorsement/1"
DAY_US = 86_400_000_000
_NS = uuid.UUID("6c6f6764-6761-7465-2d73-746d6e74730a")


def _canonical(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(obj), sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Endorsement:
    """The retiring key endorses its successor; ``statement`` is what it signed."""

    retiring_key_id: str
    successor_key_id: str
    successor_public: bytes
    at_us: int
    statement: bytes
    signature: bytes

    def successor(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.successor_public)

    def signed_by(self, retiring: Ed25519PublicKey) -> bool:
        """True iff ``retiring`` is the named retiring key and signed this statement."""
        if key_id_of(retiring) != self.retiring_key_id:
            return False
        try:
            retiring.verify(self.signature, self.statement)
        except InvalidSignature:
            return False
        return True

    def to_json(self) -> dict[str, str]:
        return {"statement": base64.b64encode(self.statement).decode(),
                "signature": base64.b64encode(self.signature).decode()}


def endorse(retiring: Ed25519PrivateKey, successor: Ed25519PublicKey, at_us: int) -> Endorsement:
    """The retiring key's signed statement that ``successor`` follows it."""
    raw = _raw(successor)
    stmt = _canonical({"format": ENDORSEMENT_FORMAT,
                       "retiring_key_id": key_id_of(retiring.public_key()),
                       "successor_key_id": key_id_of(raw), "successor_public_key": raw.hex(),
                       "at_us": at_us})
    return parse_endorsement(stmt, retiring.sign(stmt))


def parse_endorsement(statement: bytes, signature: bytes) -> Endorsement:
    """Read an endorsement statement (its signature is checked by :meth:`signed_by`)."""
    try:
        d = json.loads(statement)
        raw = bytes.fromhex(d["successor_public_key"])
        if len(raw) != 32:
            raise ValueError(f"successor public key has {len(raw)} bytes, not 32")
        if d["format"] != ENDORSEMENT_FORMAT or key_id_of(raw) != d["successor_key_id"]:
            raise ValueError("format or successor key id does not match")
        return Endorsement(str(d["retiring_key_id"]), str(d["successor_key_id"]), raw,
                           int(d["at_us"]), statement, signature)
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordError(f"key endorsement statement is malformed ({exc}): expected "
                          f"{ENDORSEMENT_FORMAT} JSON written by `ledgergate keys rotate`") from exc


def endorsement_from_json(d: Mapping[str, Any]) -> Endorsement:
    """An endorsement from its file/metadata form {statement, signature} (base64)."""
    try:
        return parse_endorsement(base64.b64decode(d["statement"], validate=True),
                                 base64.b64decode(d["signature"], validate=True))
    except (KeyError, binascii.Error) as exc:
        raise RecordError(f"key endorsement is not {{statement, signature}} base64: {exc}") from exc


def endorsement_entry(e: Endorsement, *, recorded_at_us: int) -> dict[str, Any]:
    """The ledger entry recording an endorsement (id fixed by the statement: idempotent)."""
    return {"kind": KEY_ENDORSEMENT, "recorded_at_us": recorded_at_us,
            "record_id": str(uuid.uuid5(_NS, e.statement.hex())),
            "metadata": e.to_json(), "worker_id": "ledger"}


@dataclass(frozen=True)
class RetentionRule:
    """What a retention record states: the seq ranges it removed and under which rule."""

    ranges: tuple[tuple[int, int], ...]
    retention_days: float
    cutoff_us: int
    newest_pruned_us: int
    pruned_at_us: int
    holds: tuple[Mapping[str, Any], ...]

    def covers(self, seq: int) -> bool:
        return any(a <= seq <= b for a, b in self.ranges)

    def problem(self) -> str | None:
        """None if the rule held, else what was wrong with it."""
        if not self.ranges or any(a > b or a < 0 for a, b in self.ranges):
            return f"its ranges {list(self.ranges)} are empty or negative"
        if self.retention_days <= 0:
            return f"its retention period of {self.retention_days} days is not positive"
        if abs(self.cutoff_us - (self.pruned_at_us - round(self.retention_days * DAY_US))) > 1:
            return (f"its cut-off {self.cutoff_us} is not the pruning time minus "
                    f"{self.retention_days} days")
        if self.newest_pruned_us >= self.cutoff_us:
            return (f"it removed records recorded at {self.newest_pruned_us}, which were not "
                    f"older than the cut-off {self.cutoff_us}")
        return None

    def summary(self) -> str:
        n = sum(b - a + 1 for a, b in self.ranges)
        lo, hi = self.ranges[0][0], self.ranges[-1][1]
        holds = len(self.holds)
        return (f"{n} records in seq {lo}..{hi} ({len(self.ranges)} range"
                f"{'s' if len(self.ranges) != 1 else ''}) removed by retention: rule "
                f"{self.retention_days:g} days, cut-off {_iso(self.cutoff_us)}, {holds} legal "
                f"hold{'s' if holds != 1 else ''} in force, pruned {_iso(self.pruned_at_us)}; "
                "their leaves remain in the tree")


def _iso(us: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(us / 1e6, UTC).isoformat(timespec="seconds")


def retention_entry(rule: RetentionRule, *, recorded_at_us: int) -> dict[str, Any]:
    """The ledger entry stating that ``rule`` pruned its ranges."""
    meta = {"ranges": json.dumps([list(r) for r in rule.ranges]),
            "retention_days": str(rule.retention_days), "cutoff_us": str(rule.cutoff_us),
            "newest_pruned_us": str(rule.newest_pruned_us),
            "pruned_at_us": str(rule.pruned_at_us),
            "holds": json.dumps([dict(h) for h in rule.holds], sort_keys=True)}
    return {"kind": RETENTION, "recorded_at_us": recorded_at_us, "metadata": meta,
            "worker_id": "ledger"}


def parse_retention(metadata: Mapping[str, str]) -> RetentionRule:
    """The rule a retention record states."""
    try:
        ranges = tuple((int(a), int(b)) for a, b in json.loads(metadata["ranges"]))
        return RetentionRule(ranges, float(metadata["retention_days"]), int(metadata["cutoff_us"]),
                             int(metadata["newest_pruned_us"]), int(metadata["pruned_at_us"]),
                             tuple(json.loads(metadata["holds"])))
    except (KeyError, ValueError, TypeError) as exc:
        raise RecordError(f"retention record is malformed ({exc})") from exc
