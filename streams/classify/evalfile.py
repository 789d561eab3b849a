"""Predictions in the eval format read by /work/shared/eval/score.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from .engine import Classifier, ClassifyError
from .redact import redact

_BATCH = 64


def predict_lines(classifier: Classifier, lines: Iterable[dict], *, hash_key: bytes,
                  needed: frozenset[str] | None = None) -> Iterator[dict]:
    """For each ``{"id", "text", ...}`` yield ``{"id", "categories", "entities", "redacted_text"}``.

    Every entity is redacted with the type_tag operator. Texts are classified in batches so
    spaCy can use ``nlp.pipe``. ``needed`` limits detection to what a policy needs (the
    worker does the same), ``None`` runs everything.
    """
    it = iter(lines)
    while True:
        chunk = list(islice(it, _BATCH))
        if not chunk:
            return
        for row in chunk:
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
                raise ClassifyError(
                    f"bad input line {str(row)[:80]!r}; expected an object with an 'id' and a string 'text'"
                )
        results = classifier.classify_batch([r["text"] for r in chunk], needed)
        for row, res in zip(chunk, results, strict=True):
            ents = res.entities()
            red, _ = redact(row["text"], ents, {}, hash_key=hash_key)
            yield {
                "id": row["id"],
                "categories": sorted(res.categories),
                "entities": [{"type": s.entity_type, "start": s.start, "end": s.end} for s in ents],
                "redacted_text": red,
            }
