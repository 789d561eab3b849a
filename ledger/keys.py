"""Ed25519 signing keys: key ids, the Keyring, and key directories.

Key id = first 16 hex characters of SHA-256 over the raw 32-byte public key, so
anyone holding a public key can recompute its id.

Key directory layout (the only I/O in this module is in the functions that take
a directory)::

    <key_id>.key   PEM PKCS#8 private key, mode 0600
    <key_id>.pub   raw public key as 64 hex characters (PEM is accepted on read)
    active         the key id that signs new records

Rotation adds a key and re-points ``active``; old keys stay so that records
signed before the rotation still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledgergate.clock import now_us

from .errors import LedgerKeyError

ACTIVE_FILE = "active"
ENDORSEMENT_SUFFIX = ".endorsement"


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    """The raw 32-byte encoding of a public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey | bytes) -> str:
    """Key id: first 16 hex chars of SHA-256 over the raw 32-byte public key."""
    raw = public_key if isinstance(public_key, bytes) else raw_public(public_key)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_from_raw(raw: bytes) -> Ed25519PublicKey:
    """Load a raw 32-byte public key, with an error that says what was wrong."""
    if len(raw) != 32:
        raise LedgerKeyError(
            f"Ed25519 public key has {len(raw)} bytes: expected 32 raw bytes "
            "(64 hex characters); re-export it with `ledgergate keys manifest`"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class PublicKeyInfo:
    """One verification key: id, key, and when it was created (µs since epoch, if known)."""

    key_id: str
    public_key: Ed25519PublicKey
    created_us: int | None = None

    @property
    def public_hex(self) -> str:
        return raw_public(self.public_key).hex()


@dataclass(frozen=True)
class Keyring:
    """Pure data: key id → public key, plus at most one active private key.

    Verification needs only the public keys; signing needs ``active``.
    """

    public: Mapping[str, PublicKeyInfo] = field(default_factory=dict)
    active_id: str | None = None
    _active_private: Ed25519PrivateKey | None = field(default=None, repr=False)
    # signed rotation statements found next to the keys ({statement, signature} base64
    # JSON); the writer records them in the ledger, verifiers follow them
    endorsements: tuple[Mapping[str, str], ...] = ()

    def __repr__(self) -> str:  # never show key material, even by accident
        return f"Keyring(keys={sorted(self.public)}, active={self.active_id})"

    @classmethod
    def of(cls, private_keys: list[Ed25519PrivateKey] | None = None,
           public_keys: list[Ed25519PublicKey] | None = None,
           active: Ed25519PrivateKey | None = None) -> Keyring:
        """Build a keyring in memory (tests, tools). ``active`` defaults to the last private key."""
        pubs: dict[str, PublicKeyInfo] = {}
        for pk in private_keys or []:
            info = PublicKeyInfo(key_id_of(pk.public_key()), pk.public_key())
            pubs[info.key_id] = info
        for pub in public_keys or []:
            info = PublicKeyInfo(key_id_of(pub), pub)
            pubs[info.key_id] = info
        if active is None and private_keys:
            active = private_keys[-1]
        if active is not None:
            aid = key_id_of(active.public_key())
            pubs.setdefault(aid, PublicKeyInfo(aid, active.public_key()))
            return cls(pubs, aid, active)
        return cls(pubs)

    @classmethod
    def from_base64(cls, secret: Any) -> Keyring:
        """A signing keyring from a base64 raw 32-byte Ed25519 private key.

        ``secret`` is a ``str`` or anything with ``get_secret_value()`` (pydantic
        SecretStr); the config layer reads the environment, not us.
        """
        text = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
        if not isinstance(text, str) or not text.strip():
            raise LedgerKeyError(
                "ledger signing key is empty: expected base64 of a raw 32-byte Ed25519 "
                "private key; generate one with `ledgergate keys generate`"
            )
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerKeyError(
                "ledger signing key is not valid base64: expected base64 of a raw "
                "32-byte Ed25519 private key"
            ) from exc
        if len(raw) != 32:
            raise LedgerKeyError(
                f"ledger signing key decodes to {len(raw)} bytes: expected 32 raw bytes "
                "(not PEM/PKCS#8; export the raw private key and base64 it)"
            )
        return cls.of([Ed25519PrivateKey.from_private_bytes(raw)])

    @property
    def active_private(self) -> Ed25519PrivateKey:
        """The private key that signs new records."""
        if self._active_private is None:
            raise LedgerKeyError(
                f"keyring {sorted(self.public)} has no active private key: the writer "
                "needs one; load the key directory with its `active` file or a base64 key"
            )
        return self._active_private

    def public_key(self, key_id: str) -> Ed25519PublicKey | None:
        """The verification key for ``key_id``, or None if unknown."""
        info = self.public.get(key_id)
        return info.public_key if info else None

    def verify(self, key_id: str, signature: bytes, payload: bytes) -> bool:
        """True iff ``signature`` by ``key_id`` covers ``payload``; False for an unknown key."""
        pub = self.public_key(key_id)
        if pub is None:
            return False
        try:
            pub.verify(signature, payload)
        except InvalidSignature:
            return False
        return True

    def with_public(self, infos: list[PublicKeyInfo]) -> Keyring:
        """A copy that also trusts ``infos`` (e.g. keys from a bundle's keys file)."""
        merged = dict(self.public)
        for info in infos:
            merged.setdefault(info.key_id, info)
        return Keyring(merged, self.active_id, self._active_private, self.endorsements)

    def public_only(self) -> Keyring:
        """A verification-only copy (no private key)."""
        return Keyring(dict(self.public), endorsements=self.endorsements)

    def public_manifest(self) -> list[dict[str, Any]]:
        """[{key_id, public_key (hex), created (ISO 8601 UTC or None), active}] for auditors."""
        out = []
        for kid in sorted(self.public):
            info = self.public[kid]
            created = None
            if info.created_us is not None:
                created = datetime.fromtimestamp(info.created_us / 1e6, UTC).isoformat()
            out.append({"key_id": kid, "public_key": info.public_hex, "created": created,
                        "created_us": info.created_us, "active": kid == self.active_id})
        return out

    @classmethod
    def from_manifest(cls, manifest: list[Mapping[str, Any]]) -> Keyring:
        """A verification keyring from :meth:`public_manifest` output; ids are recomputed."""
        pubs: dict[str, PublicKeyInfo] = {}
        for entry in manifest:
            try:
                raw = bytes.fromhex(str(entry["public_key"]))
            except (KeyError, ValueError) as exc:
                raise LedgerKeyError(
                    f"key manifest entry {entry.get('key_id')!r} has no valid hex "
                    "`public_key`: expected 64 hex characters"
                ) from exc
            pub = public_from_raw(raw)
            kid = key_id_of(raw)
            if entry.get("key_id") not in (None, kid):
                raise LedgerKeyError(
                    f"key manifest names key {entry.get('key_id')!r} but its public key "
                    f"hashes to {kid}: the manifest was edited; re-export it"
                )
            pubs[kid] = PublicKeyInfo(kid, pub, entry.get("created_us"))
        return cls(pubs)


# --- key directories (I/O edge) -------------------------------------------------


def _write_private(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # Create with 0600 from the start: a chmod afterwards leaves a readable window.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def generate(directory: str | os.PathLike[str], *, activate: bool = True) -> str:
    """Create a new key in ``directory`` (created 0700 if missing); returns its key id."""
    d = Path(directory)
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        kid = key_id_of(key.public_key())
        _write_private(d / f"{kid}.key", key)
        (d / f"{kid}.pub").write_text(raw_public(key.public_key()).hex() + "\n")
        if activate:
            tmp = d / f".{ACTIVE_FILE}.tmp"
            tmp.write_text(kid + "\n")
            os.replace(tmp, d / ACTIVE_FILE)  # atomic: a reader never sees a half-written id
    except OSError as exc:
        raise LedgerKeyError(f"cannot create a key in {d}: {exc.strerror}; check the "
                             "directory exists and is writable") from exc
    return kid


def rotate(directory: str | os.PathLike[str]) -> str:
    """Add a new key, have the retiring key endorse it, and make it active.

    The endorsement (``<new id>.endorsement``: the retiring key's signature over
    the successor's id, public key and the time) is what lets a verifier that
    trusts only the first key accept the new one; the ledger records it.
    """
    import json

    from .statements import endorse

    d = Path(directory)
    if not (d / ACTIVE_FILE).exists():
        return generate(d, activate=True)  # the first key: nothing to endorse it
    old = load_dir(d)  # the retiring key must be present to vouch for its successor
    kid = generate(d, activate=False)
    new = load_dir(d, require_private=False).public[kid]
    e = endorse(old.active_private, new.public_key, now_us())
    try:
        (d / f"{kid}{ENDORSEMENT_SUFFIX}").write_text(json.dumps(e.to_json()) + "\n")
        tmp = d / f".{ACTIVE_FILE}.tmp"
        tmp.write_text(kid + "\n")
        os.replace(tmp, d / ACTIVE_FILE)
    except OSError as exc:
        raise LedgerKeyError(f"cannot write the endorsement of {kid} in {d}: {exc.strerror}") from exc
    return kid


def _endorsements(d: Path) -> tuple[Mapping[str, str], ...]:
    import json

    out = []
    for p in sorted(d.glob(f"*{ENDORSEMENT_SUFFIX}")):
        try:
            out.append(json.loads(p.read_text()))
        except ValueError as exc:
            raise LedgerKeyError(f"{p} is not an endorsement written by `ledgergate keys rotate`") from exc
    return tuple(out)


def load_trusted(path: str | os.PathLike[str]) -> Keyring:
    """The keys an auditor trusts: a directory of ``*.pub``, a key manifest (JSON list
    from ``keys.json``/`ledgergate keys manifest`), or one ``.pub`` file. Public only."""
    import json

    p = Path(path)
    if p.is_dir():
        ring = load_dir(p, require_private=False)
        return Keyring(dict(ring.public))
    if not p.is_file():
        raise LedgerKeyError(f"trusted keys {p} do not exist: pass a directory of <key_id>.pub "
                             "files, a key manifest JSON, or one .pub file")
    text = p.read_text().strip()
    if text.startswith("["):
        try:
            return Keyring.from_manifest(json.loads(text))
        except ValueError as exc:
            raise LedgerKeyError(f"{p} is not a JSON key manifest: {exc}") from exc
    pub = _read_public(p)
    info = PublicKeyInfo(key_id_of(pub), pub)
    return Keyring({info.key_id: info})


def load_dir(directory: str | os.PathLike[str], *, require_private: bool = True) -> Keyring:
    """Load every ``*.pub``/``*.key`` in ``directory`` and the ``active`` private key."""
    d = Path(directory)
    if not d.is_dir():
        raise LedgerKeyError(f"key directory {d} does not exist: create one with "
                             f"`ledgergate keys generate --dir {d}`")
    pubs: dict[str, PublicKeyInfo] = {}
    for pub_path in sorted(d.glob("*.pub")):
        pub = _read_public(pub_path)
        kid = key_id_of(pub)
        if kid != pub_path.stem:
            raise LedgerKeyError(
                f"{pub_path.name} holds the public key of {kid}, not {pub_path.stem}: "
                f"rename it to {kid}.pub"
            )
        pubs[kid] = PublicKeyInfo(kid, pub, int(pub_path.stat().st_mtime * 1_000_000))
    active_path = d / ACTIVE_FILE
    if not active_path.exists():
        if require_private:
            raise LedgerKeyError(f"no `{ACTIVE_FILE}` file in {d}: expected the active key id; "
                                 "run `ledgergate keys rotate` or write the id into it")
        return Keyring(pubs, endorsements=_endorsements(d))
    active_id = active_path.read_text().strip()
    key_path = d / f"{active_id}.key"
    if not key_path.exists():
        if require_private:
            raise LedgerKeyError(f"active key {active_id!r} has no private key file "
                                 f"{key_path}: restore it or rotate to a new key")
        return Keyring(pubs, endorsements=_endorsements(d))
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        raise LedgerKeyError(f"private key {key_path} has mode {mode:o}: expected 0600; "
                             f"run `chmod 600 {key_path}`")
    try:
        priv = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerKeyError(f"{key_path} is not an unencrypted PEM PKCS#8 private key") from exc
    if not isinstance(priv, Ed25519PrivateKey):
        raise LedgerKeyError(f"{key_path} holds a {type(priv).__name__}: expected Ed25519")
    if key_id_of(priv.public_key()) != active_id:
        raise LedgerKeyError(f"{key_path} holds the key {key_id_of(priv.public_key())}, "
                             f"not {active_id}: the file was renamed or replaced")
    created = pubs[active_id].created_us if active_id in pubs else None
    pubs[active_id] = PublicKeyInfo(active_id, priv.public_key(), created)
    return Keyring(pubs, active_id, priv, _endorsements(d))


def _read_public(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes().strip()
    if data.startswith(b"-----BEGIN"):
        try:
            pub = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise LedgerKeyError(f"{path} is not a valid PEM public key") from exc
        if not isinstance(pub, Ed25519PublicKey):
            raise LedgerKeyError(f"{path} holds a {type(pub).__name__}: expected Ed25519")
        return pub
    try:
        raw = bytes.fromhex(data.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise LedgerKeyError(f"{path} is neither PEM nor 64 hex characters") from exc
    return public_from_raw(raw)
