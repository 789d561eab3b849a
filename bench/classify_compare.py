"""Old vs new classifications, span for span: this tree next to a git revision, in one run.

For a change that should not change what the classifier finds (a faster NER path, a cheaper
detector), this classifies the labelled sets with both trees in batches of 4 (the worker's
shape) and prints, per set, how many prompts got identical categories and spans (type,
offsets, score, recognizer), the first differences, and ``score.py``'s summary for each tree:

* the dev set (``../shared/eval/classify-dev.jsonl``) and ``bench/data/handwritten-heldout.jsonl``;
* the entity held-out pools of ``bench/heldout_gen.py`` (tune, judge, fresh; needs Faker);
* long prompts: 3-14 of the prompts above joined by a space, a newline or a blank line, gold
  offsets shifted (lines over 240 characters are gated sentence by sentence, and most words
  are far from any name: where a narrower NER view would show a difference).

usage: python bench/classify_compare.py --baseline REV [--long 1500] [--seed 18]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_bench import baseline_tree, load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SCORE = ROOT.parent / "shared" / "eval" / "score.py"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def long_prompts(rows: list[dict], n: int, seed: int) -> list[dict]:
    """``n`` prompts, each 3-14 of ``rows`` joined, with their gold entities moved along."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        parts = rnd.sample(rows, rnd.randint(3, 6) if i % 4 else rnd.randint(8, 14))
        sep = rnd.choice([" ", "\n", "\n\n"])
        text, ents, cats = "", [], set()
        for r in parts:
            text += sep if text else ""
            ents += [{**e, "start": e["start"] + len(text), "end": e["end"] + len(text)} for e in r.get("entities", [])]
            text += r["text"]
            cats |= set(r.get("categories", []))
        out.append({"id": f"long-{i}", "text": text, "categories": sorted(cats), "entities": ents})
    return out


def child(sets_dir: Path, out: Path) -> None:
    """In a fresh process of one tree: eval-format predictions and exact spans for each set."""
    from ledgergate.streams.classify.build import build_classifier
    from ledgergate.streams.classify.redact import redact

    clf = build_classifier()
    for gold in sorted(sets_dir.glob("*.jsonl")):
        rows, preds, spans = _rows(gold), [], []
        for i in range(0, len(rows), 4):
            chunk = rows[i:i + 4]
            for row, res in zip(chunk, clf.classify_batch([r["text"] for r in chunk]), strict=True):
                ents = res.entities()
                red, _ = redact(row["text"], ents, {}, hash_key=b"k" * 32)
                preds.append({"id": row["id"], "categories": sorted(res.categories), "redacted_text": red,
                              "entities": [{"type": s.entity_type, "start": s.start, "end": s.end} for s in ents]})
                spans.append([sorted(res.categories), [[s.entity_type, s.start, s.end, s.score, s.recognizer]
                                                       for s in res.spans]])
        (out / f"{gold.stem}.pred.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
        (out / f"{gold.stem}.spans.json").write_text(json.dumps(spans))


def _prepare(sets: Path, n_long: int, seed: int) -> None:
    pools = {"dev": _rows(SCORE.parent / "classify-dev.jsonl"),
             "handwritten": _rows(ROOT / "bench" / "data" / "handwritten-heldout.jsonl")}
    for pool in ("tune", "judge", "fresh"):
        gen = subprocess.run([sys.executable, str(ROOT / "bench" / "heldout_gen.py"), pool],
                             capture_output=True, text=True, check=True)
        pools[f"heldout-{pool}"] = [json.loads(line) for line in gen.stdout.splitlines() if line.strip()]
    pools["long"] = long_prompts([r for rows in pools.values() for r in rows], n_long, seed)
    for name, rows in pools.items():
        (sets / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", metavar="REV", required=False, help="the git revision to compare with")
    ap.add_argument("--long", type=int, default=1500, help="long prompts to build (default 1500)")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    if not args.baseline:
        ap.error("--baseline REV is required: the revision to compare this tree with")
    print(f"classify_compare: this tree vs {args.baseline}, {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="lg-compare-") as tmp_s:
        tmp = Path(tmp_s)
        sets = tmp / "sets"
        sets.mkdir()
        _prepare(sets, args.long, args.seed)
        trees = {"this": None, "base": baseline_tree(args.baseline, tmp)}
        for label, env in trees.items():
            (tmp / label).mkdir()
            subprocess.run([sys.executable, __file__, "--child", str(sets), str(tmp / label)], env=env, check=True)
        differ = 0
        for gold in sorted(sets.glob("*.jsonl")):
            a, b = (json.loads((tmp / t / f"{gold.stem}.spans.json").read_text()) for t in ("base", "this"))
            bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
            differ += len(bad)
            print(f"\n{gold.stem}: {len(a) - len(bad)} of {len(a)} prompts identical (categories and spans)")
            rows = _rows(gold)
            for i in bad[:5]:
                print(f"  {rows[i]['id']}: {args.baseline[:10]} {a[i]}\n  {'':{len(rows[i]['id'])}}  this       {b[i]}")
            for t in ("base", "this"):
                res = subprocess.run([sys.executable, str(SCORE), str(gold), str(tmp / t / f"{gold.stem}.pred.jsonl")],
                                     capture_output=True, text=True, check=True)
                label = args.baseline[:10] if t == "base" else "this"
                print(f"  score.py {label:10s} {res.stdout.strip().splitlines()[-1]}")
    print(f"\n{'all identical' if not differ else f'{differ} prompts differ'}; {load()}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
