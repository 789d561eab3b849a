"""Detectors backed by the trained text models (MNPI, prompt injection).

The models are loaded (and their hashes checked) when the detector is built, once per
process; a missing or altered artefact makes ``build_classifier`` fail instead of quietly
falling back to the patterns alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engine import Span
from .textmodel import LinearTextModel, best_window, load_model


@dataclass(frozen=True)
class ModelDetector:
    """Flags ``category`` when the model's best window scores at or above its threshold."""

    name: str
    category: str
    model: LinearTextModel
    needs_doc: bool = False

    @property
    def categories(self) -> frozenset[str]:
        return frozenset({self.category})

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        p, s, e = best_window(self.model, text)
        if p < self.model.threshold:
            return []
        # Reported on the classifier's scale: the model threshold maps to 0.5 and above.
        return [Span(self.category, self.category, s, e, round(max(0.5, p), 4), self.name)]


def injection_model(_analyzer: Any) -> ModelDetector:
    return ModelDetector("prompt-injection-model", "PROMPT_INJECTION", load_model("prompt_injection"))


def mnpi_model(_analyzer: Any) -> ModelDetector:
    return ModelDetector("mnpi-model", "MNPI", load_model("mnpi"))
