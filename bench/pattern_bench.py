"""CPU time per document of the classifier's pattern path (every detector, spaCy NER left
out), at a baseline git revision and in the working tree, side by side in one run.

The baseline's ``streams/classify`` is taken with ``git archive`` into a temporary package
and built next to the working tree's, so both run in this process on the same texts,
interleaved, best of several rounds (CPU time: the machine is shared). Also checks that both
give the same classifications (categories and spans) on those texts.

Texts: ``bench/pipeline_bench.py``'s 230-character prompts without and with names (a load
shape, not a target) and the dev set (../shared/eval/classify-dev.jsonl).

usage: python bench/pattern_bench.py [--baseline REV] [--per-detector]   (REV default: HEAD~1)
--per-detector adds each detector alone over the texts; work shared per text (the gate scan,
the digit count) is then counted in each detector that needs it, so the rows overstate.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import pipeline_bench  # noqa: E402  (bench/ is not a package)

from ledgergate.streams.classify import build as _build  # noqa: E402,F401  (registers the detectors)
from ledgergate.streams.classify.engine import Classifier, create_detectors  # noqa: E402

ROUNDS = 5


def _baseline_package(rev: str, into: Path) -> Any:
    """Import ``streams/classify`` as it was at ``rev`` under the name ``baseline_classify``."""
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "streams/classify"], capture_output=True, check=True)
    tarfile.open(fileobj=io.BytesIO(tar.stdout)).extractall(into, filter="data")
    (into / "streams" / "classify").rename(into / "baseline_classify")
    sys.path.insert(0, str(into))
    importlib.import_module("baseline_classify.build")
    return importlib.import_module("baseline_classify.engine")


def _key(c: Any) -> tuple:
    return tuple(sorted(c.categories)), tuple((s.entity_type, s.start, s.end, s.score, s.recognizer) for s in c.spans)


def _cpu_per_doc(fn: Any, texts: list[str]) -> float:
    c0 = time.process_time()
    fn(texts)
    return (time.process_time() - c0) / len(texts) * 1e3


def main(argv: list[str]) -> int:
    rev = argv[argv.index("--baseline") + 1] if "--baseline" in argv else "HEAD~1"
    dev = ROOT.parent / "shared" / "eval" / "classify-dev.jsonl"
    sets = {"230 chars, no names": pipeline_bench.texts("plain", 600),
            "230 chars, names": pipeline_bench.texts("names", 600),
            "dev set": [json.loads(line)["text"] for line in dev.read_text(encoding="utf-8").splitlines() if line]}
    with tempfile.TemporaryDirectory() as tmp:
        base_engine = _baseline_package(rev, Path(tmp))
        old = base_engine.Classifier(None, base_engine.create_detectors(None))
        new = Classifier(None, create_detectors(None))
        print(f"pattern path (no spaCy), CPU ms per document, best of {ROUNDS}; baseline {rev}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'texts':22}{'baseline':>10}{'now':>10}{'ratio':>8}  classifications")
        for name, texts in sets.items():
            same = [_key(a) for a in old.classify_batch(texts)] == [_key(b) for b in new.classify_batch(texts)]
            o = n = float("inf")
            for _ in range(ROUNDS):
                o = min(o, _cpu_per_doc(old.classify_batch, texts))
                n = min(n, _cpu_per_doc(new.classify_batch, texts))
            print(f"{name:22}{o:>10.3f}{n:>10.3f}{o / n:>7.2f}x  {'identical' if same else 'DIFFERENT'}")
            if "--per-detector" in argv:
                for d_old, d_new in zip(old.detectors, new.detectors, strict=True):
                    t = [min(_cpu_per_doc(lambda ts, d=d: [d.detect(x, None) for x in ts], texts) for _ in range(3))
                         for d in (d_old, d_new)]
                    print(f"  {d_new.name:20}{t[0]:>10.4f}{t[1]:>10.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
