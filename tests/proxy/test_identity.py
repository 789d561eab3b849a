"""Authentication: real keys, real signatures, forged tokens, a real JWKS server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ledgergate.config import ApiKeyConfig, ClaimMapping, IdentityConfig, IssuerConfig
from ledgergate.proxy.errors import AuthError
from ledgergate.proxy.identity import (
    API_KEY_PREFIX,
    Authenticator,
    Principal,
    build_authenticator,
    hash_api_key,
    new_api_key,
)
from ledgergate.proxy.jwks import JwksCache

ISS = "https://idp.example.test"
AUD = "ledgergate"
NOW = 1_800_000_000.0

# key generation is the slow part (RSA): once per module
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()
OTHER_ED_KEY = ed25519.Ed25519PrivateKey.generate()

KEYS: dict[str, tuple[Any, str]] = {"rsa-1": (RSA_KEY, "RS256"), "ec-1": (EC_KEY, "ES256"), "ed-1": (ED_KEY, "EdDSA")}


def public_jwk(priv: Any, kid: str, alg: str) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name(alg)
    jwk = algo.to_jwk(priv.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def jwks_of(keys: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    return {"keys": [public_jwk(k, kid, alg) for kid, (k, alg) in keys.items()]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"iss": ISS, "aud": AUD, "sub": "alice", "tenant": "acme",
                         "roles": ["analyst", "viewer"], "iat": int(NOW), "exp": int(NOW) + 600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(kid: str = "ed-1", *, key: Any = None, alg: str | None = None, headers: dict[str, Any] | None = None,
         **over: Any) -> str:
    k, a = KEYS.get(kid, (None, "EdDSA"))
    return jwt.encode(claims(**over), key or k, algorithm=alg or a, headers={"kid": kid, **(headers or {})})


def raw_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"sig") -> str:
    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature)])


def hs256_with_rsa_public_key() -> str:
    # the algorithm-confusion forgery: HMAC keyed with the issuer's public PEM
    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    h = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims(roles=["admin"])).encode())
    sig = hmac.new(pem, f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"


def tampered() -> str:
    h, _, s = sign().split(".")
    return ".".join([h, b64(json.dumps(claims(roles=["admin"])).encode()), s])


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    p = tmp_path / "jwks.json"
    p.write_text(json.dumps(jwks_of(KEYS)))
    return p


API_KEY = "lgk_" + "k" * 40


def identity(jwks: Path | None = None, url: str | None = None, **issuer: Any) -> IdentityConfig:
    iss = IssuerConfig(issuer=ISS, audience=AUD, jwks_file=jwks, jwks_url=url, **issuer)
    return IdentityConfig(issuers=(iss,), leeway_seconds=30, max_token_bytes=8192, api_keys=(
        ApiKeyConfig(id="batch", sha256=hash_api_key(API_KEY), person="svc-batch", tenant="acme",
                     roles=("batch",)),))


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def auth(jwks_file: Path, clock: Clock) -> Authenticator:
    cfg = identity(jwks_file)
    return Authenticator(cfg, {ISS: JwksCache.for_issuer(cfg.issuers[0])}, clock=clock)


async def refused(auth: Authenticator, header: str | None, api_key: str | None = None) -> AuthError:
    with pytest.raises(AuthError) as ei:
        await auth.authenticate(header, api_key)
    err = ei.value
    assert err.status == 401
    assert err.body()["error"]["type"] == "authentication_error"
    # the credential is never echoed back
    if header and len(header) > 12:
        cred = header.split(" ", 1)[-1]
        for part in cred.split("."):
            if len(part) > 12:
                assert part not in err.message
    return err


# ---------------------------------------------------------------------- accepted

@pytest.mark.parametrize("kid", ["rsa-1", "ec-1", "ed-1"])
async def test_valid_tokens_accepted_per_algorithm(auth: Authenticator, kid: str) -> None:
    p = await auth.authenticate(f"Bearer {sign(kid)}")
    assert p == Principal("alice", "acme", ("analyst", "viewer"), "jwt")


async def test_claim_mapping_space_separated_roles_and_nested_claims(jwks_file: Path, clock: Clock) -> None:
    cfg = identity(jwks_file, claims=ClaimMapping(person="email", tenant="org.id", roles="scope"))
    auth = Authenticator(cfg, {ISS: JwksCache.for_issuer(cfg.issuers[0])}, clock=clock)
    tok = sign(email="bob@acme.test", org={"id": "acme-eu"}, scope="read  write read", roles=None)
    assert await auth.authenticate(f"bearer {tok}") == Principal("bob@acme.test", "acme-eu", ("read", "write"), "jwt")


async def test_audience_list_and_missing_roles(auth: Authenticator) -> None:
    p = await auth.authenticate(f"Bearer {sign(aud=['other', AUD], roles=None)}")
    assert p.roles == () and p.person == "alice"


@pytest.mark.parametrize("over, ok", [
    ({"exp": int(NOW) - 20}, True),           # expired 20 s ago, leeway 30 s
    ({"exp": int(NOW) - 40}, False),
    ({"nbf": int(NOW) + 20}, True),
    ({"nbf": int(NOW) + 40}, False),
    ({"iat": int(NOW) + 20}, True),
    ({"iat": int(NOW) + 40}, False),
])
async def test_leeway_honoured(auth: Authenticator, over: dict[str, Any], ok: bool) -> None:
    tok = f"Bearer {sign(**over)}"
    if ok:
        assert (await auth.authenticate(tok)).person == "alice"
    else:
        await refused(auth, tok)


# ---------------------------------------------------------------------- refused

FORGED: list[tuple[str, Callable[[], str | None], str]] = [
    ("missing header", lambda: None, "missing credentials"),
    ("empty header", lambda: "", "missing credentials"),
    ("bearer without token", lambda: "Bearer ", "missing token"),
    ("not bearer", lambda: "Basic YWxpY2U6cHc=", "expected 'Bearer <token>'"),
    ("alg none", lambda: "Bearer " + raw_token({"alg": "none", "kid": "ed-1"}, claims(), b""),
     "alg: none"),
    ("alg None capitalised", lambda: "Bearer " + raw_token({"alg": "None", "kid": "ed-1"}, claims()), "alg: none"),
    ("HS256 with RSA public key", lambda: "Bearer " + hs256_with_rsa_public_key(), "HS256"),
    ("unsupported alg", lambda: "Bearer " + raw_token({"alg": "PS256", "kid": "rsa-1"}, claims()),
     "'PS256' is not supported"),
    ("no alg", lambda: "Bearer " + raw_token({"kid": "rsa-1"}, claims()), "no 'alg'"),
    ("no kid", lambda: "Bearer " + jwt.encode(claims(), ED_KEY, algorithm="EdDSA"), "no 'kid'"),
    ("unknown kid", lambda: "Bearer " + sign("nope", key=OTHER_ED_KEY, alg="EdDSA"), "unknown signing key: kid 'nope'"),
    ("bad signature (tampered payload)", lambda: "Bearer " + tampered(), "invalid token signature"),
    ("signed by another key", lambda: "Bearer " + sign("ed-1", key=OTHER_ED_KEY), "invalid token signature"),
    ("alg does not match key", lambda: "Bearer " + sign("rsa-1", key=EC_KEY, alg="ES256"),
     "does not match key 'rsa-1'"),
    ("expired", lambda: "Bearer " + sign(exp=int(NOW) - 3600), "token expired at"),
    ("no exp", lambda: "Bearer " + sign(exp=None), "no 'exp' claim"),
    ("exp not a number", lambda: "Bearer " + sign(exp="tomorrow"), "'exp' claim is not a number"),
    ("nbf in future", lambda: "Bearer " + sign(nbf=int(NOW) + 3600), "not valid yet"),
    ("iat in future", lambda: "Bearer " + sign(iat=int(NOW) + 3600), "issued in the future"),
    ("wrong iss", lambda: "Bearer " + sign(iss="https://evil.example"), "issuer 'https://evil.example' is not trusted"),
    ("no iss", lambda: "Bearer " + sign(iss=None), "no 'iss' claim"),
    ("wrong aud", lambda: "Bearer " + sign(aud="someone-else"),
     "audience 'someone-else' does not include 'ledgergate'"),
    ("no aud", lambda: "Bearer " + sign(aud=None), "no 'aud' claim"),
    ("no person claim", lambda: "Bearer " + sign(sub=None), "no 'sub' claim"),
    ("no tenant claim", lambda: "Bearer " + sign(tenant=None), "no 'tenant' claim"),
    ("roles wrong type", lambda: "Bearer " + sign(roles={"a": 1}), "'roles' (roles) is not a list"),
    ("crit header", lambda: "Bearer " + sign(headers={"crit": ["exp"], "exp": 1}), "critical extensions"),
    ("oversized", lambda: "Bearer " + sign(pad="x" * 9000), "token too large"),
    ("oversized header", lambda: "Bearer " + "a" * 100_000, "token too large"),
    ("one part", lambda: "Bearer xyzzyplugh", "3 dot-separated parts, this has 1"),
    ("two parts", lambda: "Bearer xyzzy.plugh", "this has 2"),
    ("four parts", lambda: "Bearer " + sign() + ".extra", "this has 4"),
    ("bad base64 header", lambda: "Bearer !!!.e30.c2ln", "header is not base64url"),
    ("bad base64 payload", lambda: "Bearer " + b64(b'{"alg":"EdDSA","kid":"ed-1"}') + ".e30*.c2ln",
     "payload is not base64url"),
    ("impossible base64 length", lambda: "Bearer " + b64(b'{"alg":"EdDSA","kid":"ed-1"}') + ".abcde.c2ln",
     "payload is not base64url"),
    ("header not JSON", lambda: "Bearer " + b64(b"not json") + ".e30.c2ln", "header is not valid JSON"),
    ("header JSON list", lambda: "Bearer " + b64(b"[1]") + ".e30.c2ln", "header is not a JSON object"),
    ("payload not JSON", lambda: "Bearer " + b64(b'{"alg":"EdDSA","kid":"ed-1"}') + "." + b64(b"{nope") + ".c2ln",
     "payload is not valid JSON"),
    ("empty signature", lambda: "Bearer " + b64(b'{"alg":"EdDSA","kid":"ed-1"}') + ".e30.", "signature is empty"),
    ("non-ascii", lambda: "Bearer é.e30.c2ln", "non-ASCII"),
    ("spaces in token", lambda: "Bearer abc def", "expected 'Bearer <token>'"),
]


@pytest.mark.parametrize("make, expected", [(m, e) for _, m, e in FORGED], ids=[n for n, _, _ in FORGED])
async def test_forged_and_broken_tokens_refused(auth: Authenticator, make: Callable[[], str | None],
                                                expected: str) -> None:
    err = await refused(auth, make())
    assert expected in err.message


async def test_issuer_algorithm_allow_list(jwks_file: Path, clock: Clock) -> None:
    cfg = identity(jwks_file, algorithms=("EdDSA",))
    auth = Authenticator(cfg, {ISS: JwksCache.for_issuer(cfg.issuers[0])}, clock=clock)
    assert (await auth.authenticate(f"Bearer {sign('ed-1')}")).person == "alice"
    err = await refused(auth, f"Bearer {sign('rsa-1')}")
    assert "RS256 is not accepted for issuer" in err.message


async def test_expired_code_lets_clients_refresh(auth: Authenticator) -> None:
    err = await refused(auth, f"Bearer {sign(exp=int(NOW) - 3600)}")
    assert err.code == "token_expired"


# ---------------------------------------------------------------------- api keys

async def test_api_key_accepted_in_authorization_and_api_key_header(auth: Authenticator) -> None:
    want = Principal("svc-batch", "acme", ("batch",), "api_key")
    assert await auth.authenticate(f"Bearer {API_KEY}") == want
    assert await auth.authenticate(None, API_KEY) == want
    assert await auth.authenticate(f"Bearer {API_KEY}", API_KEY) == want


@pytest.mark.parametrize("header, api_key, expected", [
    (f"Bearer {API_KEY}x", None, "invalid API key"),
    ("Bearer lgk_", None, "invalid API key"),
    (None, "sk-openai-style", "start with 'lgk_'"),
    (None, API_KEY + "x", "invalid API key"),
    (f"Bearer {API_KEY}", new_api_key(), "conflicting credentials"),
])
async def test_api_key_refused(auth: Authenticator, header: str | None, api_key: str | None, expected: str) -> None:
    err = await refused(auth, header, api_key)
    assert expected in err.message
    assert API_KEY not in err.message


def test_api_key_helpers() -> None:
    k = new_api_key()
    assert k.startswith(API_KEY_PREFIX) and len(k) > 40
    assert hash_api_key("lgk_abc") == hashlib.sha256(b"lgk_abc").hexdigest()


# ---------------------------------------------------------------------- jwks file

async def test_file_jwks_read_once_and_rotation_picked_up(jwks_file: Path, clock: Clock) -> None:
    cfg = identity(jwks_file)
    mono = Clock(1000.0)
    cache = JwksCache.for_issuer(cfg.issuers[0], clock=mono)
    auth = Authenticator(cfg, {ISS: cache}, clock=clock)
    for _ in range(50):
        await auth.authenticate(f"Bearer {sign('ed-1')}")
    assert cache.load_count == 1  # no per-request reads

    new_key = ed25519.Ed25519PrivateKey.generate()
    KEYS["ed-2"] = (new_key, "EdDSA")
    try:
        tmp = jwks_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(jwks_of(KEYS)))
        os.replace(tmp, jwks_file)
        # an unknown kid makes the cache stat the file at once, no waiting
        assert (await auth.authenticate(f"Bearer {sign('ed-2')}")).person == "alice"
        assert cache.load_count == 2
    finally:
        del KEYS["ed-2"]


async def test_file_jwks_missing_or_broken(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "absent.json"
    cfg = identity(path)
    auth = Authenticator(cfg, {ISS: JwksCache.for_issuer(cfg.issuers[0])}, clock=clock)
    err = await refused(auth, f"Bearer {sign()}")
    assert "cannot read JWKS file" in err.message and str(path) in err.message
    path.write_text("{not json")
    err = await refused(auth, f"Bearer {sign()}")
    assert "not valid JSON" in err.message


async def test_unusable_keys_are_skipped(tmp_path: Path, clock: Clock) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    doc = jwks_of(KEYS)
    doc["keys"] += [
        {"kty": "oct", "kid": "hmac", "k": b64(b"secret")},
        {**public_jwk(small, "small", "RS256")},
        {**public_jwk(ED_KEY, "enc", "EdDSA"), "use": "enc"},
        # claims ES256 but is a P-384 key: the curve must match the algorithm
        {**jwt.get_algorithm_by_name("ES384").to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(),
                                                       as_dict=True), "kid": "p384", "alg": "ES256"},
        {**public_jwk(ED_KEY, "private", "EdDSA"), "d": b64(b"x" * 32)},
        "junk",
    ]
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(doc))
    cache = JwksCache(file=path)
    await cache.get("ed-1")
    assert set(cache.kids) == {"rsa-1", "ec-1", "ed-1"}


def test_constructor_does_no_io(tmp_path: Path) -> None:
    cfg = identity(tmp_path / "does-not-exist.json")
    auth = build_authenticator(cfg)
    assert isinstance(auth, Authenticator)
    with pytest.raises(ValueError):
        Authenticator(cfg, {})


# ---------------------------------------------------------------------- jwks over http

class JwksServer:
    """A real HTTP server on 127.0.0.1 serving a JWKS the test can change."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = jwks_of(KEYS)
        self.status = 200
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                outer.hits += 1
                body = json.dumps(outer.jwks).encode() if outer.status == 200 else b"boom"
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[JwksServer]:
    with JwksServer() as s:
        yield s


