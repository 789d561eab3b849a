"""The dev issuer: key creation, JWKS, and tokens the gateway accepts."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ledgergate.config import DevIdentityConfig, IdentityConfig, IssuerConfig
from ledgergate.proxy.devissuer import (
    DevIssuerError,
    dev_jwks_file,
    dev_token,
    ensure_dev_issuer,
    jwk_thumbprint,
)
from ledgergate.proxy.errors import AuthError
from ledgergate.proxy.identity import Principal, build_authenticator


@pytest.fixture
def dev(tmp_path: Path) -> DevIdentityConfig:
    return DevIdentityConfig(key_file=tmp_path / "keys" / "dev-issuer.pem")


def identity_for(dev: DevIdentityConfig, jwks_file: Path) -> IdentityConfig:
    return IdentityConfig(dev=dev, issuers=(IssuerConfig(issuer=dev.issuer, audience=dev.audience,
                                                         jwks_file=jwks_file),))


def test_ensure_creates_private_key_0600_and_public_jwks(dev: DevIdentityConfig, tmp_path: Path) -> None:
    jwks_file = tmp_path / "dev.jwks.json"
    ensure_dev_issuer(dev, jwks_file)
    assert stat.S_IMODE(dev.key_file.stat().st_mode) == 0o600
    jwks = json.loads(jwks_file.read_text())
    (jwk,) = jwks["keys"]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and jwk["alg"] == "EdDSA"
    assert "d" not in jwk  # public only
    assert jwk["kid"] == jwk_thumbprint(jwk)


def test_ensure_is_idempotent(dev: DevIdentityConfig, tmp_path: Path) -> None:
    jwks_file = tmp_path / "dev.jwks.json"
    ensure_dev_issuer(dev, jwks_file)
    pem, before = dev.key_file.read_bytes(), jwks_file.stat().st_mtime_ns
    time.sleep(0.01)
    ensure_dev_issuer(dev, jwks_file)
    assert dev.key_file.read_bytes() == pem
    assert jwks_file.stat().st_mtime_ns == before  # unchanged content is not rewritten


def test_rfc7638_thumbprint() -> None:
    # the example key of RFC 7638 section 3.1
    jwk = {"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29", "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
        "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h"
        "ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")}
    assert jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


async def test_dev_token_round_trip(dev: DevIdentityConfig, tmp_path: Path) -> None:
    jwks_file = tmp_path / "dev.jwks.json"
    ensure_dev_issuer(dev, jwks_file)
    ident = identity_for(dev, jwks_file)
    assert dev_jwks_file(ident) == jwks_file
    auth = build_authenticator(ident)
    tok = dev_token(dev, sub="alice", tenant="acme", roles=["analyst", "viewer"])
    assert await auth.authenticate(f"Bearer {tok}") == Principal("alice", "acme", ("analyst", "viewer"), "jwt")
    assert jwt.get_unverified_header(tok)["alg"] == "EdDSA"

    single = dev_token(dev, sub="bob", tenant="acme", roles="analyst", purpose="demo")
    body = jwt.decode(single, options={"verify_signature": False})
    assert body["roles"] == ["analyst"] and body["purpose"] == "demo"
    assert body["iss"] == dev.issuer and body["aud"] == dev.audience
    assert body["exp"] - body["iat"] == 3600


async def test_dev_token_expiry_and_overrides_are_enforced(dev: DevIdentityConfig, tmp_path: Path) -> None:
    jwks_file = tmp_path / "dev.jwks.json"
    ensure_dev_issuer(dev, jwks_file)
    auth = build_authenticator(identity_for(dev, jwks_file))
    old = dev_token(dev, sub="alice", tenant="acme", roles=[], ttl_seconds=60, now=time.time() - 3600)
    with pytest.raises(AuthError, match="token expired"):
        await auth.authenticate(f"Bearer {old}")
    wrong_aud = dev_token(dev, sub="alice", tenant="acme", roles=[], aud="elsewhere")
    with pytest.raises(AuthError, match="audience 'elsewhere'"):
        await auth.authenticate(f"Bearer {wrong_aud}")


async def test_new_dev_key_rotates_through_the_jwks_file(dev: DevIdentityConfig, tmp_path: Path) -> None:
    jwks_file = tmp_path / "dev.jwks.json"
    ensure_dev_issuer(dev, jwks_file)
    auth = build_authenticator(identity_for(dev, jwks_file))
    await auth.authenticate(f"Bearer {dev_token(dev, sub='a', tenant='t', roles=[])}")
    dev.key_file.unlink()
    ensure_dev_issuer(dev, jwks_file)
    assert (await auth.authenticate(f"Bearer {dev_token(dev, sub='b', tenant='t', roles=[])}")).person == "b"


def test_missing_or_wrong_key(dev: DevIdentityConfig) -> None:
    with pytest.raises(DevIssuerError, match="does not exist"):
        dev_token(dev, sub="a", tenant="t", roles=[])
    dev.key_file.parent.mkdir(parents=True)
    dev.key_file.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(DevIssuerError, match="not an Ed25519 key"):
        dev_token(dev, sub="a", tenant="t", roles=[])
    dev.key_file.write_text("garbage")
    with pytest.raises(DevIssuerError, match="not an unencrypted PEM"):
        ensure_dev_issuer(dev, dev.key_file.with_name("x.json"))
    with pytest.raises(ValueError):
        dev_token(dev, sub="a", tenant="t", roles=[], ttl_seconds=0)
