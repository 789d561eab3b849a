"""The broker package's one exception base."""

from __future__ import annotations

from ledgergate.errors import LedgergateError


class BrokerError(LedgergateError):
    """The broker cannot be started, reached or administered."""
