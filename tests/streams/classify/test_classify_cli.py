"""`ledgergate classify FILE.jsonl` writes what score.py reads, with the worker's engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import SHARED

SHARED_EVAL = SHARED / "eval"


def test_classify_cli_scores_with_score_py(tmp_path: Path) -> None:
    gold = [json.loads(x) for x in (SHARED_EVAL / "classify-dev.jsonl").read_text().splitlines()[:60]]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": g["id"], "text": g["text"]}) + "\n" for g in gold))
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold))
    r = subprocess.run([sys.executable, "-m", "ledgergate", "classify", str(src), "--out", str(tmp_path / "p.jsonl"),
                        "--workdir", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    preds = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == [g["id"] for g in gold]
    assert all(set(p) == {"id", "categories", "entities", "redacted_text"} for p in preds)
    s = subprocess.run([sys.executable, str(SHARED_EVAL / "score.py"), str(tmp_path / "gold.jsonl"),
                        str(tmp_path / "p.jsonl")], capture_output=True, text=True, timeout=60)
    last = json.loads(s.stdout.strip().splitlines()[-1])
    assert last["macro_f1"] >= 0.9 and last["entity_f1"] >= 0.9 and last["leak_rate"] <= 0.02


def test_classify_cli_rejects_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "hello"}\n{"id": 3}\n')
    r = subprocess.run([sys.executable, "-m", "ledgergate", "classify", str(src), "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip() == f'ledgergate: error: {src}: record 2 needs string fields "id" and "text"'
