"""The ``ledgergate`` command: one entry point, one module per stage.

``run`` (up, broker, worker, ledger, proxy, topics, token, fake-upstream, demo),
``ledger`` (keys, events, verify, export, prove), ``policy``, ``reports``,
``ingest`` (ingest mlflow, mlflow log-metrics), ``classify`` and ``config``
(config check) each add their subcommands; ``app`` builds the parser and maps
errors to exit codes. Nothing imports this package: it sits on top.
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["build_parser", "main"]
