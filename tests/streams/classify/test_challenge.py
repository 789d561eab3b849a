"""The hand-written held-out challenge set through score.py: a generalisation bar.

``challenge.jsonl`` (built by ``make_challenge.py``) uses other names, formats, credential
vendors, languages and attack families than the dev set, with a hard negative per family.
Its bar is lower than the dev gate's because nothing was tuned on the dev set's phrasing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledgergate.streams.classify.evalfile import predict_lines

from support import SHARED

HERE = Path(__file__).parent
SCORE = SHARED / "eval" / "score.py"


@pytest.mark.skipif(not SCORE.exists(), reason="shared scorer not present")
def test_challenge_set_scores(classifier, tmp_path):
    gold = HERE / "challenge.jsonl"
    rows = [json.loads(l) for l in gold.read_text(encoding="utf-8").splitlines() if l.strip()]
    pred = tmp_path / "pred.jsonl"
    with pred.open("w", encoding="utf-8") as f:
        for p in predict_lines(classifier, rows, hash_key=b"k"):
            f.write(json.dumps(p) + "\n")
    out = subprocess.run(
        [sys.executable, str(SCORE), str(gold), str(pred)], capture_output=True, text=True, check=True
    ).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["macro_f1"] >= 0.90, out
    assert summary["entity_f1"] >= 0.85, out
    assert summary["leak_rate"] <= 0.02, out


def test_challenge_file_matches_generator():
    """challenge.jsonl must be exactly what make_challenge.py writes (offsets computed, not typed)."""
    sys.path.insert(0, str(HERE))
    try:
        import make_challenge
    finally:
        sys.path.remove(str(HERE))
    rows = [json.loads(l) for l in (HERE / "challenge.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    built = make_challenge.build()
    assert rows[: len(built)] == built
    for r in rows:
        for e in r["entities"]:
            assert 0 <= e["start"] < e["end"] <= len(r["text"])