def url_auth(server: JwksServer, clock: Clock, mono: Clock, **issuer: Any) -> tuple[Authenticator, JwksCache]:
    cfg = identity(url=server.url, **issuer)
    cache = JwksCache.for_issuer(cfg.issuers[0], clock=mono)
    return Authenticator(cfg, {ISS: cache}, clock=clock), cache


async def test_http_jwks_cached_and_key_rotation(server: JwksServer, clock: Clock) -> None:
    mono = Clock(1000.0)
    auth, cache = url_auth(server, clock, mono)
    for _ in range(20):
        await auth.authenticate(f"Bearer {sign('rsa-1')}")
    assert server.hits == 1

    new_key = ed25519.Ed25519PrivateKey.generate()
    server.jwks = jwks_of({**KEYS, "ed-2": (new_key, "EdDSA")})
    token = "Bearer " + jwt.encode(claims(), new_key, algorithm="EdDSA", headers={"kid": "ed-2"})
    # just fetched: the unknown kid does not trigger a refetch yet
    err = await refused(auth, token)
    assert "unknown signing key: kid 'ed-2'" in err.message
    assert server.hits == 1

    mono.t += 31
    assert (await auth.authenticate(token)).person == "alice"
    assert server.hits == 2

    # a flood of made-up kids costs at most one refetch per 30 s
    mono.t += 31
    for i in range(50):
        await refused(auth, "Bearer " + jwt.encode(claims(), OTHER_ED_KEY, algorithm="EdDSA",
                                                   headers={"kid": f"bogus-{i}"}))
    assert server.hits == 3

    # the cache expires after jwks_cache_seconds (300 by default)
    mono.t += 300
    await auth.authenticate(token)
    assert server.hits == 4
    assert cache.load_count == 4


