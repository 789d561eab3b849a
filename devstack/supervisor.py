"""`ledgergate up`: run broker, worker, ledger service and proxy as child processes.

Each part is its own process (the same commands an operator runs one by
one); the supervisor starts them in dependency order, waits for each to say
it is ready, and on Ctrl-C / SIGTERM stops them in reverse order. Children
also get PR_SET_PDEATHSIG on Linux, so even a SIGKILLed supervisor leaves no
orphans.

A part that exits on its own (crash, OOM kill, SIGKILL) is restarted, not the
stack stopped: each child after its own exponential backoff (0.5 s doubling to
30 s, reset once it has run a minute), with a log line each time; a dead
embedded broker is restarted by :meth:`Stack.heal`. The proxy keeps serving
meanwhile (observe from its spool, enforce routes answer 503 until decisions
flow again). Only Ctrl-C / SIGTERM stops everything.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ledgergate.broker import BrokerError, EmbeddedBroker, die_with_parent, ensure_topics, port_open, topic_specs
from ledgergate.config import Settings
from ledgergate.errors import LedgergateError
from ledgergate.schemas.codec import SCHEMA_NAMES, schema
from ledgergate.schemas.store import SchemaTopic

log = logging.getLogger("ledgergate.up")


class SupervisorError(LedgergateError):
    """A part of the stack did not start."""


#: restart backoff of a part that exited: first delay, cap, and run time after which it resets
BACKOFF_FIRST_S, BACKOFF_MAX_S, BACKOFF_RESET_S = 0.5, 30.0, 60.0


def backoff(restarts: int) -> float:
    """Seconds to wait before restarting a part that has been restarted ``restarts`` times in a row."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(restarts, 16))


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0          # restarts in a row (reset after BACKOFF_RESET_S of running)
    restart_at: float = 0.0    # monotonic time of the pending restart; 0 = none pending
    started_at: float = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.restart_at = 0.0
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent if sys.platform == "linux" else None)
        out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs; killing it", self.name, timeout)
            proc.kill()
            proc.wait()


def cli_command(*args: str) -> list[str]:
    """argv running a ledgergate subcommand with this interpreter."""
    return [sys.executable, "-m", "ledgergate", *args]


