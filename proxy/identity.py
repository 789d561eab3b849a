"""Who is calling: OIDC bearer tokens and service API keys, turned into a :class:`Principal`.

Every request carries ``Authorization: Bearer <credential>``. The credential is
one of:

* a **service API key** — recognised by the prefix ``lgk_`` (:data:`API_KEY_PREFIX`).
  The config stores only its SHA-256 hex (:func:`hash_api_key`); the presented
  key is hashed and compared with every configured hash in constant time.
  Clients that send keys in a separate header (e.g. ``api-key``) pass it as
  ``api_key``.
* an **OIDC JWT** from a configured issuer, signed with RS256, ES256 or EdDSA
  (per issuer's ``algorithms``). The issuer is chosen by the token's ``iss``
  claim, its key by the header's ``kid`` from that issuer's JWKS; then ``iss``,
  ``aud``, ``exp`` (required), ``nbf`` and ``iat`` (when present) are checked
  with ``leeway_seconds`` of clock skew, and the claims are mapped to person,
  tenant and roles by the issuer's :class:`~ledgergate.config.ClaimMapping`.

Every refusal is an :class:`~ledgergate.proxy.errors.AuthError` (401) whose
message names the problem and never contains the credential. Key headers a
token may carry to point at its own key (``jku``, ``jwk``, ``x5u``, ``x5c``) are
ignored: keys come only from the configured JWKS.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledgergate.proxy.config import ClaimMapping, IdentityConfig, IssuerConfig
from ledgergate.proxy.errors import AuthError
from ledgergate.proxy.jwks import SUPPORTED_ALGORITHMS, JwksCache, shown_kid

log = logging.getLogger(__name__)

#: Service API keys start with this prefix, so they are told apart from JWTs
#: without trying to parse them (and leaked keys are easy to grep for).
API_KEY_PREFIX = "lgk_"

_ALGS_SHOWN = ", ".join(sorted(SUPPORTED_ALGORITHMS))
_B64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
_SHOWN = 100  # untrusted claim values in messages are cut to this many characters



@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``person`` is the human or service the request is attributed to, ``tenant``
    the organisation it belongs to, ``roles`` what routes it may use, and
    ``auth_method`` how it proved it: ``"jwt"`` or ``"api_key"``.
    """

    person: str
    tenant: str
    roles: tuple[str, ...]
    auth_method: str


