"""PHI by meaning: conditions and medications named in plain words.

The vocabulary (``models/health_terms.json``) holds ICD-10-CM condition names and common
conditions and generic drugs in everyday words; it is built by ``make train`` and verified by
hash at load. A hit is health *evidence*; the classifier keeps it as PHI only when the same text
identifies a person (a name, date of birth, contact detail, record number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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

    def __post_init__(self) -> None:
        if not self.heads:
            object.__setattr__(self, "heads", frozenset(t.split()[0] for t in self.terms))

    @property
    def categories(self) -> frozenset[str]:
        return frozenset({"PHI"})

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        low = text.lower()
        plain = _WORD.findall(low)
        if "’" in low:
            plain = [w.replace("’", "'") for w in plain]
        if self.heads.isdisjoint(plain):  # no term starts here: nothing to look up
            return []
        words = [(m.group().replace("’", "'"), m.start(), m.end()) for m in _WORD.finditer(low)]
        out: list[Span] = []
        i = 0
        while i < len(words):
            if words[i][0] not in self.heads:
                i += 1
                continue
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(w for w, _, _ in words[i:i + n])
                if phrase in self.terms:
                    out.append(Span("PHI", "PHI", words[i][1], words[i + n - 1][2], 0.75, self.name))
                    i += n - 1
                    break
            i += 1
        return out


def health_terms(_analyzer: Any) -> HealthTermDetector:
    return HealthTermDetector(frozenset(load_vocabulary("health_terms")))
