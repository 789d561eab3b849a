"""Session fixtures for the classify tests: the real spaCy model, loaded once."""

from __future__ import annotations

import pytest

from ledgergate.streams.classify.build import build_classifier
from ledgergate.streams.classify.engine import Classifier


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return build_classifier()
