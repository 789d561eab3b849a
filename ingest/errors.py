"""The one exception family of ``ledgergate.ingest``.

Every message names the bad value, what was expected and how to fix it, so a
CLI can print ``str(exc)`` and nothing else.
"""

from __future__ import annotations

from ledgergate.errors import LedgergateError


class IngestError(LedgergateError):
    """Base of every error raised by ledgergate.ingest."""


class IngestConfigError(IngestError):
    """The ingest configuration or arguments cannot work (bad route, no source, ...)."""


class SourceError(IngestError):
    """The MLflow tracking server or export directory cannot be read at all."""


class ItemError(IngestError):
    """One run, trace or file is malformed; the ingest reports it and goes on.

    ``where`` names the item (a file path or ``trace <id>``) so the report line
    can point at it.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class PublishError(IngestError):
    """The broker did not accept the request events."""


class StateError(IngestError):
    """The local ingest state (what was already sent) cannot be read or written."""


class LogBackError(IngestError):
    """Governance metrics could not be computed or logged to MLflow."""
