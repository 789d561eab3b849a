"""Issue #15's attack table, on a ledger written by the real pipeline.

One module fixture runs the real thing once: a broker, the ledger service
consuming real Decision messages, a key rotation while it runs, and a witness
(its own process and key) cosigning every checkpoint — restarted midway, so
its state must survive. The auditor keeps only the FIRST public key, the last
checkpoint note and the witness's verifier key. Each test then copies the
stopped ledger (or a bundle exported from it), attacks it as an insider with
write access would, and runs `ledgergate verify` as the auditor does.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_service import decision, publish

from ledgergate.broker import ensure_topics, free_port, port_open, topic_specs
from ledgergate.config import load_settings
from ledgergate.ledger import keys
from ledgergate.schemas import codec

from support import start_cli, stop_proc, wait_for, write_config

WITNESS = "auditor.example/w1"
ORIGIN = "ledgergate/demo"  # the built-in config's ledger_id


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ledgergate", *args], capture_output=True,
                          text=True, timeout=180)


@dataclass
class Pipeline:
    root: Path
    cfg: Path
    db: Path
    keys: Path
    auditor_keys: Path      # only the first key's .pub: rotation must be endorsed
    checkpoint: Path        # the auditor's copy of the last checkpoint
    witness_state: Path
    witness_vkey: str
    size: int


def _count(s: Any) -> int:
    from ledgergate.ledger.client import open_ledger

    with open_ledger(db=s.ledger.path, socket=s.ledger.socket_path, keys_dir=s.ledger.keys_dir) as led:
        return len(led.list(kind="decision", limit=100_000))


def _start_witness(state: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = start_cli(["witness", "serve", "--state", str(state), "--listen", f"127.0.0.1:{port}"], log)
    wait_for(lambda: port_open("127.0.0.1", port), 30, "witness port", proc, log)
    return proc


@pytest.fixture(scope="module")
def pipeline(broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("attacks")
    port = free_port()
    cfg = write_config(root, bootstrap=broker.bootstrap, prefix=f"a{uuid.uuid4().hex[:6]}",
                       ledger={"checkpoint_every": 20, "checkpoint_seconds": 1,
                               "witnesses": [{"url": f"http://127.0.0.1:{port}", "name": WITNESS}]})
    s = load_settings(cfg)
    first = keys.generate(s.ledger.keys_dir)
    (root / "auditor-keys").mkdir()
    shutil.copy(Path(s.ledger.keys_dir) / f"{first}.pub", root / "auditor-keys")
    asyncio.run(ensure_topics(s.broker.bootstrap, topic_specs(s.topics, 4)))
    vk = cli("keys", "vkey", "--config", str(cfg))
    assert vk.returncode == 0, vk.stderr
    state = root / "witness"
    w = cli("witness", "init", "--state", str(state), "--name", WITNESS, "--log-key", vk.stdout.strip())
    assert w.returncode == 0, w.stderr
    wvkey = w.stdout.strip().splitlines()[-1]
    wproc = _start_witness(state, port, root / "witness.log")
    lproc = start_cli(["ledger", "--config", str(cfg)], root / "ledger.log")
    try:
        wait_for(lambda: s.ledger.socket_path.exists(), 30, "ledger socket", lproc, root / "ledger.log")
        asyncio.run(publish(s.broker.bootstrap, s.topics.decisions,
                            [codec.encode("Decision", decision(i)) for i in range(150)]))
        wait_for(lambda: _count(s) >= 150, 30, "150 records")
        wait_for(lambda: (state / "heads").exists() and any((state / "heads").glob("*.checkpoint")),
                 20, "a first cosignature")
        # the witness restarts: its state must survive
        assert stop_proc(wproc) == 0
        rot = cli("keys", "rotate", "--config", str(cfg))
        assert rot.returncode == 0, rot.stderr
        new = rot.stdout.split("rotated to key ")[1].split()[0]
        vk2 = [v for v in cli("keys", "vkey", "--config", str(cfg)).stdout.split() if v not in vk.stdout]
        assert cli("witness", "trust", "--state", str(state), "--log-key", vk2[0]).returncode == 0
        wproc = _start_witness(state, port, root / "witness.log")
        wait_for(lambda: "signing key rotated" in (root / "ledger.log").read_text(), 20, "rotation")
        asyncio.run(publish(s.broker.bootstrap, s.topics.decisions,
                            [codec.encode("Decision", decision(i)) for i in range(150, 300)]))
        wait_for(lambda: _count(s) >= 300, 30, "300 records")
        time.sleep(2.5)  # a checkpoint and its cosignature after the last batch
        # the running service verifies against the auditor's keys too
        r = cli("verify", "--config", str(cfg), "--trusted-keys", str(root / "auditor-keys"), "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        assert json.loads(r.stdout)["assurance"]["trust_anchor"].startswith("trusted keys")
    finally:
        assert stop_proc(lproc) == 0, (root / "ledger.log").read_text()[-2000:]
        stop_proc(wproc)
    db = Path(s.ledger.path)
    cp = cli("checkpoint", "--db", str(db), "--out", str(root / "trusted.checkpoint"))
    assert cp.returncode == 0, cp.stderr
    con = duckdb.connect(str(db), read_only=True)
    size = con.execute("SELECT count(*) FROM leaves").fetchone()[0]
    kids = {k for (k,) in con.execute("SELECT DISTINCT key_id FROM records").fetchall()}
    con.close()
    assert kids == {first, new} and size >= 301  # 300 decisions + the endorsement
    return Pipeline(root, cfg, db, Path(s.ledger.keys_dir), root / "auditor-keys",
                    root / "trusted.checkpoint", state, wvkey, size)


def verify(p: Pipeline, *target: str, witness: bool = True,
           checkpoint: Path | None = None) -> tuple[int, dict[str, Any]]:
    args = ["verify", *target, "--trusted-keys", str(p.auditor_keys), "--json",
            "--trusted-checkpoint", str(checkpoint or p.checkpoint)]
    if witness:
        args += ["--witness-key", p.witness_vkey]
    r = cli(*args)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def kinds(result: dict[str, Any]) -> set[str]:
    return {x["kind"] for x in result["problems"]}


def copy_db(p: Pipeline, tmp_path: Path) -> Path:
    dst = tmp_path / "ledger.duckdb"
    shutil.copy(p.db, dst)
    return dst


def export(p: Pipeline, db: Path, out: Path, *extra: str) -> Path:
    r = cli("export", "--db", str(db), "--out", str(out), *extra)
    assert r.returncode == 0, r.stderr
    return out


# --- untouched, rotated, witnessed ---------------------------------------------------------


def test_untouched_rotated_witnessed_ledger_verifies(pipeline: Pipeline, tmp_path: Path) -> None:
    rc, res = verify(pipeline, "--db", str(pipeline.db))
    assert rc == 0 and res["ok"], res["problems"]
    a = res["assurance"]
    assert len(a["endorsed_keys"]) == 1  # the rotated key, endorsed by the first
    assert a["trusted_checkpoint"]["consistent"] is True
    assert a["witnesses"][0]["cosigned_size"] > 0
    assert res["signature_mode"] == "anchored" and "anchored" in res["signature_mode_text"]
    assert any("witness" in x for x in a["establishes"])
    r = cli("verify", "--db", str(pipeline.db), "--trusted-keys", str(pipeline.auditor_keys))
    assert r.returncode == 0 and "INTACT" in r.stdout and "signature mode: anchored" in r.stdout
    assert "not established: freshness" in r.stdout


def test_untouched_bundle_verifies(pipeline: Pipeline, tmp_path: Path) -> None:
    b = export(pipeline, pipeline.db, tmp_path / "b")
    rc, res = verify(pipeline, "--bundle", str(b))
    assert rc == 0 and res["ok"], res["problems"]
    assert res["source"] == "bundle" and res["assurance"]["trusted_checkpoint"]["consistent"]


def test_witness_state_survived_its_restart(pipeline: Pipeline) -> None:
    from ledgergate.ledger.witness import Witness

    head = Witness(pipeline.witness_state).latest(ORIGIN)
    assert head is not None and head["tree_size"] > 150  # cosigned after the restart, from state
    assert not (pipeline.witness_state / "refused.log").exists()


# --- rollback ---------------------------------------------------------------------------


def rollback(db: Path, n: int) -> int:
    con = duckdb.connect(str(db))
    size = con.execute("SELECT count(*) FROM leaves").fetchone()[0]
    keep = size - n
    for sql in ("DELETE FROM records WHERE seq >= ?", "DELETE FROM leaves WHERE seq >= ?",
                "DELETE FROM idempotency WHERE seq >= ?", "DELETE FROM checkpoints WHERE tree_size > ?",
                "DELETE FROM cosignatures WHERE tree_size > ?"):
        con.execute(sql, [keep])
    con.close()
    return keep


@pytest.mark.parametrize("n", [1, 50])
def test_rollback_is_detected_by_db_and_bundle(pipeline: Pipeline, tmp_path: Path, n: int) -> None:
    db = copy_db(pipeline, tmp_path)
    keep = rollback(db, n)
    # without an anchor from outside, a rollback is indistinguishable (and the output says so)
    r = cli("verify", "--db", str(db), "--trusted-keys", str(pipeline.auditor_keys))
    assert "not established: freshness" in r.stdout
    for target in (["--db", str(db)], ["--bundle", str(export(pipeline, db, tmp_path / "b"))]):
        rc, res = verify(pipeline, *target, witness=False)
        assert rc == 1 and "rolled-back" in kinds(res), res["problems"]
        msg = next(x["message"] for x in res["problems"] if x["kind"] == "rolled-back")
        # the database names exactly the cut; a bundle proves up to its latest checkpoint
        gap = f"records {keep}..{pipeline.size - 1}" if target[0] == "--db" else \
            f"..{pipeline.size - 1} were removed"
        assert gap in msg, msg


def test_rollback_is_detected_with_the_witness_checkpoint(pipeline: Pipeline, tmp_path: Path) -> None:
    db = copy_db(pipeline, tmp_path)
    rollback(db, 50)
    (witnessed,) = (pipeline.witness_state / "heads").glob("*.checkpoint")
    rc, res = verify(pipeline, "--db", str(db), checkpoint=witnessed)
    assert rc == 1 and "rolled-back" in kinds(res), res["problems"]


# --- deletion passed off as retention -----------------------------------------------------


def test_deleted_record_with_a_pruned_row_is_a_deletion(pipeline: Pipeline, tmp_path: Path) -> None:
    db = copy_db(pipeline, tmp_path)
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM records WHERE seq = 77")
    con.execute("INSERT INTO pruned VALUES (77, 77, 0, 'retention')")
    con.close()
    for target in (["--db", str(db)], ["--bundle", str(export(pipeline, db, tmp_path / "b"))]):
        rc, res = verify(pipeline, *target)
        assert rc == 1, res
        (d,) = [x for x in res["problems"] if x["kind"] == "deleted"]
        assert d["seq"] == 77 and "no signed retention record" in d["message"]


def test_pruned_ledger_verifies_with_one_line_per_retention(pipeline: Pipeline, tmp_path: Path) -> None:
    from ledgergate.ledger.service import apply_retention
    from ledgergate.ledger.store import LedgerReader, LedgerWriter, connect

    db = copy_db(pipeline, tmp_path)
    s = load_settings(pipeline.cfg)
    con = connect(str(db))
    w = LedgerWriter(con, keys.load_dir(pipeline.keys), ledger_id=s.ledger.ledger_id)
    later = time.time_ns() // 1000 + (s.ledger.retention_days + 1) * 86_400_000_000
    w.append_batch([], now=later)
    pruned = apply_retention(s, w, LedgerReader(con), later)
    w.checkpoint(later)
    con.close()
    assert pruned
    r = cli("checkpoint", "--db", str(db), "--out", str(tmp_path / "cp"))
    assert r.returncode == 0, r.stderr
    for target in (["--db", str(db)], ["--bundle", str(export(pipeline, db, tmp_path / "b"))]):
        rc, res = verify(pipeline, *target, witness=False, checkpoint=tmp_path / "cp")
        assert rc == 0 and res["ok"], res["problems"]
        assert len([x for x in res["info"] if x["kind"] == "pruned"]) == 1


# --- keys from inside the ledger ------------------------------------------------------------


def resign(p: Pipeline, tmp_path: Path) -> tuple[Path, Path]:
    """The insider's rewrite: one outcome changed, every record and checkpoint re-signed with a
    key of their own, whose .pub they add to the keys directory."""
    from ledgergate.ledger.sign import WRITER_FIELDS, decode_record
    from ledgergate.ledger.store import LedgerWriter, connect

    evil_dir = tmp_path / "keys"
    shutil.copytree(p.keys, evil_dir)
    for f in evil_dir.glob("*.endorsement"):
        f.unlink()
    keys.generate(evil_dir)
    src = duckdb.connect(str(p.db), read_only=True)
    recs = [decode_record(bytes(x)) for (x,) in
            src.execute("SELECT payload FROM records ORDER BY seq").fetchall()]
    src.close()
    ents = [{k: v for k, v in r.items() if k not in WRITER_FIELDS} for r in recs
            if r["kind"] == "decision"]
    ents[5]["outcome"] = "allow" if ents[5]["outcome"] != "allow" else "block"
    db = tmp_path / "evil.duckdb"
    con = connect(str(db))
    w = LedgerWriter(con, keys.load_dir(evil_dir), ledger_id="demo", checkpoint_every=20)
    w.append_batch(ents)
    w.checkpoint()
    con.close()
    return db, evil_dir


def test_attacker_key_in_the_keys_directory(pipeline: Pipeline, tmp_path: Path) -> None:
    db, evil_dir = resign(pipeline, tmp_path)
    # trusting the (attacked) keys directory, the rewrite looks intact: that is the attack
    r = cli("verify", "--db", str(db), "--trusted-keys", str(evil_dir))
    assert r.returncode == 0
    rc, res = verify(pipeline, "--db", str(db), witness=False)
    assert rc == 1 and "unendorsed-key" in kinds(res), res["problems"]
    assert any("no endorsement chain from a trusted key" in x["message"] for x in res["problems"])


def test_resigned_bundle_with_replaced_keys_json(pipeline: Pipeline, tmp_path: Path) -> None:
    db, _ = resign(pipeline, tmp_path)
    b = export(pipeline, db, tmp_path / "b")
    assert cli("verify", "--bundle", str(b)).returncode == 0  # self-certified: it says so
    rc, res = verify(pipeline, "--bundle", str(b), witness=False)
    assert rc == 1 and "unendorsed-key" in kinds(res), res["problems"]


# --- bundle completeness ------------------------------------------------------------------


def _period(p: Pipeline) -> tuple[str, str, int, int]:
    """A period strictly inside the ledger: from record 100's time to record 200's."""
    import datetime as dt

    con = duckdb.connect(str(p.db), read_only=True)
    t = dict(con.execute("SELECT seq, recorded_at_us FROM records WHERE seq IN (100, 200)").fetchall())
    lo, hi = con.execute("SELECT min(seq), max(seq) FROM records WHERE recorded_at_us >= ? AND "
                         "recorded_at_us < ?", [t[100], t[200]]).fetchone()
    con.close()
    iso = [dt.datetime.fromtimestamp(t[s] / 1e6, dt.UTC).isoformat() for s in (100, 200)]
    return iso[0], iso[1], lo, hi


def _rewrite(b: Path, name: str, mutate: Any) -> None:
    import hashlib

    import fastavro

    with open(b / name, "rb") as fh:
        rd = fastavro.reader(fh)
        schema, rows = rd.writer_schema, list(rd)
    with open(b / name, "wb") as fh:
        fastavro.writer(fh, schema, mutate(rows))
    man = json.loads((b / "manifest.json").read_text())
    man["files"][name] = hashlib.sha256((b / name).read_bytes()).hexdigest()
    man["record_count"] = len(rows) - 1  # the insider fixes the count too
    (b / "manifest.json").write_text(json.dumps(man))


@pytest.mark.parametrize("which,kind", [("first", "incomplete"), ("last", "incomplete"),
                                        ("middle", "deleted")])
def test_dropped_bundle_record_is_found(pipeline: Pipeline, tmp_path: Path, which: str,
                                        kind: str) -> None:
    lo_t, hi_t, lo, hi = _period(pipeline)
    b = export(pipeline, pipeline.db, tmp_path / "b", "--from", lo_t, "--to", hi_t)
    rc, res = verify(pipeline, "--bundle", str(b))
    assert rc == 0 and res["ok"], res["problems"]
    idx = {"first": 0, "last": -1, "middle": (hi - lo) // 2}[which]
    _rewrite(b, "records.avro", lambda rows: [r for i, r in enumerate(rows)
                                              if i != (idx % len(rows))])
    rc, res = verify(pipeline, "--bundle", str(b))
    assert rc == 1 and kind in kinds(res), res["problems"]
    if which == "first":
        assert any(x["seq"] == lo and "dropped from the start" in x["message"] for x in res["problems"])
    if which == "last":
        assert any(x["seq"] == hi and "dropped from the end" in x["message"] for x in res["problems"])


# --- the witness refuses a forked history ----------------------------------------------------


def test_witness_refuses_an_inconsistent_checkpoint_and_keeps_its_state(
        pipeline: Pipeline, tmp_path: Path) -> None:
    import httpx

    from ledgergate.ledger.note import CheckpointNote, sign_note
    from ledgergate.ledger.witness import Witness, request_body

    state = tmp_path / "witness"
    shutil.copytree(pipeline.witness_state, state)
    before = Witness(state).latest(ORIGIN)
    assert before is not None
    ring = keys.load_dir(pipeline.keys)  # the log's real key: a fork the log itself signed
    forged = sign_note(CheckpointNote(ORIGIN, before["tree_size"] + 7, b"\x42" * 32).body(),
                       ORIGIN, ring.active_private)
    port = free_port()
    proc = _start_witness(state, port, tmp_path / "w.log")
    try:
        url = f"http://127.0.0.1:{port}/add-checkpoint"
        r = httpx.post(url, content=request_body(before["tree_size"], [b"\x00" * 32] * 3, forged))
        assert r.status_code == 422 and "does not verify" in r.text
        r = httpx.post(url, content=request_body(0, [], forged))
        assert r.status_code == 409 and r.text == f"{before['tree_size']}\n"
        assert r.headers["content-type"].startswith("text/x.tlog.size")
    finally:
        stop_proc(proc)
    refused = [json.loads(x) for x in (state / "refused.log").read_text().splitlines()]
    assert refused[-1]["tree_size"] == before["tree_size"] + 7
    assert Witness(state).latest(ORIGIN) == before  # nothing moved
