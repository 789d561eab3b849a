"""Errors raised by ledgergate.ledger: one base, :class:`LedgerError`.

Messages name the bad value, what was expected and how to fix it. They never
contain key material.
"""

from __future__ import annotations

from ledgergate.errors import LedgergateError


class LedgerError(LedgergateError):
    """Base of every error raised by ledgergate.ledger."""


class LedgerKeyError(LedgerError):
    """A signing key is missing, malformed or unreadable (named so as not to shadow KeyError)."""


class ProofError(LedgerError):
    """A Merkle proof was requested or supplied for an impossible position or size."""


class RecordError(LedgerError):
    """An entry cannot be turned into an AuditRecord (missing or ill-typed field)."""


class StoreError(LedgerError):
    """The DuckDB ledger file could not be read or written."""


class NotFoundError(LedgerError):
    """A record, checkpoint or key that was asked for is not in the ledger."""


class BundleError(LedgerError):
    """An auditor bundle could not be written or read (not: failed verification)."""
