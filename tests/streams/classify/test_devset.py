"""The dev set through score.py: the quality bar the gateway promises."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ledgergate.streams.classify.evalfile import predict_lines

from support import SHARED

EVAL = SHARED / "eval"


@pytest.mark.skipif(not (EVAL / "classify-dev.jsonl").exists(), reason="shared eval set not present")
def test_dev_set_scores(classifier, tmp_path):
    rows = [json.loads(l) for l in (EVAL / "classify-dev.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    pred = tmp_path / "pred.jsonl"
    with pred.open("w", encoding="utf-8") as f:
        for p in predict_lines(classifier, rows, hash_key=b"k"):
            f.write(json.dumps(p) + "\n")
    out = subprocess.run(
        [sys.executable, str(EVAL / "score.py"), str(EVAL / "classify-dev.jsonl"), str(pred)],
        capture_output=True, text=True, check=True,
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["macro_f1"] >= 0.95, out
    assert summary["entity_f1"] >= 0.90, out
    assert summary["leak_rate"] <= 0.01, out