async def test_http_jwks_concurrent_cold_start_fetches_once(server: JwksServer, clock: Clock) -> None:
    import asyncio

    auth, _ = url_auth(server, clock, Clock(1000.0))
    got = await asyncio.gather(*(auth.authenticate(f"Bearer {sign(kid)}") for kid in ["rsa-1", "ec-1", "ed-1"] * 10))
    assert {p.person for p in got} == {"alice"}
    assert server.hits == 1


async def test_http_jwks_failure_without_keys_is_401_and_backs_off(server: JwksServer, clock: Clock) -> None:
    server.status = 500
    mono = Clock(1000.0)
    auth, _ = url_auth(server, clock, mono)
    err = await refused(auth, f"Bearer {sign()}")
    assert "cannot verify tokens of issuer" in err.message and "HTTP 500" in err.message
    assert server.url in err.message
    err = await refused(auth, f"Bearer {sign()}")
    assert "HTTP 500" in err.message
    assert server.hits == 1  # failed a moment ago: not retried on every request

    server.status = 200
    mono.t += 6
    assert (await auth.authenticate(f"Bearer {sign()}")).person == "alice"
    assert server.hits == 2


async def test_http_jwks_failure_keeps_stale_keys(server: JwksServer, clock: Clock) -> None:
    mono = Clock(1000.0)
    auth, _ = url_auth(server, clock, mono, jwks_cache_seconds=60)
    await auth.authenticate(f"Bearer {sign()}")
    server.status = 503
    mono.t += 61
    assert (await auth.authenticate(f"Bearer {sign()}")).person == "alice"
    assert server.hits == 2
    # the unknown-kid message says the refresh failed
    mono.t += 31
    err = await refused(auth, "Bearer " + jwt.encode(claims(), OTHER_ED_KEY, algorithm="EdDSA",
                                                     headers={"kid": "new"}))
    assert "refreshing the JWKS failed" in err.message and "HTTP 503" in err.message