@dataclass
class Stack:
    """The running parts of one deployment started from ``config_path``."""

    settings: Settings
    config_path: Path
    workdir: Path
    workers: int = 1
    say: Callable[[str], None] = print
    # start the local fake OpenAI-compatible upstream on this port (the built-in
    # config's upstream is http://127.0.0.1:18000/v1)
    fake_upstream_port: int | None = None
    broker: EmbeddedBroker | None = None
    children: list[Child] = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return self.workdir / "run"

    def _wait(self, what: str, ready: Callable[[], bool], child: Child | None, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if child is not None and not child.alive():
                raise SupervisorError(f"{what} exited during start-up; see {child.log_path}")
            time.sleep(0.05)
        raise SupervisorError(f"{what} not ready within {timeout:.0f}s; see "
                              f"{child.log_path if child else 'its log'}")

    def start(self) -> None:
        """Start every part: the embedded broker (unless configured otherwise), then the rest."""
        s = self.settings
        logs = self.workdir / "logs"
        self.say(f"  logs     {logs}/ (broker.log, ledger.log, worker-N.log, proxy.log"
                 f"{', fake-upstream.log' if self.fake_upstream_port else ''})")
        if self.fake_upstream_port is not None:
            self._start_fake_upstream(logs, self.fake_upstream_port)
        if s.broker.embedded:
            self.broker = EmbeddedBroker(s.broker.embedded_host, s.broker.embedded_port,
                                         log_file=logs / "broker.log")
            logs.mkdir(parents=True, exist_ok=True)
            self.broker.start()
            self.say(f"  broker   ready  {self.broker.bootstrap} (embedded Tansu, in memory)")
        else:
            host, _, port = s.broker.bootstrap.split(",")[0].rpartition(":")
            if not port_open(host, int(port), timeout=2):
                raise BrokerError(f"broker {s.broker.bootstrap} is not reachable")
        self.start_parts()

    def _start_fake_upstream(self, logs: Path, port: int) -> None:
        if port_open("127.0.0.1", port):
            raise SupervisorError(f"port 127.0.0.1:{port} is already in use, so the fake upstream "
                                  "cannot start: stop what listens there, or run `ledgergate up "
                                  "--no-fake-upstream` if that is already a fake upstream")
        fake = Child("fake-upstream", cli_command("fake-upstream", "--port", str(port)),
                     logs / "fake-upstream.log")
        fake.start()
        self.children.append(fake)
        self._wait("fake upstream", lambda: port_open("127.0.0.1", port), fake, 30)
        self.say(f"  upstream ready  http://127.0.0.1:{port}/v1 (the local fake: answers echo the prompt)")

    async def _topics(self) -> None:
        """Create the topics and publish this release's writer schemas (a restarted in-memory
        broker has lost both)."""
        s = self.settings
        await ensure_topics(s.broker.bootstrap, topic_specs(s.topics, s.broker.partitions,
                                                            s.broker.replication_factor))
        await SchemaTopic(s.broker.bootstrap, s.topics.schemas).publish(
            [schema(n) for n in SCHEMA_NAMES])

    def start_parts(self) -> None:
        """Create the topics, then start ledger service, workers and proxy; wait until each is ready."""
        s = self.settings
        self.run_dir.mkdir(parents=True, exist_ok=True)
        logs = self.workdir / "logs"
        t0 = time.monotonic()
        asyncio.run(self._topics())
        cfg = str(self.config_path)
        sock = s.ledger.socket_path
        ledger = Child("ledger", cli_command("ledger", "--config", cfg), logs / "ledger.log")
        ledger.start()
        self.children.append(ledger)
        ready_files, workers = [], []
        for i in range(self.workers):
            rf = self.run_dir / f"worker-{i}.ready"
            rf.unlink(missing_ok=True)
            ready_files.append(rf)
            argv = cli_command("worker", "--config", cfg, "--ready-file", str(rf))
            if s.worker.metrics_port:  # one /metrics port per worker: the configured one + i
                argv += ["--metrics-port", str(s.worker.metrics_port + i)]
            w = Child(f"worker-{i}", argv, logs / f"worker-{i}.log")
            w.start()
            self.children.append(w)
            workers.append(w)
        # a fixed instance id: a restarted proxy replays the spool its predecessor left
        iid = s.proxy.instance_id or f"up-{s.proxy.port}"
        proxy = Child("proxy", cli_command("proxy", "--config", cfg, "--instance-id", iid), logs / "proxy.log")
        proxy.start()
        self.children.append(proxy)

        self._wait("ledger service", lambda: _uds_ok(sock), ledger, 60)
        self.say(f"  ledger   ready  {s.ledger.path} (service socket {sock})")
        for i, rf in enumerate(ready_files):
            self._wait(f"worker-{i}", rf.exists, workers[i], 120)
        self.say(f"  worker   ready  {self.workers} process(es), group {s.worker.group_id}")
        self._wait("proxy", lambda: _http_ok(s.proxy.host, s.proxy.port), proxy, 60)
        self.say(f"  proxy    ready  http://{s.proxy.host}:{s.proxy.port}  "
                 f"(all parts up in {time.monotonic() - t0:.1f}s)")

    def heal(self) -> bool:
        """Restart a dead embedded broker on its port, re-create its topics, restart the consumers.

        The embedded broker keeps everything in memory, so it comes back as a
        new, empty cluster: offsets start at 0 again and group commits are gone.
        The ledger service and the workers are stopped before the broker comes
        back (so they do not race to auto-create topics with the wrong shape),
        then started again: workers afresh (they are stateless), the ledger
        service re-reading the new logs from the start (records it already
        holds are skipped by request id). Proxies keep running and replay their
        spools. Returns True when it restarted the broker.
        """
        b = self.broker
        if b is None or (b.proc is not None and b.proc.poll() is None):
            return False
        s = self.settings
        self.say(f"  broker   exited; restarting {b.bootstrap}")
        consumers = [c for c in self.children if c.name == "ledger" or c.name.startswith("worker-")]
        for c in consumers:
            c.stop(timeout=3)  # their broker is gone: a graceful stop has nothing left to flush
        b.proc = None
        b.start()
        asyncio.run(self._topics())
        for c in consumers:
            if c.name == "ledger":
                if "--from-beginning" not in c.argv:
                    c.argv = [*c.argv, "--from-beginning"]
                c.start()
                self._wait("ledger service", lambda: _uds_ok(s.ledger.socket_path), c, 60)
            else:
                ready = self.run_dir / f"{c.name}.ready"
                ready.unlink(missing_ok=True)
                c.start()
                self._wait(c.name, ready.exists, c, 120)
        self.say("  broker   restarted; ledger re-reading from the start, workers rejoined")
        return True

    def stop(self) -> None:
        for c in reversed(self.children):
            c.stop()
        self.children.clear()
        if self.broker:
            self.broker.stop()
            self.broker = None

    def dead(self) -> list[str]:
        return [c.name for c in self.children if not c.alive()]

    def revive(self, now: float | None = None) -> list[str]:
        """Restart the children that exited, each once its backoff has passed; the names restarted."""
        now = time.monotonic() if now is None else now
        restarted = []
        for c in self.children:
            if c.alive():
                if c.restarts and now - c.started_at >= BACKOFF_RESET_S:
                    c.restarts = 0
                continue
            if not c.restart_at:
                delay = backoff(c.restarts)
                c.restart_at = now + delay
                code = c.proc.returncode if c.proc is not None else None
                self.say(f"  {c.name:<8} exited (code {code}); restarting in {delay:.1f}s "
                         f"(see {c.log_path})")
            elif now >= c.restart_at:
                if c.name.startswith("worker-"):
                    (self.run_dir / f"{c.name}.ready").unlink(missing_ok=True)
                c.start()
                c.restarts += 1
                c.restart_at = 0.0
                restarted.append(c.name)
                self.say(f"  {c.name:<8} restarted (restart {c.restarts} in a row)")
        return restarted


def _http_ok(host: str, port: int) -> bool:
    import http.client

    try:
        conn = http.client.HTTPConnection(host, port, timeout=0.5)
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def _uds_ok(path: Path) -> bool:
    import socket

    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(path))
            s.sendall(b"GET /status HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n\r\n")
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def run_forever(stack: Stack) -> int:
    """Start the stack and keep it up (restarting parts that exit) until Ctrl-C/SIGTERM; always stop everything."""
    stopping = {"flag": False}

    def _term(signum: int, frame: object) -> None:
        stopping["flag"] = True

    old_int = signal.signal(signal.SIGINT, _term)
    old_term = signal.signal(signal.SIGTERM, _term)
    try:
        stack.start()
        stack.say("ledgergate is up; Ctrl-C stops it")
        broker_retry_at = 0.0
        while not stopping["flag"]:
            if time.monotonic() >= broker_retry_at:
                try:
                    stack.heal()
                except (BrokerError, SupervisorError) as exc:
                    broker_retry_at = time.monotonic() + BACKOFF_MAX_S / 6
                    stack.say(f"  broker   restart failed ({exc}); retrying in {BACKOFF_MAX_S / 6:.0f}s")
            stack.revive()
            time.sleep(0.2)
        return 0
    finally:
        stack.say("stopping ...")
        stack.stop()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        stack.say("stopped")
