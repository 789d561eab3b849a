"""Signing keys of a trusted issuer, by ``kid``, from a JWKS URL or a local JWKS file.

:class:`JwksCache` sits on the request path, so the common case — the key is
cached and fresh — is a dict lookup with no I/O and no parsing: keys are parsed
into PyJWT key objects once, when the set is (re)loaded.

Refresh rules:

* **URL**: the set is fetched on first use and again when it is older than
  ``cache_seconds``. A token naming a ``kid`` that is not in the set triggers one
  refetch, but at most once per ``min_refetch_seconds`` (30 s): key rotation
  works without a restart, yet a flood of tokens with made-up ``kid`` values
  cannot turn the gateway into a load generator against the identity provider.
  When a refresh fails but an earlier set is cached, the earlier set stays in use
  (the IdP being briefly down should not take every caller down with it) and the
  refresh is retried after ``retry_seconds``; with nothing cached the failure is
  an :class:`~ledgergate.proxy.errors.AuthError`.
* **File**: the file is re-read when its mtime, size or inode changes. It is
  stat-ed at most once per ``file_check_seconds``, and immediately when an
  unknown ``kid`` shows up (a stat, not a read, so that case stays cheap).

Only keys usable for RS256, ES256 or EdDSA signatures are kept: symmetric
(``oct``) keys, private keys, encryption keys (``use: enc``), RSA keys under
2048 bits and keys without a ``kid`` are skipped with a warning.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
from jwt.exceptions import PyJWTError

from ledgergate.errors import LedgergateError
from ledgergate.proxy.config import IssuerConfig
from ledgergate.proxy.errors import AuthError

log = logging.getLogger(__name__)

#: The signature algorithms the gateway verifies; everything else is refused.
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset({"RS256", "ES256", "EdDSA"})

#: A JWKS is a few kilobytes; anything near this is a misconfigured URL.
MAX_JWKS_BYTES = 1_048_576

_KID_SHOWN = 64  # kids come from untrusted tokens: show a bounded prefix only


def shown_kid(kid: str) -> str:
    """A ``kid`` fit for an error message or log line (quoted, bounded)."""
    return repr(kid if len(kid) <= _KID_SHOWN else kid[:_KID_SHOWN] + "…")


class JwksError(LedgergateError):
    """A JWKS could not be loaded; the message says why (never contains a token)."""


def parse_jwks(data: Any, *, source: str) -> dict[str, jwt.PyJWK]:
    """Parse a JWKS document into verification keys by ``kid``.

    Raises :class:`JwksError` when the document is not a JWKS at all; unusable
    individual keys are skipped with a warning so that one exotic key published
    by an IdP does not disable the others.
    """
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksError(f"{source} is not a JWKS: expected a JSON object with a 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for i, jwk in enumerate(data["keys"]):
        why = _unusable(jwk)
        if why is None:
            try:
                key = jwt.PyJWK.from_dict(jwk)
                # prepare_key checks the key type and curve against the
                # algorithm; done once here, so verification needs no checks
                key.Algorithm.prepare_key(key.key)
            except (PyJWTError, ValueError, TypeError) as exc:
                why = f"cannot be parsed ({exc})"
            else:
                if key.algorithm_name not in SUPPORTED_ALGORITHMS:
                    why = f"algorithm {key.algorithm_name} is not one of {sorted(SUPPORTED_ALGORITHMS)}"
                elif (short := key.Algorithm.check_key_length(key.key)) is not None:
                    why = short
                elif jwk["kid"] in keys:
                    why = "duplicate kid (the first key with it is used)"
                else:
                    keys[jwk["kid"]] = key
                    continue
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        label = shown_kid(kid) if isinstance(kid, str) else f"#{i}"
        log.warning("JWKS %s: skipping key %s: %s", source, label, why)
    if not keys:
        log.warning("JWKS %s has no usable signing keys (RS256, ES256 or EdDSA with a kid)", source)
    return keys


def _unusable(jwk: Any) -> str | None:
    if not isinstance(jwk, dict):
        return "not a JSON object"
    if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
        return "has no kid"
    if jwk.get("kty") == "oct":
        # a symmetric key in a public key set would let anyone who can read
        # the set mint tokens; never accept one
        return "is a symmetric (oct) key"
    if "d" in jwk:
        return "contains private key material (publish only public keys)"
    if jwk.get("use", "sig") != "sig":
        return f"use is {jwk.get('use')!r}, not 'sig'"
    ops = jwk.get("key_ops")
    if isinstance(ops, list) and "verify" not in ops:
        return "key_ops does not include 'verify'"
    return None


class JwksCache:
    """The verification keys of one issuer, by ``kid``.

    Give exactly one of ``url`` or ``file``. The constructor does no I/O; keys are
    loaded on the first :meth:`get`. ``clock`` is a monotonic clock (injectable
    so tests can step through the refresh intervals without sleeping).
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        file: Path | str | None = None,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 30.0,
        retry_seconds: float = 5.0,
        file_check_seconds: float = 1.0,
        timeout_seconds: float = 5.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        issuer: str = "",
    ) -> None:
        if (url is None) == (file is None):
            raise ValueError("JwksCache needs exactly one of url or file")
        self.url = url
        self.file = Path(file) if file is not None else None
        self.issuer = issuer
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._retry = retry_seconds
        self._file_check = file_check_seconds
        self._timeout = timeout_seconds
        self._client = client
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._loaded_at = float("-inf")       # last successful load
        self._attempted_at = float("-inf")    # last load attempt, successful or not
        self._last_error: str | None = None
        self._file_sig: tuple[int, int, int] | None = None
        self._checked_at = float("-inf")      # last stat of the file
        self._lock: asyncio.Lock | None = None
        self._generation = 0                  # completed fetch attempts; see _refresh
        #: successful loads (fetches or file reads) so far; for metrics and tests
        self.load_count = 0

    @classmethod
    def for_issuer(cls, cfg: IssuerConfig, **kwargs: Any) -> JwksCache:
        """The cache for one configured issuer (``kwargs`` as for the constructor)."""
        return cls(url=cfg.jwks_url, file=cfg.jwks_file, cache_seconds=cfg.jwks_cache_seconds,
                   issuer=cfg.issuer, **kwargs)

    @property
    def source(self) -> str:
        """The URL or file the keys come from (for messages)."""
        return self.url if self.url is not None else str(self.file)

    @property
    def kids(self) -> tuple[str, ...]:
        """The ``kid`` values currently cached (empty before the first load)."""
        return tuple(self._keys or ())

    async def get(self, kid: str) -> jwt.PyJWK:
        """The key with this ``kid``, loading or refreshing the set as the rules allow.

        Raises :class:`AuthError` when the key is unknown or no key set could be loaded.
        """
        if self.file is not None:
            self._check_file(force=False)
            key = self._keys.get(kid) if self._keys is not None else None
            if key is None:
                # a rotated file is picked up at once: a stat is cheap
                self._check_file(force=True)
                key = self._keys.get(kid) if self._keys is not None else None
        else:
            now = self._clock()
            if self._keys is None or now - self._loaded_at >= self._cache_seconds:
                await self._refresh(unknown_kid=False)
            key = self._keys.get(kid) if self._keys is not None else None
            if key is None and self._clock() - self._attempted_at >= self._min_refetch:
                await self._refresh(unknown_kid=True)
                key = self._keys.get(kid) if self._keys is not None else None
        if key is None:
            raise AuthError(self._unknown_kid_message(kid))
        return key

    def _unknown_kid_message(self, kid: str) -> str:
        who = f"issuer {self.issuer!r}" if self.issuer else self.source
        msg = f"unknown signing key: kid {shown_kid(kid)} is not in the JWKS of {who}"
        if self._last_error is not None:
            msg += f" (refreshing the JWKS failed: {self._last_error})"
        return msg

    # ------------------------------------------------------------------ file

    def _check_file(self, *, force: bool) -> None:
        path = self.file
        if path is None:  # pragma: no cover - guarded by the caller
            return
        now = self._clock()
        if not force and self._keys is not None and now - self._checked_at < self._file_check:
            return
        self._checked_at = now
        try:
            st = os.stat(path)
        except OSError as exc:
            self._fail_file(f"cannot read JWKS file {path}: {exc.strerror or exc}", exc)
            return
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        if sig == self._file_sig:
            # unchanged since the last read; if that read failed, say so again
            # rather than re-reading the same broken file on every request
            if self._keys is None and self._last_error is not None:
                raise AuthError(f"cannot verify tokens of {self._who()}: {self._last_error}")
            return
        self._file_sig = sig
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_JWKS_BYTES:
                raise JwksError(f"JWKS file {path} is {len(raw)} bytes, over the {MAX_JWKS_BYTES}-byte limit")
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise JwksError(f"JWKS file {path} is not valid JSON: {exc}") from exc
            keys = parse_jwks(data, source=str(path))
        except OSError as exc:
            self._fail_file(f"cannot read JWKS file {path}: {exc.strerror or exc}", exc)
            return
        except JwksError as exc:
            self._fail_file(str(exc), exc)
            return
        self._installed(keys)

    def _fail_file(self, message: str, exc: Exception) -> None:
        self._last_error = message
        log.warning("%s", message)
        if self._keys is None:
            raise AuthError(f"cannot verify tokens of {self._who()}: {message}") from exc
        # keep the keys read before: a half-written or briefly missing file
        # (an editor saving, a deploy in progress) must not lock callers out

    # ------------------------------------------------------------------ url

    async def _refresh(self, *, unknown_kid: bool) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                # another request refreshed (or tried to) while this one waited
                if self._keys is None and self._last_error is not None:
                    raise AuthError(f"cannot verify tokens of {self._who()}: {self._last_error}")
                return
            now = self._clock()
            if self._last_error is not None and now - self._attempted_at < self._retry:
                # failed a moment ago: do not retry on every request
                if self._keys is None:
                    raise AuthError(f"cannot verify tokens of {self._who()}: {self._last_error}")
                return
            self._attempted_at = now
            try:
                keys = await self._fetch()
            except JwksError as exc:
                self._generation += 1
                self._last_error = str(exc)
                if self._keys is None:
                    log.warning("JWKS fetch failed: %s", exc)
                    raise AuthError(f"cannot verify tokens of {self._who()}: {exc}") from exc
                log.warning("JWKS refresh failed, still using the %d keys fetched before: %s",
                            len(self._keys), exc)
                return
            self._generation += 1
            if unknown_kid:
                log.info("JWKS %s refetched for an unknown kid", self.url)
            self._installed(keys)

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        url = self.url
        if url is None:  # pragma: no cover - guarded by the caller
            raise JwksError("no JWKS URL")
        try:
            if self._client is not None:
                raw = await self._download(self._client, url)
            else:
                # fetches are minutes apart: a short-lived client avoids tying a
                # connection pool to whichever event loop happened to run first
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    raw = await self._download(client, url)
        except httpx.TimeoutException as exc:
            raise JwksError(f"fetching JWKS from {url} timed out after {self._timeout:g} s") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise JwksError(f"fetching JWKS from {url} failed: {type(exc).__name__}: {exc}") from exc
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise JwksError(f"JWKS from {url} is not valid JSON: {exc}") from exc
        return parse_jwks(data, source=url)

    async def _download(self, client: httpx.AsyncClient, url: str) -> bytes:
        # redirects are not followed: the configured URL is the trust anchor
        async with client.stream("GET", url, headers={"Accept": "application/json"},
                                 timeout=self._timeout, follow_redirects=False) as resp:
            if resp.status_code != 200:
                hint = " (redirects are not followed: configure the final URL)" if resp.is_redirect else ""
                raise JwksError(f"fetching JWKS from {url} answered HTTP {resp.status_code}{hint}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_JWKS_BYTES:
                    raise JwksError(f"JWKS from {url} is over the {MAX_JWKS_BYTES}-byte limit")
                chunks.append(chunk)
            return b"".join(chunks)

    # ------------------------------------------------------------------ common

    def _installed(self, keys: Mapping[str, jwt.PyJWK]) -> None:
        before = set(self._keys or ())
        self._keys = dict(keys)
        self._loaded_at = self._clock()
        self._last_error = None
        self.load_count += 1
        if set(keys) != before:
            log.info("JWKS %s: keys %s", self.source, sorted(keys))

    def _who(self) -> str:
        return f"issuer {self.issuer!r}" if self.issuer else self.source
