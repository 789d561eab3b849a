"""Throughput and quality: vanilla Presidio vs the ledgergate classifier on the dev set.

Both run in this one process on the same spaCy model. Vanilla Presidio = AnalyzerEngine with
its default recognizers, score threshold 0.5, replace-anonymizer (type tags), and only ever
predicts PII. Prints numbers only.

usage: python bench/classify_bench.py [DEV.jsonl] [--score PATH/score.py]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ledgergate.schemas.taxonomy import ENTITY_TYPES
from ledgergate.streams.classify.build import build_classifier
from ledgergate.streams.classify.engine import build_analyzer
from ledgergate.streams.classify.evalfile import predict_lines

# the shared folder sits beside the repository (../shared)
EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def _score(score_py: Path, gold: Path, preds: list[dict]) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for p in preds:
            f.write(json.dumps(p) + "\n")
    out = subprocess.run([sys.executable, str(score_py), str(gold), f.name], capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def _vanilla(rows: list[dict]) -> tuple[float, float, list[dict]]:
    from presidio_anonymizer import AnonymizerEngine

    analyzer = build_analyzer(default_recognizers=True)
    anonymizer = AnonymizerEngine()
    analyzer.analyze("warm up John Smith", language="en")
    wanted = set(ENTITY_TYPES)
    t0, c0 = time.perf_counter(), time.process_time()
    results = [analyzer.analyze(r["text"], language="en", score_threshold=0.5) for r in rows]
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    preds = []
    for r, res in zip(rows, results, strict=True):
        ents = [x for x in res if x.entity_type in wanted]
        red = anonymizer.anonymize(text=r["text"], analyzer_results=res).text
        preds.append({
            "id": r["id"],
            "categories": ["PII"] if ents else [],
            "entities": [{"type": x.entity_type, "start": x.start, "end": x.end} for x in ents],
            "redacted_text": red,
        })
    return len(rows) / dt, len(rows) / cpu, preds


# What a worker asks for when its policy uses no PII/PHI rule: no spaCy at all.
PATTERN_ONLY = frozenset({"SECRET", "SOURCE_CODE", "PROMPT_INJECTION", "MNPI"})


def _ours(rows: list[dict]) -> tuple[float, float, list[dict]]:
    clf = build_classifier()
    clf.classify("warm up John Smith")
    texts = [r["text"] for r in rows]
    t0 = time.perf_counter()
    clf.classify_batch(texts, PATTERN_ONLY)
    dt_pat = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    clf.classify_batch(texts)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"worker per-prompt cost: {dt / len(rows) * 1000:.2f} ms all categories (NER), "
          f"{dt_pat / len(rows) * 1000:.2f} ms pattern-only ({', '.join(sorted(PATTERN_ONLY))})")
    # Quality run includes redaction (type_tag) exactly as the CLI produces it.
    preds = list(predict_lines(clf, rows, hash_key=b"bench"))
    return len(rows) / dt, len(rows) / cpu, preds


def main(argv: list[str]) -> int:
    gold = Path(argv[1]) if len(argv) > 1 and not argv[1].startswith("--") else EVAL / "classify-dev.jsonl"
    score_py = Path(argv[argv.index("--score") + 1]) if "--score" in argv else EVAL / "score.py"
    rows = [json.loads(l) for l in gold.read_text(encoding="utf-8").splitlines() if l.strip()]
    v_rate, v_cpu, v_preds = _vanilla(rows)
    o_rate, o_cpu, o_preds = _ours(rows)
    v, o = _score(score_py, gold, v_preds), _score(score_py, gold, o_preds)
    print(f"dev set: {len(rows)} prompts ({gold})")
    print(f"{'':22}{'vanilla presidio':>18}{'ledgergate':>14}")
    print(f"{'docs/s (wall)':22}{v_rate:>18.1f}{o_rate:>14.1f}")
    print(f"{'docs/s (CPU time)':22}{v_cpu:>18.1f}{o_cpu:>14.1f}")
    for k in ("macro_f1", "entity_f1", "leak_rate"):
        print(f"{k:22}{v[k]:>18.4f}{o[k]:>14.4f}")
    # Wall time swings with the other processes on a shared machine between the two phases;
    # CPU time of this process does not, so its ratio is the one to compare across runs.
    print(f"throughput ratio (ours / vanilla): {o_cpu / v_cpu:.2f}x by CPU time, {o_rate / v_rate:.2f}x by wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
