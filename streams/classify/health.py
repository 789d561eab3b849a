"""PHI by meaning: conditions and medications named in plain words.

The vocabulary (``models/health_terms.json``) holds ICD-10-CM condition names and common
conditions and generic drugs in everyday words; it is built by ``make train`` and verified by
hash at load. A hit is health *evidence*; the classifier keeps it as PHI only when the same text
identifies a person (a name, date of birth, contact detail, record number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .engine import Span
from .textmodel import load_vocabulary

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*'?")
_MAX_WORDS = 4


@dataclass(frozen=True)
class HealthTermDetector:
    """Emits one PHI evidence span per condition / medication term found."""

    terms: frozenset[str]
    name: str = "phi-vocabulary"
    needs_doc: bool = False
    # First words of the terms: most words start none, so their n-grams are never built.
    heads: frozenset[str] = frozenset()

    # Per first word, the most words a term starting with it has: longer phrases are not tried.
    longest: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.heads:
            object.__setattr__(self, "heads", frozenset(t.split()[0] for t in self.terms))
        if not self.longest:
            longest: dict[str, int] = {}
            for t in self.terms:
                words = t.split()
                longest[words[0]] = max(longest.get(words[0], 0), len(words))
            object.__setattr__(self, "longest", longest)

    @property
    def categories(self) -> frozenset[str]:
        return frozenset({"PHI"})

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        low = text.lower()
        words = _WORD.findall(low)
        if "’" in low:
            words = [w.replace("’", "'") for w in words]
        if self.heads.isdisjoint(words):  # no term starts here: nothing to look up
            return []
        found = self._terms_at(words)
        if not found:
            return []
        spans = [m.span() for m in _WORD.finditer(low)]  # the same words, where they are
        return [Span("PHI", "PHI", spans[i][0], spans[i + n - 1][1], 0.75, self.name) for i, n in found]

    def _terms_at(self, words: list[str]) -> list[tuple[int, int]]:
        """(first word index, word count) of each term, longest first at each word, not overlapping."""
        out = []
        i = 0
        while i < len(words):
            if words[i] not in self.heads:
                i += 1
                continue
            for n in range(min(_MAX_WORDS, self.longest.get(words[i], _MAX_WORDS), len(words) - i), 0, -1):
                if " ".join(words[i:i + n]) in self.terms:
                    out.append((i, n))
                    i += n - 1
                    break
            i += 1
        return out


def health_terms(_analyzer: Any) -> HealthTermDetector:
    return HealthTermDetector(frozenset(load_vocabulary("health_terms")))
