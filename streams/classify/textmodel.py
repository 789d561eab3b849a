"""Small linear text classifiers (MNPI, prompt injection): hashed n-gram features, numpy weights.

The artefacts live in ``models/``: one ``<name>.npy`` float32 weight vector per model and
``manifest.json`` with each model's bias, threshold, feature size and the SHA-256 of its
weights. Loading checks the hash, so a truncated, edited or missing artefact is a start-up
error (fail closed), never a silently weaker detector. ``.npy`` is loaded with
``allow_pickle=False``: no code runs at load.

Features (shared with ``train/train.py``; changing them means retraining):
lower-cased word unigrams and bigrams plus character 4-grams of each word, hashed with CRC-32
into ``dim`` buckets, binary, L2-normalised.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .engine import ClassifyError

MODELS_DIR = Path(__file__).resolve().parent / "models"
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]", re.UNICODE)


# Per token: its own features (word unigram; character 4-grams), the CRC-32 state after
# "b:<token>" (where a bigram with it as the first word starts) and " <token>" as bytes (how
# a bigram with it as the second word ends). Words recur across prompts, so each is hashed
# once; the cache is dropped whole when it grows past _TOKEN_CACHE_MAX entries.
_TokenParts = tuple[int, tuple[int, ...], int, bytes]
_TOKEN_CACHE: dict[int, dict[str, _TokenParts]] = {}
_TOKEN_CACHE_MAX = 200_000


def _token_parts(t: str, dim: int) -> _TokenParts:
    crc = zlib.crc32
    mask = dim - 1
    grams: tuple[int, ...] = ()
    if len(t) > 4:
        w = "<" + t + ">"
        grams = tuple(crc(("c:" + w[i:i + 4]).encode()) & mask for i in range(len(w) - 3))
    parts = (crc(("w:" + t).encode()) & mask, grams, crc(("b:" + t).encode()), (" " + t).encode())
    cache = _TOKEN_CACHE.setdefault(dim, {})
    if len(cache) >= _TOKEN_CACHE_MAX:
        cache.clear()
    cache[t] = parts
    return parts


@lru_cache(maxsize=512)
def features(text: str, dim: int) -> np.ndarray:
    """Unique hashed feature indices of ``text`` (cached: the MNPI and injection models read
    the same windows one after the other, so the second lookup is free)."""
    toks = _TOKEN.findall(text.lower())
    feats: set[int] = set()
    crc = zlib.crc32
    mask = dim - 1
    cache = _TOKEN_CACHE.setdefault(dim, {})
    # CRC-32 continues from a state: crc("b:" + prev + " " + t) == crc(" " + t, crc("b:" + prev))
    prev_state = _BOS_STATE
    add, update, get = feats.add, feats.update, cache.get
    for t in toks:
        word, grams, state, tail = get(t) or _token_parts(t, dim)
        # added in the order training used: the set's iteration order, and so the float sum
        # of the weights, stays the same
        add(word)
        add(crc(tail, prev_state) & mask)
        if grams:
            update(grams)
        prev_state = state
    return np.fromiter(feats, dtype=np.int64, count=len(feats))


_BOS_STATE = zlib.crc32(b"b:<s>")


@dataclass(frozen=True)
class LinearTextModel:
    """A logistic-regression scorer over :func:`features`."""

    name: str
    weights: np.ndarray
    bias: float
    threshold: float

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def score(self, text: str) -> float:
        """Probability-like score in (0, 1)."""
        idx = features(text, self.dim)
        if idx.size == 0:
            z = self.bias
        else:
            z = float(self.weights[idx].sum()) / math.sqrt(idx.size) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(name: str, models_dir: Path = MODELS_DIR) -> LinearTextModel:
    """Load and verify model ``name``; raises ClassifyError when missing or tampered with."""
    manifest_path = models_dir / "manifest.json"
    fix = "run `make train` to rebuild the artefacts, or restore them from git"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entry = manifest["models"][name]
    except FileNotFoundError as exc:
        raise ClassifyError(
            f"model manifest {manifest_path} is missing; expected the committed artefacts - {fix}"
        ) from exc
    except (ValueError, KeyError) as exc:
        raise ClassifyError(
            f"model manifest {manifest_path} has no valid entry for {name!r}; expected one - {fix}"
        ) from exc
    path = models_dir / f"{name}.npy"
    if not path.is_file():
        raise ClassifyError(f"model artefact {path} is missing; expected the committed weights - {fix}")
    got = sha256_file(path)
    if got != entry.get("sha256"):
        raise ClassifyError(f"model artefact {path} has sha256 {got}, expected {entry.get('sha256')} - {fix}")
    try:
        weights = np.load(path, allow_pickle=False)
    except ValueError as exc:  # pragma: no cover - hash check passed, so only a bad commit gets here
        raise ClassifyError(f"model artefact {path} is not a valid .npy array: {exc} - {fix}") from exc
    dim = int(entry["dim"])
    if weights.shape != (dim,) or dim & (dim - 1):
        raise ClassifyError(
            f"model artefact {path} has shape {weights.shape}; expected ({dim},), a power of two - {fix}"
        )
    return LinearTextModel(name, weights.astype(np.float32), float(entry["bias"]), float(entry["threshold"]))


def load_vocabulary(name: str, models_dir: Path = MODELS_DIR) -> Any:
    """Load and verify the JSON vocabulary ``name`` (its SHA-256 is in the manifest)."""
    fix = "run `make train` to rebuild the artefacts, or restore them from git"
    path = models_dir / f"{name}.json"
    try:
        entry = json.loads((models_dir / "manifest.json").read_text(encoding="utf-8"))["vocabularies"][name]
        raw = path.read_bytes()
    except (OSError, ValueError, KeyError) as exc:
        raise ClassifyError(
            f"vocabulary {path} or its manifest entry is missing or unreadable ({exc}) - {fix}"
        ) from exc
    got = hashlib.sha256(raw).hexdigest()
    if got != entry.get("sha256"):
        raise ClassifyError(f"vocabulary {path} has sha256 {got}, expected {entry.get('sha256')} - {fix}")
    return json.loads(raw)


_LINES = re.compile(r"[^\n]+")
WINDOW_CHARS = 400


def windows(text: str, size: int = WINDOW_CHARS) -> list[tuple[int, int]]:
    """The whole text plus, when it is longer than ``size``, runs of whole lines of at most
    ``size`` characters (a longer line is cut at sentence ends).

    Why: an instruction hidden in a long document is a few words among many; scored over the
    whole text its n-grams are diluted, scored over its own window they are not.
    """
    out = [(0, len(text))]
    if len(text) <= size:
        return out
    pieces: list[tuple[int, int]] = []
    for m in _LINES.finditer(text):
        s, e = m.span()
        while e - s > size:
            cut = max(text.rfind(". ", s, s + size), text.rfind("> ", s, s + size))
            cut = cut + 2 if cut > s else s + size
            pieces.append((s, cut))
            s = cut
        pieces.append((s, e))
    cur: tuple[int, int] | None = None
    for s, e in pieces:
        if cur is None:
            cur = (s, e)
        elif e - cur[0] <= size:
            cur = (cur[0], e)
        else:
            out.append(cur)
            cur = (s, e)
    if cur is not None:
        out.append(cur)
    return out


def best_window(model: LinearTextModel, text: str) -> tuple[float, int, int]:
    """Highest score over :func:`windows` and where it was found."""
    best = (-1.0, 0, len(text))
    for s, e in windows(text):
        p = model.score(text[s:e])
        if p > best[0]:
            best = (p, s, e)
    return best
