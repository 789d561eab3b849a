"""The dev identity provider: a local Ed25519 key that signs tokens for the demo and tests.

:func:`ensure_dev_issuer` creates the private key (once, mode 0600) and writes
its public JWKS where the gateway's issuer config reads it (``jwks_file``);
:func:`dev_token` signs an EdDSA JWT with the ``iss``/``aud`` of the dev config,
which is what ``ledgergate token --sub alice --tenant acme --role analyst`` prints.

The token carries ``sub``, ``tenant`` and ``roles`` — the default
:class:`~ledgergate.config.ClaimMapping` — plus ``iat``, ``nbf``, ``exp`` and a
random ``jti``. This is for development only: anyone who can read the key file
can mint any identity.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledgergate.errors import LedgergateError
from ledgergate.proxy.config import DevIdentityConfig, IdentityConfig

log = logging.getLogger(__name__)


class DevIssuerError(LedgergateError):
    """The dev issuer's key is missing or unusable; the message says what to do."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (base64url), used as its ``kid``."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = required.get(jwk.get("kty", ""))
    if members is None:
        raise ValueError(f"no thumbprint for key type {jwk.get('kty')!r}")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def public_jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """The public JWK of an Ed25519 key, with its thumbprint as ``kid``."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}
    return {**jwk, "kid": jwk_thumbprint(jwk), "alg": "EdDSA", "use": "sig"}


def load_dev_key(cfg: DevIdentityConfig) -> Ed25519PrivateKey:
    """The dev issuer's private key. Raises :class:`DevIssuerError` if missing or not Ed25519."""
    path = cfg.key_file
    try:
        pem = path.read_bytes()
    except FileNotFoundError as exc:
        raise DevIssuerError(f"dev issuer key {path} does not exist: create it with "
                             "ensure_dev_issuer (the gateway does so at startup)") from exc
    except OSError as exc:
        raise DevIssuerError(f"cannot read dev issuer key {path}: {exc.strerror or exc}") from exc
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DevIssuerError(f"dev issuer key {path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise DevIssuerError(f"dev issuer key {path} is a {type(key).__name__}, not an Ed25519 key; "
                             "delete it to have a new one created")
    return key


def dev_jwks(cfg: DevIdentityConfig) -> dict[str, Any]:
    """The public JWKS of the dev issuer (its key must exist)."""
    return {"keys": [public_jwk(load_dev_key(cfg).public_key())]}


def ensure_dev_issuer(cfg: DevIdentityConfig, jwks_file: Path) -> None:
    """Create the dev key if it is missing and write its public JWKS to ``jwks_file``.

    Idempotent: an existing key is kept, and the JWKS file is only rewritten
    when its content would change (so gateways watching its mtime do not reload
    for nothing).
    """
    path = cfg.key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            # O_EXCL: if two processes start at once, one key wins and the
            # other loads it below instead of overwriting it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            log.info("created dev issuer key %s", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("dev issuer key %s is readable by others (mode %o); chmod 600 it", path, mode)
    text = json.dumps(dev_jwks(cfg), indent=2, sort_keys=True) + "\n"
    try:
        if jwks_file.read_text("utf-8") == text:
            return
    except OSError:
        pass
    jwks_file.parent.mkdir(parents=True, exist_ok=True)
    # write then rename, so a gateway reading the file never sees half of it
    tmp = jwks_file.with_name(f".{jwks_file.name}.{os.getpid()}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, jwks_file)
    log.info("wrote dev issuer JWKS %s", jwks_file)


def dev_jwks_file(identity: IdentityConfig) -> Path | None:
    """The ``jwks_file`` of the configured issuer that trusts the dev issuer, if any."""
    if identity.dev is None:
        return None
    for iss in identity.issuers:
        if iss.issuer == identity.dev.issuer and iss.jwks_file is not None:
            return iss.jwks_file
    return None


def dev_token(cfg: DevIdentityConfig, *, sub: str, tenant: str, roles: Iterable[str] | str,
              ttl_seconds: int = 3600, now: float | None = None, **extra_claims: Any) -> str:
    """Sign an EdDSA JWT for ``sub`` in ``tenant`` with ``roles``, valid for ``ttl_seconds``.

    ``now`` (Unix time) defaults to the current time. ``extra_claims`` are added
    to the payload and override the standard ones (tests use this to forge
    e.g. a wrong ``aud``).
    """
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    key = load_dev_key(cfg)
    kid = public_jwk(key.public_key())["kid"]
    t = int(time.time() if now is None else now)
    role_list = [roles] if isinstance(roles, str) else list(roles)
    claims: dict[str, Any] = {
        "iss": cfg.issuer, "aud": cfg.audience, "sub": sub, "tenant": tenant, "roles": role_list,
        "iat": t, "nbf": t, "exp": t + ttl_seconds, "jti": secrets.token_urlsafe(12),
    }
    claims.update(extra_claims)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "JWT"})
