"""Errors of the proxy, rendered as OpenAI-style error bodies.

Every refusal the proxy gives has the shape clients of the OpenAI API already
parse::

    {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}
"""

from __future__ import annotations

import json
from typing import Any

from ledgergate.errors import LedgergateError


class ProxyError(LedgergateError):
    """Base of every proxy error; carries the HTTP status and the OpenAI error fields."""

    status: int = 500
    type: str = "server_error"
    code: str = "internal_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 type: str | None = None, param: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if type is not None:
            self.type = type
        self.param = param
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type,
                               "param": self.param, "code": self.code}
        err.update(self.extra)
        return {"error": err}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), separators=(",", ":")).encode("utf-8")


class BadRequest(ProxyError):
    status, type, code = 400, "invalid_request_error", "invalid_request"


class AuthError(ProxyError):
    """The caller could not be authenticated (401)."""

    status, type, code = 401, "authentication_error", "invalid_token"


class Forbidden(ProxyError):
    """Authenticated, but not allowed on this route (403)."""

    status, type, code = 403, "permission_error", "forbidden"


class PolicyBlocked(ProxyError):
    """The policy decision refused the request (403, names the decision id)."""

    status, type, code = 403, "policy_violation", "blocked_by_policy"


class NotFound(ProxyError):
    status, type, code = 404, "invalid_request_error", "not_found"


class PayloadTooLarge(ProxyError):
    status, type, code = 413, "invalid_request_error", "payload_too_large"


class Unavailable(ProxyError):
    """Fail closed: no decision in time or broker unreachable (503)."""

    status, type, code = 503, "service_unavailable", "decision_unavailable"


class UpstreamUnreachable(ProxyError):
    status, type, code = 502, "upstream_error", "upstream_unreachable"


class UpstreamTimeout(ProxyError):
    status, type, code = 504, "upstream_error", "upstream_timeout"
