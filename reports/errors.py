"""The one exception base of ``ledgergate.reports``.

Every message names the bad value, what was expected, and how to fix it, so the
CLI can print it as is.
"""

from __future__ import annotations

from ledgergate.errors import LedgergateError


class ReportError(LedgergateError):
    """A report cannot be gathered, rendered or scheduled as asked."""
