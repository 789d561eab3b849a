"""Built-in detectors and their registration (importing this module registers them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import address, content, health, learned, phone, pii
from .engine import ClassifyError, Span, register, registered
from .person import PersonDetector
from .secret import SecretDetector
from .textmodel import load_vocabulary


@dataclass(frozen=True)
class FunctionDetector:
    """Adapts a pure ``fn(text) -> list[Span]`` (or ``fn(text, doc)``) to the Detector protocol."""

    name: str
    categories: frozenset[str]
    fn: Callable[..., list[Span]] = field(repr=False)
    needs_doc: bool = False
    with_doc: bool = False

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        return self.fn(text, doc) if self.with_doc else self.fn(text)


_PII = frozenset({"PII"})
# Cheap regex detectors first (the classifier keeps this order).
BUILTINS: dict[str, Callable[[Any], Any]] = {
    "email": lambda a: FunctionDetector("email", _PII, pii.find_emails),
    "phone": lambda a: FunctionDetector("phone", _PII, pii.find_phones),
    "phone-world": lambda a: FunctionDetector("phone-world", _PII, phone.find_world_phones),
    "us-ssn": lambda a: FunctionDetector("us-ssn", _PII, pii.find_ssns),
    "credit-card": lambda a: FunctionDetector("credit-card", _PII, pii.find_cards),
    "iban": lambda a: FunctionDetector("iban", _PII, pii.find_ibans),
    "ip-address": lambda a: FunctionDetector("ip-address", _PII, pii.find_ips),
    "us-bank-number": lambda a: FunctionDetector("us-bank-number", _PII, pii.find_bank_accounts),
    "date-of-birth": lambda a: FunctionDetector("date-of-birth", _PII, pii.find_dobs),
    "street-address": lambda a: FunctionDetector("street-address", _PII, pii.find_addresses),
    "street-address-world": lambda a: FunctionDetector("street-address-world", _PII, address.find_world_addresses),
    "medical-record-number": lambda a: FunctionDetector("medical-record-number", frozenset({"PHI"}), pii.find_mrns),
    "secret": lambda a: SecretDetector(),
    "phi": lambda a: FunctionDetector("phi", frozenset({"PHI"}), content.find_phi, with_doc=True),
    "phi-vocabulary": health.health_terms,
    "mnpi": lambda a: FunctionDetector("mnpi", frozenset({"MNPI"}), content.find_mnpi, with_doc=True),
    "source-code": lambda a: FunctionDetector(
        "source-code", frozenset({"SOURCE_CODE"}), content.find_code, with_doc=True
    ),
    "prompt-injection": lambda a: FunctionDetector(
        "prompt-injection", frozenset({"PROMPT_INJECTION"}), content.find_injection, with_doc=True
    ),
    # Trained linear models over hashed n-grams: a few dozen microseconds per window.
    "prompt-injection-model": learned.injection_model,
    "mnpi-model": learned.mnpi_model,
    # spaCy-backed, so last.
    "person": lambda a: PersonDetector(a, load_vocabulary("names")),
}


def _register_builtins() -> None:
    have = set(registered())
    for name, factory in BUILTINS.items():
        if name in have:  # module re-import (e.g. importlib test mode) must not fail
            continue
        try:
            register(name, factory)
        except ClassifyError:  # pragma: no cover - raced with another registration
            pass


_register_builtins()
