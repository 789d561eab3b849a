"""`ledgergate up --config` and the ledger signing key: a new ledger gets one, an existing
ledger without its key is refused with the exact command to run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ledgergate.config import load_settings

from support import write_config  # type: ignore[import-not-found]


def test_an_existing_ledger_without_its_key_is_refused_with_the_command(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, bootstrap="127.0.0.1:9", prefix="k")
    s = load_settings(cfg)
    Path(s.ledger.path).write_bytes(b"")  # a ledger file exists, its keys do not
    r = subprocess.run([sys.executable, "-m", "ledgergate", "up", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert f"`ledgergate keys generate --config {cfg.resolve()}`" in r.stderr
    assert not (Path(s.ledger.keys_dir) / "active").exists()


def test_the_missing_key_directory_hint_names_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nokeys"
    from ledgergate.ledger import keys
    from ledgergate.ledger.errors import LedgerKeyError

    try:
        keys.load_dir(missing)
    except LedgerKeyError as exc:
        assert f"--dir {missing}`" in str(exc) and "{d}" not in str(exc)
    else:
        raise AssertionError("a missing key directory must be an error")
