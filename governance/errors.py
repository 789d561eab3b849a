"""The exception of the governance package."""

from __future__ import annotations

from ledgergate.errors import LedgergateError


class GovernanceError(LedgergateError):
    """A human fact cannot be built, checked or applied as asked.

    The message names the bad value, what was expected and the fix.
    """
