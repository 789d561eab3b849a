"""Fixtures for report tests (the ledger itself is built in report_ledger.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# --import-mode=importlib puts no test directory on sys.path; the report tests
# import their ledger builder by module name, as tests/ledger does.
sys.path.insert(0, str(Path(__file__).parent))

from ledgergate.reports.queries import DuckDBQuery  # noqa: E402

from report_ledger import Ledger, build_ledger  # noqa: E402


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """One signed ledger shared read-only by the report tests (built once: signing is the slow part)."""
    return build_ledger(tmp_path_factory.mktemp("reports-ledger"))


@pytest.fixture
def q(ledger: Ledger) -> Iterator[DuckDBQuery]:
    with ledger.query() as qq:
        yield qq
