"""Fixtures for the MLflow ingest tests: a real `mlflow server` and real traced runs.

The server is a subprocess on a free port with a SQLite backend in a temp
dir; nothing reaches the internet (telemetry off, no model downloads).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# before mlflow is imported anywhere in this process
for _k, _v in {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
               "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false"}.items():
    os.environ[_k] = _v

# --import-mode=importlib puts no test directory on sys.path; the testkit is shared
sys.path.insert(0, str(Path(__file__).parent))

from ledgergate.broker import EmbeddedBroker, free_port  # noqa: E402
from ledgergate.config import Settings, default_settings  # noqa: E402

from ingest_testkit import MlflowData  # noqa: E402


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MLflow tracking server; yields its URI."""
    pytest.importorskip("mlflow")
    d = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    # no job executor: the tests need none, and it forks extra processes
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1",
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    cmd = [str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{d / 'mlflow.db'}",
           "--artifacts-destination", str(d / "artifacts"), "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    log = open(d / "server.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=d)
    deadline = time.monotonic() + 90
    try:
        import mlflow  # noqa: F401  (the slow import overlaps the server's boot)

        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited {proc.returncode}: "
                                   f"{(d / 'server.log').read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{uri}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not answer /health within 90s")
            time.sleep(0.25)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def mlflow_data(mlflow_server: str) -> MlflowData:
    """An experiment with two users' runs and four traces, logged with mlflow's own API."""
    import mlflow
    from mlflow.entities import SpanType

    mlflow.set_tracking_uri(mlflow_server)
    name = f"lg-ingest-{uuid.uuid4().hex[:8]}"
    exp_id = mlflow.create_experiment(name)
    mlflow.set_experiment(experiment_id=exp_id)

    with mlflow.start_run(tags={"mlflow.user": "alice", "tenant": "acme", "loan_id": "L-1"}) as r1:
        mlflow.log_param("model", "gpt-test")
        mlflow.log_metric("accuracy", 0.9)
        with mlflow.start_span(name="chat", span_type=SpanType.CHAT_MODEL) as s:
            s.set_inputs({"model": "gpt-test", "messages": [
                {"role": "system", "content": "You are a loan assistant."},
                {"role": "user", "content": "Summarise the file of John Smith."}]})
            s.set_outputs({"choices": [{"message": {"role": "assistant", "content": "ok"}}]})
        t_chat = mlflow.get_last_active_trace_id()
        with mlflow.start_span(name="pipeline", span_type=SpanType.CHAIN) as parent:
            parent.set_inputs({"question": "not an LLM span"})
            with mlflow.start_span(name="complete", span_type=SpanType.LLM) as s:
                s.set_inputs({"prompt": "Draft a reply to jane@example.com"})
                s.set_outputs("draft")
        t_chain = mlflow.get_last_active_trace_id()
    with mlflow.start_run(tags={"mlflow.user": "bob"}) as r2:
        with mlflow.start_span(name="vision", span_type=SpanType.CHAT_MODEL) as s:
            s.set_inputs({"messages": [{"role": "user", "content": [
                {"type": "text", "text": "Describe this"},
                {"type": "image_url", "image_url": {"url": "data:,"}}]}]})
        t_parts = mlflow.get_last_active_trace_id()

    @mlflow.trace(span_type=SpanType.LLM, name="bare")
    def bare(prompt: str) -> str:
        mlflow.update_current_trace(user="carol", tags={"tenant": "globex"})
        return "done"

    bare("What is the capital of France?")
    t_norun = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    assert None not in (t_chat, t_chain, t_parts, t_norun)
    return MlflowData(mlflow_server, name, exp_id, r1.info.run_id, r2.info.run_id,
                      t_chat, t_chain, t_parts, t_norun)  # type: ignore[arg-type]


@pytest.fixture
def settings(broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> Settings:
    """The demo settings on the test broker with a fresh topic prefix."""
    return default_settings(tmp_path, overrides={
        "broker": {"bootstrap_servers": broker.bootstrap, "topic_prefix": topic_prefix}})
