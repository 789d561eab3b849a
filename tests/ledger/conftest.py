"""Fixtures for the ledger tests: real DuckDB files, real Ed25519 keys."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ledgergate.ledger import keys as lkeys  # noqa: E402
from ledgergate.ledger.store import LedgerReader, LedgerWriter, connect  # noqa: E402

from ledger_testkit import LEDGER_ID, T0, make_entry  # noqa: E402


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    d = tmp_path / "keys"
    lkeys.generate(d)
    return d


@pytest.fixture
def ledger(tmp_path: Path, keydir: Path) -> Callable[..., tuple[Any, LedgerWriter, LedgerReader]]:
    """Factory: a populated ledger file; returns (connection, writer, reader)."""

    def build(n: int = 40, *, batch: int = 10, checkpoint_every: int = 10,
              path: str = "ledger.duckdb") -> tuple[Any, LedgerWriter, LedgerReader]:
        con = connect(str(tmp_path / path))
        w = LedgerWriter(con, lkeys.load_dir(keydir), ledger_id=LEDGER_ID,
                         checkpoint_every=checkpoint_every, checkpoint_interval_s=3600)
        for start in range(0, n, batch):
            ents = [make_entry(i) for i in range(start, min(n, start + batch))]
            w.append_batch(ents, {("audit", 0): start + len(ents)}, now=T0 + start)
        w.checkpoint(T0 + n)
        return con, w, LedgerReader(con)

    return build
