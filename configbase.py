"""The base of every configuration section model.

Each package keeps its own section (``proxy/config.py``, ``ledger/config.py``, ...);
``ledgergate.config`` assembles them into the one frozen ``Settings``. A section is
frozen (settings never change under a running process) and rejects unknown keys
(a typo in the file is an error, not a silently ignored setting).

This module imports nothing of ours, so every section may use it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# ids of routes, upstreams, policies, ledgers, workers: safe in topic names, file names and URLs
ID_PATTERN = r"^[A-Za-z0-9_.-]+$"


class Section(BaseModel):
    """A frozen config section that rejects unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")
