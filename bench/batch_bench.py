"""CPU a text of `Classifier.classify_batch` by batch size, this tree next to a baseline revision.

The worker hands the classifier one observe batch at a time; spaCy's NER has a fixed cost a
call, so what a text costs depends on the batch. This prints, in one run, CPU ms a text
(``time.process_time`` in one process, so other load on the machine matters little) for the
pipeline bench's two kinds of 230-character text (``pipeline_bench.texts``: a load shape, not
a target) at each batch size, and the tokens spaCy's NER reads a text. With ``--baseline REV``
the same measurement runs on the code of that git revision, alternating with this tree.

usage: python bench/batch_bench.py [--baseline REV] [--batches 1,4,16,64] [--texts 600] [--rounds 2]
                                  [--kinds ner,plain,FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_bench import baseline_tree, load, texts  # noqa: E402


def _sample(kind: str, n: int) -> list[str]:
    """``n`` texts of a pipeline-bench kind, or the first ``n`` texts of a JSONL file."""
    if kind in ("ner", "plain"):
        return texts(kind, n, seed=11)
    lines = Path(kind).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()][:n]


def child(kinds: list[str], batches: list[int], n: int) -> dict[str, Any]:
    """In a fresh process: CPU ms a text for each (kind, batch size), and NER tokens a text."""
    import time

    from ledgergate.streams.classify.build import build_classifier
    from ledgergate.streams.classify.engine import ner_view

    clf = build_classifier()
    clf.classify_batch(texts("ner", 16, seed=3))  # warm up
    out: dict[str, Any] = {}
    for kind in kinds:
        sample = _sample(kind, n)
        for bs in batches:
            t0 = time.process_time()
            for i in range(0, len(sample), bs):
                clf.classify_batch(sample[i:i + bs])
            out[f"{kind}/{bs}"] = 1000 * (time.process_time() - t0) / len(sample)
        views = [v for v in map(ner_view, sample) if v is not None]
        docs = clf._nlp.pipe(views, disable=[p for p in clf._nlp.pipe_names if p != "ner"]) if clf._nlp else []
        out[f"{kind}/tokens"] = sum(len(d) for d in docs) / len(sample)
    return out


def run(env: dict[str, str] | None, kinds: list[str], batches: list[int], n: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", json.dumps([kinds, batches, n])]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", metavar="REV", help="also measure the code of this git revision")
    ap.add_argument("--batches", default="1,4,16,64")
    ap.add_argument("--kinds", default="ner,plain", help="ner, plain, or a JSONL file of {\"text\"} lines "
                    "(e.g. ../shared/eval/classify-dev.jsonl)")
    ap.add_argument("--texts", type=int, default=600, help="texts of each kind")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the lowest CPU a text is kept")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*json.loads(args.child))))
        return 0
    kinds, batches = args.kinds.split(","), [int(b) for b in args.batches.split(",")]
    print(f"classify_batch CPU ms a text, {args.texts} texts of each kind, {os.cpu_count()} cores, {load()}")
    with tempfile.TemporaryDirectory(prefix="lg-batch-bench-") as tmp:
        trees: dict[str, dict[str, str] | None] = {"this": None}
        if args.baseline:
            trees[args.baseline[:10]] = baseline_tree(args.baseline, Path(tmp))
        best: dict[str, dict[str, float]] = {label: {} for label in trees}
        for _ in range(args.rounds):
            for label, env in trees.items():
                for kind in kinds:  # one process a kind: what one kind leaves behind (GC) stays out of the other
                    for k, v in run(env, [kind], batches, args.texts).items():
                        best[label][k] = min(v, best[label].get(k, v))
    labels = list(trees)
    head = "".join(f"{label:>12s}" for label in labels) + ("  base/this" if len(labels) > 1 else "")
    print(f"{'text':8s} {'batch':>6s}{head}")
    for kind in kinds:
        for col in [*map(str, batches), "tokens"]:
            vals = [best[label][f"{kind}/{col}"] for label in labels]
            ratio = f"  {vals[1] / vals[0]:8.2f}x" if len(vals) > 1 and vals[0] else ""
            unit = "" if col != "tokens" else "   (tokens NER reads a text)"
            print(f"{Path(kind).stem[:8]:8s} {col:>6s}" + "".join(f"{v:12.2f}" for v in vals) + ratio + unit)
    print(f"after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