async def test_http_jwks_unreachable(clock: Clock) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = identity(url=f"http://127.0.0.1:{port}/jwks.json")
    auth = Authenticator(cfg, {ISS: JwksCache.for_issuer(cfg.issuers[0], timeout_seconds=2)}, clock=clock)
    err = await refused(auth, f"Bearer {sign()}")
    assert "fetching JWKS from http://127.0.0.1" in err.message and "failed" in err.message


async def test_build_authenticator_against_http_issuer(server: JwksServer) -> None:
    auth = build_authenticator(identity(url=server.url))
    now = int(time.time())
    tok = sign("ec-1", iat=now, exp=now + 60)
    assert (await auth.authenticate(f"Bearer {tok}")).tenant == "acme"


@pytest.mark.parametrize("header, api_key, expected", [
    (None, None, ("anonymous", "unknown", "none")),
    ("Bearer lgk_not-a-configured-key", None, ("anonymous", "unknown", "unverified-api_key")),
    ("Bearer garbage", None, ("anonymous", "unknown", "unverified-token")),
    ("Bearer " + raw_token({"alg": "none"}, {"iss": ISS, "sub": "mallory", "tenant": "acme"}), None,
     ("mallory", "acme", "unverified-jwt")),
    ("Bearer " + raw_token({"alg": "none"}, {"sub": "x\ud800\n" + "y" * 300}), None,
     (None, "unknown", "unverified-jwt")),
])
def test_claimed_identity_is_read_never_trusted_and_never_the_token(auth: Authenticator, header, api_key,
                                                                   expected) -> None:
    p = auth.claimed(header, api_key)
    person, tenant, method = expected
    assert (p.tenant, p.auth_method, p.roles) == (tenant, method, ())
    if person is not None:
        assert p.person == person
    else:  # unprintable and overlong claims are cut and replaced
        assert len(p.person) == 100 and "\n" not in p.person and "\ud800" not in p.person
    assert header is None or header.split(" ", 1)[1] not in repr(p)
