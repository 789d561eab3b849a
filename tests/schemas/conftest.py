"""A real worker and ledger service shared by the wire-contract tests of this folder."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledgergate.broker import ensure_topics, topic_specs
from ledgergate.config import load_settings

sys.path.insert(0, str(Path(__file__).parent))

from support import start_cli, stop_proc, wait_for, write_config  # type: ignore[import-not-found]


@pytest.fixture(scope="package")
def pipeline(broker, tmp_path_factory) -> Iterator[Any]:
    """A real worker and a real ledger service on a fresh topic prefix."""
    prefix = f"a{uuid.uuid4().hex[:6]}"
    d = tmp_path_factory.mktemp("interop")
    cfg = write_config(d, bootstrap=broker.bootstrap, prefix=prefix)
    settings = load_settings(cfg)
    asyncio.run(ensure_topics(broker.bootstrap, topic_specs(settings.topics, 4)))
    keys = start_cli(["keys", "generate", "--config", str(cfg)], d / "keys.log")
    assert keys.wait(60) == 0, (d / "keys.log").read_text()
    ready = d / "ready"
    worker = start_cli(["worker", "--config", str(cfg), "--ready-file", str(ready)], d / "worker.log")
    ledger = start_cli(["ledger", "--config", str(cfg)], d / "ledger.log")
    try:
        wait_for(ready.exists, 90, "worker ready", worker, d / "worker.log")
        yield settings
    finally:
        stop_proc(worker)
        stop_proc(ledger)


