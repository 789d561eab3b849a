"""The one exception base of ledgergate.

Every error the project raises derives from :class:`LedgergateError`; user errors
(bad config, bad input, an unreachable broker, a ledger that cannot be read) are
subclasses defined by the package that detects them. The CLI catches this one base
and prints the message as one line on stderr with exit code 2; anything else that
reaches the CLI is a bug and keeps its traceback.

This module imports nothing, so every package (``schemas`` included) may use it.
"""

from __future__ import annotations


class LedgergateError(Exception):
    """Base of every ledgergate error; the message names the bad value, what was expected and the fix."""
