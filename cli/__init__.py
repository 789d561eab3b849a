"""The ``ledgergate`` command: one entry point, one module per stage.

``run`` (up, broker, topics, asyncapi, worker, ledger, proxy, token, fake-upstream,
demo), ``ledger`` (keys, events, verify, checkpoint, export, prove), ``witness``,
``classify``, ``policy``, ``ingest`` (ingest mlflow, mlflow log-metrics), ``reports``,
``governance`` (incident, override, route) and ``config`` (config check) each add their
subcommands with ``register(sub)``; ``app`` builds the parser and maps errors to exit
codes; ``common`` holds what they share. Nothing imports this package: it sits on top.
"""

from __future__ import annotations

from .app import build_parser, main

__all__ = ["build_parser", "main"]
