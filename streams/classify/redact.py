"""Pure redaction of entity spans with presidio-anonymizer operators."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from ledgergate.schemas.taxonomy import ENTITY_TYPES

from .engine import ClassifyError, Span

OPERATORS = ("type_tag", "mask", "hash", "pseudonym")
_ENTITY_SET = frozenset(ENTITY_TYPES)
_ENGINE = AnonymizerEngine()


@dataclass(frozen=True, slots=True)
class Replacement:
    """One redacted value: the span (offsets into the original text) and its replacement."""

    span: Span
    text: str


def value_hash(value: str, hash_key: bytes) -> str:
    """HMAC-SHA256 of ``value`` under ``hash_key``, hex, first 32 characters."""
    return hmac.new(hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _replacement(op: str, span: Span, value: str, hash_key: bytes) -> str:
    if op == "type_tag":
        return f"<{span.entity_type}>"
    if op == "mask":
        return "*" * len(value)
    if op == "hash":
        return f"<{span.entity_type}:{value_hash(value, hash_key)[:12]}>"
    # pseudonym: keyed, so the token reveals nothing about the value, yet is stable per value
    # and lets the proxy map it back from its own copy of the text.
    return f"<{span.entity_type}_{value_hash(value, hash_key)[:8]}>"


def _merge(spans: Sequence[Span], text_len: int) -> list[Span]:
    """Keep non-overlapping entity spans; on overlap the longer, then higher-score, span wins."""
    ents = [s for s in spans if s.entity_type in _ENTITY_SET]
    for s in ents:
        if not 0 <= s.start < s.end <= text_len:
            raise ClassifyError(
                f"span {s.entity_type} [{s.start}, {s.end}) is outside the text of length {text_len}; "
                "expected 0 <= start < end <= len(text) - pass spans computed on this text"
            )
    ents = sorted(ents, key=lambda s: (-(s.end - s.start), -s.score, s.start))
    kept: list[Span] = []
    for s in ents:
        if not any(s.start < k.end and k.start < s.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def redact(
    text: str,
    spans: Sequence[Span],
    operators: Mapping[str, str],
    *,
    hash_key: bytes,
    default_operator: str = "type_tag",
) -> tuple[str, list[Replacement]]:
    """Replace every entity span in ``text``; returns the new text and what replaced what.

    ``operators`` maps entity type -> operator name (one of OPERATORS); types not in it use
    ``default_operator``. Non-entity spans (category evidence) are ignored.
    """
    for name in [default_operator, *operators.values()]:
        if name not in OPERATORS:
            raise ClassifyError(f"unknown redaction operator {name!r}; expected one of {OPERATORS}")
    if not isinstance(hash_key, (bytes, bytearray)) or not hash_key:
        raise ClassifyError("hash_key must be non-empty bytes; pass the deployment's redaction key")
    kept = _merge(spans, len(text))
    if not kept:
        return text, []
    repl = [
        Replacement(s, _replacement(operators.get(s.entity_type, default_operator), s, text[s.start:s.end],
                                    bytes(hash_key)))
        for s in kept
    ]
    # presidio-anonymizer applies the replacements; each span gets its own entity label so
    # the per-span value computed above is what goes in.
    results = [RecognizerResult(entity_type=f"S{i}", start=r.span.start, end=r.span.end, score=r.span.score)
               for i, r in enumerate(repl)]
    ops = {f"S{i}": OperatorConfig("replace", {"new_value": r.text}) for i, r in enumerate(repl)}
    out = _ENGINE.anonymize(text=text, analyzer_results=results, operators=ops)
    return out.text, repl