def hash_api_key(key: str) -> str:
    """The SHA-256 hex of a service API key: the value the config stores as ``sha256``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A fresh random service API key (``lgk_`` + 256 bits, URL-safe base64)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class _Issuer:
    cfg: IssuerConfig
    jwks: JwksCache
    algorithms: frozenset[str]
    claims: ClaimMapping


@dataclass(frozen=True, slots=True)
class _ApiKey:
    digest: bytes
    principal: Principal


class Authenticator:
    """Turns the ``Authorization`` header (or an API key header) into a :class:`Principal`.

    ``jwks`` maps each configured issuer (its ``issuer`` string) to the cache of
    its keys; ``clock`` gives the Unix time used for ``exp``/``nbf``/``iat``.
    """

    def __init__(self, cfg: IdentityConfig, jwks: Mapping[str, JwksCache], *,
                 clock: Callable[[], float] = time.time) -> None:
        self._cfg = cfg
        self._clock = clock
        self._leeway = cfg.leeway_seconds
        self._max = cfg.max_token_bytes
        self._issuers: dict[str, _Issuer] = {}
        for iss in cfg.issuers:
            if iss.issuer in self._issuers:
                raise ValueError(f"identity.issuers: issuer {iss.issuer!r} is configured twice")
            cache = jwks.get(iss.issuer)
            if cache is None:
                raise ValueError(f"no JWKS cache given for issuer {iss.issuer!r}")
            self._issuers[iss.issuer] = _Issuer(iss, cache, frozenset(iss.algorithms), iss.claims)
        self._api_keys = tuple(
            _ApiKey(bytes.fromhex(k.sha256), Principal(k.person, k.tenant, tuple(k.roles), "api_key"))
            for k in cfg.api_keys)

    async def authenticate(self, authorization: str | None, api_key: str | None = None) -> Principal:
        """Authenticate one request.

        ``authorization`` is the raw ``Authorization`` header, ``api_key`` the
        value of a separate API key header if the client sent one. Raises
        :class:`AuthError` (401) naming the problem.
        """
        try:
            credential = self._credential(authorization, api_key)
            if credential.startswith(API_KEY_PREFIX):
                return self._check_api_key(credential)
            return await self._check_jwt(credential)
        except AuthError as exc:
            # messages never contain the credential, so they are safe to log
            log.debug("authentication refused: %s", exc.message)
            raise

    def claimed(self, authorization: str | None, api_key: str | None = None) -> Principal:
        """What can be read of the identity a refused caller *claims*, for its audit trace.

        Nothing is verified and the credential is never part of the answer: for a
        JWT, its unverified person and tenant claims (by the claimed issuer's claim
        mapping, cut to 100 characters) with ``auth_method`` ``unverified-jwt``; for
        an API key only ``unverified-api_key``; ``none`` without credentials.
        Unknown parts read ``anonymous`` / ``unknown``.
        """
        cred = (api_key or "").strip()
        if not cred and authorization:
            cred = authorization.strip().partition(" ")[2].strip()
        if not cred:
            return Principal("anonymous", "unknown", (), "none")
        if cred.startswith(API_KEY_PREFIX) or cred.count(".") != 2 or len(cred) > self._max:
            return Principal("anonymous", "unknown", (), "unverified-api_key"
                             if cred.startswith(API_KEY_PREFIX) else "unverified-token")
        try:
            claims = _json_segment(cred.split(".")[1], "payload")
        except AuthError:
            return Principal("anonymous", "unknown", (), "unverified-token")
        iss = claims.get("iss")
        issuer = self._issuers.get(iss) if isinstance(iss, str) else None
        mapping = issuer.claims if issuer is not None else ClaimMapping()
        person, tenant = _claim(claims, mapping.person), _claim(claims, mapping.tenant)
        return Principal(_readable(person, "anonymous"), _readable(tenant, "unknown"), (), "unverified-jwt")

    # ------------------------------------------------------------------ credential

    def _credential(self, authorization: str | None, api_key: str | None) -> str:
        bearer: str | None = None
        if authorization is not None and authorization.strip():
            # cut before splitting: a megabyte header must not cost a megabyte of work
            if len(authorization) > self._max + 64:
                raise _too_big(len(authorization), self._max)
            scheme, _, rest = authorization.strip().partition(" ")
            bearer = rest.strip()
            if scheme.lower() != "bearer" or " " in bearer:
                raise AuthError("invalid Authorization header: expected 'Bearer <token>'")
            if not bearer:
                raise AuthError("missing token: the Authorization header has nothing after 'Bearer'")
        if api_key is not None and api_key.strip():
            key = api_key.strip()
            if not key.startswith(API_KEY_PREFIX):
                raise AuthError(f"invalid API key: service API keys start with {API_KEY_PREFIX!r}",
                                code="invalid_api_key")
            if bearer is not None and not hmac.compare_digest(bearer.encode(), key.encode()):
                raise AuthError("conflicting credentials: the Authorization header and the API key header differ")
            bearer = key
        if bearer is None:
            raise AuthError("missing credentials: send 'Authorization: Bearer <token>' "
                            f"with an OIDC token or a service API key ({API_KEY_PREFIX}...)")
        if len(bearer) > self._max:
            raise _too_big(len(bearer), self._max)
        if not bearer.isascii():
            raise AuthError("malformed token: it contains non-ASCII characters")
        return bearer

    def _check_api_key(self, key: str) -> Principal:
        digest = hashlib.sha256(key.encode("ascii")).digest()
        found: Principal | None = None
        # compare against every configured key without stopping early, so the
        # time taken does not say how far down the list a match was
        for k in self._api_keys:
            if hmac.compare_digest(digest, k.digest):
                found = k.principal
        if found is None:
            raise AuthError("invalid API key: it is not a configured service key", code="invalid_api_key")
        return found

    # ------------------------------------------------------------------ jwt

    async def _check_jwt(self, token: str) -> Principal:
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthError(f"malformed token: a JWT has 3 dot-separated parts, this has {len(parts)} "
                            f"(service API keys start with {API_KEY_PREFIX!r})")
        header = _json_segment(parts[0], "header")
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise AuthError("malformed token: the header has no 'alg'")
        if alg.lower() == "none":
            raise AuthError("unsigned token refused: 'alg: none' is never accepted")
        if alg.upper().startswith("HS"):
            # an HMAC token "signed" with an issuer's public key is the classic
            # algorithm-confusion forgery; public-key issuers never issue these
            raise AuthError(f"token algorithm {shown(alg)} refused: symmetric (HMAC) signatures are "
                            f"not accepted, only {_ALGS_SHOWN}")
        if alg not in SUPPORTED_ALGORITHMS:
            raise AuthError(f"token algorithm {shown(alg)} is not supported: use one of {_ALGS_SHOWN}")
        if "crit" in header or "b64" in header:
            raise AuthError("token header has critical extensions ('crit'/'b64'), which are not supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("malformed token: the header has no 'kid' naming the signing key")
        claims = _json_segment(parts[1], "payload")
        signature = _b64_segment(parts[2], "signature")

        iss = claims.get("iss")
        if not isinstance(iss, str) or not iss:
            raise AuthError("token has no 'iss' claim naming its issuer")
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise AuthError(f"token issuer {shown(iss)} is not trusted")
        if alg not in issuer.algorithms:
            raise AuthError(f"token algorithm {alg} is not accepted for issuer {iss!r}: "
                            f"it accepts {', '.join(issuer.cfg.algorithms)}")

        key = await issuer.jwks.get(kid)
        if key.algorithm_name != alg:
            # the key decides the algorithm, never the token: an ES256 header
            # naming an RSA key is refused, not verified some other way
            raise AuthError(f"token algorithm {alg} does not match key {shown_kid(kid)}, "
                            f"which is an {key.algorithm_name} key")
        # The segments were decoded and checked above, and the key was prepared
        # (type, curve, size) when the JWKS was loaded, so the signature is
        # verified directly with the key's algorithm: going through
        # PyJWS.decode_complete would decode everything a second time, about a
        # third of the cost of a request.
        signing_input = token[: token.rfind(".")].encode("ascii")
        try:
            ok = key.Algorithm.verify(signing_input, key.key, signature)
        except (ValueError, TypeError) as exc:
            raise AuthError(f"invalid token signature: it cannot be checked with key {shown_kid(kid)}") from exc
        if not ok:
            raise AuthError(f"invalid token signature: it does not verify with the issuer's key {shown_kid(kid)}")

        self._check_times(claims)
        _check_audience(claims, issuer.cfg.audience)
        return _principal(claims, issuer.claims)

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        leeway = self._leeway
        exp = _number(claims, "exp")
        if exp is None:
            raise AuthError("token has no 'exp' claim: tokens without an expiry are refused")
        if now > exp + leeway:
            raise AuthError(f"token expired at {_iso(exp)} ({int(now - exp)} s ago)",
                            code="token_expired")
        nbf = _number(claims, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise AuthError(f"token is not valid yet: 'nbf' is {_iso(nbf)}, {int(nbf - now)} s from now")
        iat = _number(claims, "iat")
        if iat is not None and now + leeway < iat:
            raise AuthError(f"token was issued in the future: 'iat' is {_iso(iat)}, {int(iat - now)} s from now")


def build_authenticator(cfg: IdentityConfig) -> Authenticator:
    """The authenticator for a configuration: one :class:`JwksCache` per issuer. No I/O here.

    Keys are loaded on the first request of each issuer. For the dev issuer, call
    :func:`ledgergate.proxy.devissuer.ensure_dev_issuer` before serving so its
    JWKS file exists.
    """
    return Authenticator(cfg, {i.issuer: JwksCache.for_issuer(i) for i in cfg.issuers})


# ---------------------------------------------------------------------- helpers

def shown(value: str) -> str:
    """An untrusted string fit for an error message: quoted and bounded."""
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _too_big(size: int, limit: int) -> AuthError:
    return AuthError(f"token too large: {size} bytes, the limit is {limit} bytes")


def _b64_segment(seg: str, name: str) -> bytes:
    if not seg:
        raise AuthError(f"malformed token: the {name} is empty")
    if not _B64URL.match(seg):
        raise AuthError(f"malformed token: the {name} is not base64url")
    try:
        return base64.urlsafe_b64decode(seg.rstrip("=") + "=" * (-len(seg.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise AuthError(f"malformed token: the {name} is not base64url") from exc


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise AuthError(f"malformed token: the {name} is not valid JSON") from exc
    if not isinstance(obj, dict):
        raise AuthError(f"malformed token: the {name} is not a JSON object")
    return obj


def _json_segment(seg: str, name: str) -> dict[str, Any]:
    return _json_object(_b64_segment(seg, name), name)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    v = claims.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise AuthError(f"malformed token: the {name!r} claim is not a number (NumericDate)")
    return float(v)


def _iso(ts: float) -> str:
    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return repr(ts)


def _check_audience(claims: Mapping[str, Any], audience: str) -> None:
    aud = claims.get("aud")
    if aud is None:
        raise AuthError(f"token has no 'aud' claim; expected audience {audience!r}")
    auds = [aud] if isinstance(aud, str) else aud
    if not isinstance(auds, list) or not all(isinstance(a, str) for a in auds):
        raise AuthError("malformed token: the 'aud' claim is not a string or a list of strings")
    if audience not in auds:
        got = ", ".join(shown(a) for a in auds[:5]) or "none"
        raise AuthError(f"token audience {got} does not include {audience!r}")


def _readable(v: Any, default: str) -> str:
    """An untrusted claim as a short printable string (lone surrogates and controls replaced)."""
    if not isinstance(v, str) or not v.strip():
        return default
    v = "".join(c if c.isprintable() and not "\ud800" <= c <= "\udfff" else "\ufffd" for c in v[:_SHOWN])
    return v


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    # an exact key wins, so namespaced claims such as "https://example.com/roles"
    # work; otherwise a dotted name walks nested objects ("realm_access.roles")
    if name in claims:
        return claims[name]
    cur: Any = claims
    for part in name.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _principal(claims: Mapping[str, Any], mapping: ClaimMapping) -> Principal:
    person = _claim(claims, mapping.person)
    if not isinstance(person, str) or not person:
        raise AuthError(f"token has no {mapping.person!r} claim (the caller's identity)" if person is None
                        else f"token claim {mapping.person!r} (the caller's identity) is not a non-empty string")
    tenant = _claim(claims, mapping.tenant)
    if not isinstance(tenant, str) or not tenant:
        raise AuthError(f"token has no {mapping.tenant!r} claim (the caller's tenant)" if tenant is None
                        else f"token claim {mapping.tenant!r} (the caller's tenant) is not a non-empty string")
    raw = _claim(claims, mapping.roles)
    if raw is None:
        roles: tuple[str, ...] = ()
    elif isinstance(raw, str):
        roles = tuple(dict.fromkeys(raw.split()))
    elif isinstance(raw, list) and all(isinstance(r, str) for r in raw):
        roles = tuple(dict.fromkeys(r for r in raw if r))
    else:
        raise AuthError(f"token claim {mapping.roles!r} (roles) is not a list of strings "
                        "or a space-separated string")
    return Principal(person, tenant, roles, "jwt")
