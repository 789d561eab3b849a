"""Shared fixtures: a real Tansu broker process, free ports, the demo settings.

Tests use the real parts; only the LLM upstream is a local fake.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.config import Topics


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One real broker process for the session (topics are namespaced per test)."""
    logdir = tmp_path_factory.mktemp("broker")
    b = EmbeddedBroker(port=free_port(), log_file=logdir / "tansu.log")
    b.start()
    yield b
    b.stop()


_counter = 0


@pytest.fixture
def topic_prefix(broker: EmbeddedBroker) -> str:
    """A fresh topic prefix with every topic created, so tests never share state."""
    global _counter
    _counter += 1
    prefix = f"t{os.getpid()}x{_counter}"
    asyncio.run(ensure_topics(broker.bootstrap, topic_specs(Topics.for_prefix(prefix), 4)))
    return prefix

