"""Compliance reports over the signed ledger: gather facts with SQL, render them purely.

Public API:

* :func:`~ledgergate.reports.queries.gather_article12`,
  :func:`~ledgergate.reports.queries.gather_ll202604` → JSON-able facts;
* :func:`~ledgergate.reports.render.render` (``kind, facts, fmt → bytes``) and
  :func:`~ledgergate.reports.render.format_for_path`;
* :mod:`~ledgergate.reports.registry` (report kinds by name);
* :func:`~ledgergate.reports.schedule.due_reports`;
* :class:`~ledgergate.reports.errors.ReportError`, the one exception base.
"""
