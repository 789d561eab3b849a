"""C2SP signed notes, tlog checkpoints and tlog cosignatures (Ed25519). Pure: no I/O.

Specifications (c2sp.org): ``signed-note`` v1, ``tlog-checkpoint`` v1,
``tlog-cosignature`` v1. A checkpoint note is::

    <origin>\\n<tree size>\\n<base64 root>\\n\\n— <key name> base64(key id[4] || sig)\\n

* note signature (type 0x01): Ed25519 over the note text (the body lines
  including their final newline); key id = SHA-256(name || 0x0A || 0x01 || pub)[:4];
* cosignature (type 0x04): Ed25519 over ``"cosignature/v1\\ntime <t>\\n" + body``;
  key id = SHA-256(name || 0x0A || 0x04 || pub)[:4]; the signature field is the
  8-byte big-endian timestamp followed by the 64-byte signature.

Verifier keys ("vkeys") are ``<name>+<hex key id>+base64(type || pub)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .errors import LedgerError
from .keys import public_from_raw, raw_public

EM_DASH = "\u2014"
SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
COSIGNATURE_HEADER = "cosignature/v1\n"


class NoteError(LedgerError):
    """A note, checkpoint, cosignature or verifier key is malformed."""


def key_id(name: str, sig_type: int, public_key: Ed25519PublicKey | bytes) -> bytes:
    """The 4-byte signed-note key id of ``name`` and a public key for ``sig_type``."""
    raw = public_key if isinstance(public_key, bytes) else raw_public(public_key)
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + raw).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """One verifier key: name, signature type and public key."""

    name: str
    sig_type: int
    public_key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    def vkey(self) -> str:
        """The ``name+hexid+base64(type||pub)`` text form."""
        material = bytes([self.sig_type]) + raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(material).decode()}"


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"key name {name!r} is not valid: expected a non-empty name without "
                        "spaces or '+', e.g. ledgergate/main")
    return name


def parse_vkey(text: str) -> Verifier:
    """Parse a verifier key; the key id must match the name and key material."""
    parts = text.strip().split("+", 2)  # base64 may itself contain '+'; names may not
    if len(parts) != 3:
        raise NoteError(f"verifier key {text.strip()[:60]!r} is not name+keyid+base64key: "
                        "print one with `ledgergate keys vkey` or `ledgergate witness vkey`")
    name, hex_id, b64 = parts
    _check_name(name)
    try:
        material = base64.b64decode(b64, validate=True)
        want_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"verifier key for {name!r} has bad hex or base64: {exc}") from exc
    if len(material) != 33 or material[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise NoteError(f"verifier key for {name!r} is not an Ed25519 note (0x01) or "
                        "cosignature (0x04) key of 33 bytes")
    v = Verifier(name, material[0], public_from_raw(material[1:]))
    if v.key_id != want_id:
        raise NoteError(f"verifier key for {name!r} names key id {hex_id} but its key hashes "
                        f"to {v.key_id.hex()}: the key was edited")
    return v


@dataclass(frozen=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_id: bytes
    sig: bytes

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {base64.b64encode(self.key_id + self.sig).decode()}\n"


def split_note(text: str) -> tuple[str, list[Signature]]:
    """(note text including its final newline, signature lines) of a signed note."""
    if "\n\n" not in text:
        raise NoteError("not a signed note: expected the text, a blank line, then signature lines")
    cut = text.rindex("\n\n")
    body, sigs = text[:cut + 1], text[cut + 2:]
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("signed note contains control characters")
    out: list[Signature] = []
    for line in sigs.splitlines():
        if not line.startswith(EM_DASH + " "):
            raise NoteError(f"signature line {line[:40]!r} does not start with '— '")
        try:
            name, b64 = line[2:].split(" ")
            raw = base64.b64decode(b64, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise NoteError(f"signature line {line[:40]!r} is not '— name base64'") from exc
        if len(raw) < 5:
            raise NoteError(f"signature by {name!r} is too short ({len(raw)} bytes)")
        out.append(Signature(name, raw[:4], raw[4:]))
    if not out:
        raise NoteError("signed note has no signature lines")
    return body, out


def sign_note(body: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """``body`` (ending in a newline) with one Ed25519 note signature appended."""
    _check_name(name)
    if not body.endswith("\n"):
        raise NoteError("note text must end with a newline")
    kid = key_id(name, SIG_ED25519, private_key.public_key())
    return body + "\n" + Signature(name, kid, private_key.sign(body.encode())).line()


def verify_note(body: str, sigs: list[Signature], verifier: Verifier) -> bool:
    """True iff a signature line of ``verifier`` (name and key id) verifies over ``body``."""
    for s in sigs:
        if s.name == verifier.name and s.key_id == verifier.key_id:
            try:
                verifier.public_key.verify(s.sig, body.encode())
                return True
            except InvalidSignature:
                return False
    return False


@dataclass(frozen=True)
class CheckpointNote:
    """The body of a tlog checkpoint: origin, tree size, root hash."""

    origin: str
    tree_size: int
    root_hash: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"


def parse_checkpoint(body: str) -> CheckpointNote:
    """Parse a checkpoint note text (without signatures)."""
    lines = body.split("\n")
    if len(lines) < 4 or not all(lines[:3]):
        raise NoteError("checkpoint needs origin, tree size and root hash lines")
    size_txt = lines[1]
    if not size_txt.isdigit() or (size_txt != "0" and size_txt.startswith("0")):
        raise NoteError(f"checkpoint tree size {size_txt!r} is not a decimal without leading zeroes")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except binascii.Error as exc:
        raise NoteError(f"checkpoint root hash {lines[2]!r} is not base64") from exc
    if len(root) != 32:
        raise NoteError(f"checkpoint root hash has {len(root)} bytes: expected 32 (SHA-256)")
    return CheckpointNote(lines[0], int(size_txt), root)


def cosign(body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A tlog-cosignature/v1 (Ed25519) over checkpoint ``body`` at POSIX ``timestamp``."""
    _check_name(name)
    msg = f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()
    kid = key_id(name, SIG_COSIGNATURE_V1, private_key.public_key())
    return Signature(name, kid, struct.pack(">Q", timestamp) + private_key.sign(msg))


def verify_cosignature(body: str, sigs: list[Signature], witness: Verifier) -> int | None:
    """The timestamp of ``witness``'s valid cosignature on ``body``, or None."""
    for s in sigs:
        if s.name != witness.name or s.key_id != witness.key_id or len(s.sig) != 72:
            continue
        (ts,) = struct.unpack(">Q", s.sig[:8])
        msg = f"{COSIGNATURE_HEADER}time {ts}\n{body}".encode()
        try:
            witness.public_key.verify(s.sig[8:], msg)
            return int(ts)
        except InvalidSignature:
            return None
    return None
