"""Helpers shared by the ledger tests (imported via sys.path: pytest runs in importlib mode)."""

from __future__ import annotations

import random
from typing import Any

from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.sources import verify_database
from ledgergate.ledger.store import LedgerReader
from ledgergate.ledger.trust import TrustAnchors
from ledgergate.ledger.verify import VerifyReport

LEDGER_ID = "test-ledger"
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in µs


def make_entry(i: int, *, kind: str = "decision", tenant: str | None = None,
               at_us: int | None = None) -> dict[str, Any]:
    """A realistic decision/response entry; deterministic in ``i``."""
    rnd = random.Random(i)
    tenant = tenant or ("acme" if i % 3 else "globex")
    e: dict[str, Any] = {
        "kind": kind,
        "recorded_at_us": at_us if at_us is not None else T0 + i * 1_000_000,
        "request_id": f"req-{i:06d}",
        "decision_id": f"dec-{i:06d}",
        "principal": {"person": f"user{i % 7}", "tenant": tenant,
                      "roles": ["analyst"] if i % 2 else ["analyst", "admin"],
                      "auth_method": "jwt"},
        "source": "proxy", "route_id": "chat-default", "mode": "enforce",
        "upstream_id": "openai", "model": "gpt-4o-mini",
        "policy": {"id": "default", "version": 3, "hash": "ab" * 32},
        "rule_id": "pii-redact" if i % 4 == 0 else "allow-all",
        "categories": ["PII"] if i % 4 == 0 else [],
        "findings": ([{"entity_type": "EMAIL_ADDRESS", "category": "PII", "part": 0,
                       "start": 3, "end": 20, "score": 0.99, "recognizer": "EmailRecognizer",
                       "value_hash": "0f" * 16, "replacement": "<EMAIL>"}]
                     if i % 4 == 0 else []),
        "outcome": "redact" if i % 4 == 0 else "allow",
        "metadata": {"loan_id": f"L{rnd.randint(1000, 9999)}"},
    }
    if kind == "response":
        e.update(outcome="forwarded", forwarded="original", status=200, latency_ms=123.5,
                 hold_ms=4.25, prompt_tokens=10, completion_tokens=20, total_tokens=30)
    return e


def run_verify(reader: LedgerReader, keyring: lkeys.Keyring, **kw: Any) -> VerifyReport:
    """The database verifier, trusting ``keyring`` (+ ``checkpoint``/``witnesses`` in kw)."""
    anchors = TrustAnchors.of(keyring, "test keyring", checkpoint=kw.pop("checkpoint", None),
                              witnesses=tuple(kw.pop("witnesses", ())))
    return verify_database(reader, anchors, **kw)
